import Autograd
import Testing

/// The worked examples of backpropagation lectures, with their hand-computed numbers.
@Suite("Lecture examples")
struct LectureExamplesTests {
    @Test func addThenMultiply() {
        // f(x, y, z) = (x + y) · z at (−2, 5, −4)
        let x = Tensor(-2.0, dtype: .float64).requiringGrad()
        let y = Tensor(5.0, dtype: .float64).requiringGrad()
        let z = Tensor(-4.0, dtype: .float64).requiringGrad()
        let f = (x + y) * z
        #expect(f.item() == -12)
        f.backward()
        #expect(x.grad!.item() == -4)
        #expect(y.grad!.item() == -4)
        #expect(z.grad!.item() == 3)
    }

    @Test func sigmoidNeuron() {
        // σ(w0·x0 + w1·x1 + w2) at w = (2, −3, −3), x = (−1, −2)
        let w = Tensor([2, -3, -3], dtype: .float64).requiringGrad()
        let x = Tensor([-1, -2], dtype: .float64).requiringGrad()
        let dot = w.sliced(axis: 0, 0..<2) * x
        let f = sigmoid(dot.sum() + w.sliced(axis: 0, 2..<3).sum())
        #expect(Swift.abs(f.item() - 0.7311) < 1e-4)
        f.backward()
        let dw = w.grad!.scalars, dx = x.grad!.scalars
        let local = 0.7311 * (1 - 0.7311)  // σ′ = σ(1 − σ) ≈ 0.1966
        #expect(zip(dw, [-local, -2 * local, local]).allSatisfy { Swift.abs($0 - $1) < 1e-3 })
        #expect(zip(dx, [2 * local, -3 * local]).allSatisfy { Swift.abs($0 - $1) < 1e-3 })
        // The rounded values quoted in the lecture.
        #expect(Swift.abs(dw[0] - -0.20) < 0.005 && Swift.abs(dw[1] - -0.39) < 0.005 && Swift.abs(dw[2] - 0.20) < 0.005)
        #expect(Swift.abs(dx[0] - 0.39) < 0.005 && Swift.abs(dx[1] - -0.59) < 0.005)
    }

    /// f(x1, x2) = ln(x1) + x1·x2 − sin(x2) at (2, 5).
    static func f(_ x1: Tensor, _ x2: Tensor) -> Tensor { log(x1) + x1 * x2 - sin(x2) }
    static let value = 0.693_147_180_559_945_3 + 10 - (-0.958_924_274_663_138_5)
    static let dx1 = 1.0 / 2 + 5
    static let dx2 = 2 - 0.283_662_185_463_226_3  // x1 − cos(x2)

    @Test func logProductSineReverseMode() {
        let x1 = Tensor(2.0, dtype: .float64).requiringGrad()
        let x2 = Tensor(5.0, dtype: .float64).requiringGrad()
        let y = Self.f(x1, x2)
        #expect(Swift.abs(y.item() - Self.value) < 1e-12)
        y.backward()
        #expect(Swift.abs(x1.grad!.item() - Self.dx1) < 1e-12)
        #expect(Swift.abs(x2.grad!.item() - Self.dx2) < 1e-12)
    }

    @Test func logProductSineForwardMode() {
        let at = [Tensor(2.0, dtype: .float64), Tensor(5.0, dtype: .float64)]
        let one = Tensor(1.0, dtype: .float64), zero = Tensor(0.0, dtype: .float64)
        let (y, d1) = jvp(of: { Self.f($0[0], $0[1]) }, at: at, tangents: [one, zero])
        let (_, d2) = jvp(of: { Self.f($0[0], $0[1]) }, at: at, tangents: [zero, one])
        #expect(Swift.abs(y.item() - Self.value) < 1e-12)
        #expect(Swift.abs(d1.item() - Self.dx1) < 1e-12)
        #expect(Swift.abs(d2.item() - Self.dx2) < 1e-12)
    }

    @Test func gatesRouteGradients() {
        let x = Tensor(3.0, dtype: .float64).requiringGrad()
        let y = Tensor(-4.0, dtype: .float64).requiringGrad()
        let upstream = Tensor(2.0, dtype: .float64)

        // add distributes the upstream gradient unchanged to both inputs
        (x + y).backward(upstream)
        #expect(x.grad!.item() == 2 && y.grad!.item() == 2)

        // max routes it to the larger input only
        x.zeroGrad(); y.zeroGrad()
        maximum(x, y).backward(upstream)
        #expect(x.grad!.item() == 2 && y.grad!.item() == 0)

        // mul swaps: each input gets the other input times the upstream gradient
        x.zeroGrad(); y.zeroGrad()
        (x * y).backward(upstream)
        #expect(x.grad!.item() == -8 && y.grad!.item() == 6)
    }

    @Test func gradientsAddAtABranch() {
        // x feeds two paths: f = x·y + x  →  df/dx = y + 1
        let x = Tensor(3.0, dtype: .float64).requiringGrad()
        let y = Tensor(-4.0, dtype: .float64).requiringGrad()
        (x * y + x).backward()
        #expect(x.grad!.item() == -3)
        #expect(y.grad!.item() == 3)
    }

    @Test func linearClassifierScores() {
        // A 4-pixel image and 3 classes: scores = W·x + b
        let w = Tensor([[0.2, -0.5, 0.1, 2.0], [1.5, 1.3, 2.1, 0.0], [0, 0.25, 0.2, -0.3]], dtype: .float64)
            .requiringGrad()
        let x = Tensor([[56], [231], [24], [2]], dtype: .float64)
        let b = Tensor([[1.1], [3.2], [-1.2]], dtype: .float64).requiringGrad()
        let scores = matmul(w, x) + b
        #expect(scores.shape == [3, 1])
        // Row by row: 11.2 − 115.5 + 2.4 + 4 + 1.1;  84 + 300.3 + 50.4 + 0 + 3.2;  0 + 57.75 + 4.8 − 0.6 − 1.2
        expectClose(scores.scalars, [-96.8, 437.9, 60.75], tolerance: 1e-12, "scores")
        // d score[1] / dW is x in row 1; d score[1] / db is e₁.
        scores.backward(Tensor([[0], [1], [0]], dtype: .float64))
        #expect(w.grad!.scalars == [0, 0, 0, 0, 56, 231, 24, 2, 0, 0, 0, 0])
        #expect(b.grad!.scalars == [0, 1, 0])
    }
}
