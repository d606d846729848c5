import Foundation
import Autograd
import Testing

@Suite("Reverse pass")
struct EngineTests {
    @Test func broadcastGradientsSumBackToInputShape() {
        let a = Tensor.ones([2, 3], dtype: .float64).requiringGrad()
        let b = Tensor([1, 2, 3], dtype: .float64).requiringGrad()
        let c = Tensor(2.0, dtype: .float64).requiringGrad()
        ((a * b) * c).sum().backward()
        #expect(a.grad!.shape == [2, 3])
        #expect(a.grad!.scalars == [2, 4, 6, 2, 4, 6])
        #expect(b.grad!.shape == [3])
        #expect(b.grad!.scalars == [4, 4, 4])
        #expect(c.grad!.shape == [])
        #expect(c.grad!.item() == 12)
    }

    @Test func gradientsAccumulateUntilZeroed() {
        let x = Tensor([1, 2], dtype: .float64).requiringGrad()
        (x * 3).sum().backward()
        (x * 3).sum().backward()
        #expect(x.grad!.scalars == [6, 6])
        x.zeroGrad()
        #expect(x.grad == nil)
        (x * 3).sum().backward()
        #expect(x.grad!.scalars == [3, 3])
    }

    @Test func leafGradientsAreIndependentCopies() {
        // add's VJP hands the same gradient to both inputs; each leaf must own its own.
        let a = Tensor([1.0]).requiringGrad(), b = Tensor([2.0]).requiringGrad()
        (a + b).sum().backward()
        b.grad!.assign(Tensor([100.0]))
        #expect(a.grad!.scalars == [1])
    }

    @Test func retainGraphAllowsASecondBackward() {
        let x = Tensor([2.0], dtype: .float64).requiringGrad()
        let y = (x * x).sum()
        y.backward(retainGraph: true)
        y.backward()
        #expect(x.grad!.scalars == [8])
    }

    @Test func createGraphGivesSecondDerivatives() {
        let x = Tensor([3.0], dtype: .float64).requiringGrad()
        let dx = grad(of: (x * x * x).sum(), withRespectTo: [x], createGraph: true)[0]
        #expect(dx.scalars == [27])
        #expect(dx.requiresGrad)
        let ddx = grad(of: dx.sum(), withRespectTo: [x])[0]
        #expect(ddx.scalars == [18])
        // And through backward(createGraph:) into .grad.
        let z = Tensor([0.5], dtype: .float64).requiringGrad()
        tanh(z).sum().backward(createGraph: true)
        let g = z.grad!
        z.zeroGrad()
        g.sum().backward()
        let t = 0.462_117_157_260_009_8  // tanh(0.5)
        #expect(Swift.abs(z.grad!.item() - (-2 * t * (1 - t * t))) < 1e-12)
    }

    @Test func noGradRecordsNothing() {
        let x = Tensor([1.0]).requiringGrad()
        let y = noGrad { x * 2 }
        #expect(!y.requiresGrad)
        #expect(isGradEnabled)
        #expect(noGrad { isGradEnabled } == false)
    }

    @Test func detachCutsTheGraph() {
        let x = Tensor([2.0], dtype: .float64).requiringGrad()
        let y = x * x
        let z = y.detach() * x
        z.sum().backward()
        #expect(x.grad!.scalars == [4])  // only the direct path: d(c·x)/dx = c = 4
        #expect(!y.detach().requiresGrad)
    }

    @Test func gradOfNonLeafAndUnusedInputs() {
        let x = Tensor([1, 2], dtype: .float64).requiringGrad()
        let unused = Tensor([5.0], dtype: .float64).requiringGrad()
        let h = x * 3
        let y = (h * h).sum()
        let gs = grad(of: y, withRespectTo: [h, x, unused])
        #expect(gs[0].scalars == [6, 12])   // 2h
        #expect(gs[1].scalars == [18, 36])  // 2h · 3
        #expect(gs[2].scalars == [0])
        #expect(x.grad == nil)              // grad(of:) does not accumulate
    }

    @Test func userControlFlowJustWorks() {
        func f(_ x: Tensor) -> Tensor {
            var h = x
            for i in 0..<4 {
                h = i % 2 == 0 ? h * x : sin(h)
                if h.sum().item() > 100 { break }
            }
            return h.sum()
        }
        #expect(throws: Never.self) {
            try gradcheck("loop and branch", [Tensor([0.3, -0.7], dtype: .float64)]) { f($0[0]) }
        }
    }

    @Test func deepChainDoesNotOverflowTheStack() {
        let x = Tensor([1.0], dtype: .float64).requiringGrad()
        var h = x
        for _ in 0..<100_000 { h = h * 1.000_001 }
        h.sum().backward()
        #expect(Swift.abs(x.grad!.item() - Foundation.exp(100_000 * Foundation.log(1.000_001))) < 1e-9)
        // A chain dropped without a backward pass is torn down iteratively too.
        var k = x
        for _ in 0..<100_000 { k = k + 1 }
        #expect(k.item() == 100_001)
    }

    @Test func savedTensorsAreReleasedAfterBackward() {
        weak var saved: Tensor?
        let x = Tensor([1.0, 2.0]).requiringGrad()
        let loss: Tensor
        do {
            let h = tanh(x)
            saved = h
            loss = (h * h).sum()
        }
        #expect(saved != nil)  // the graph holds h for the VJP of h · h
        loss.backward()
        #expect(saved == nil)  // ... and lets go of it once that VJP has run
    }
}
