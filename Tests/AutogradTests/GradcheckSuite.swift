import Autograd
import Testing

/// Every differentiable op against central finite differences in float64.
@Suite("Gradient check")
struct GradcheckSuite {
    @Test("first derivatives", arguments: OpCases.all)
    func firstDerivatives(_ op: OpCase) throws {
        try gradcheck(op.name, op.inputs(), eps: op.eps, atol: op.atol, op.f)
    }

    @Test("second derivatives", arguments: OpCases.elementwise + OpCases.broadcasting + OpCases.nn
        + OpCases.structural.filter { $0.name.hasPrefix("matmul") } + ConvCases.opCases + ConvCases.poolCases)
    func secondDerivatives(_ op: OpCase) throws {
        try gradgradcheck(op.name, op.inputs(seed: 2), eps: op.eps, atol: op.atol, op.f)
    }

    /// Every case but the one that converts dtypes itself.
    @Test("float32 forward and gradients agree with float64",
          arguments: OpCases.all.filter { !$0.roundsThroughFloat32 })
    func dtypeAgreement(_ op: OpCase) {
        let x64 = op.inputs(seed: 3).map { $0.requiringGrad() }
        let x32 = op.inputs(seed: 3, dtype: .float32).map { $0.requiringGrad() }
        let y64 = op.f(x64), y32 = op.f(x32)
        #expect(y32.dtype == .float32)
        #expect(y32.shape == y64.shape)
        expectClose(y32.scalars, y64.scalars, tolerance: 1e-4, op.name)
        let seed = Tensor.randn(y64.shape, dtype: .float64)
        let g64 = grad(of: y64, withRespectTo: x64, seed: seed)
        let g32 = grad(of: y32, withRespectTo: x32, seed: seed.to(.float32))
        for (a, b) in zip(g32, g64) {
            expectClose(a.scalars, b.scalars, tolerance: 1e-3, op.name + " gradient")
        }
    }

    @Test func reportsTheFailingElement() {
        // A deliberately wrong derivative: the VJP of this op is off by a factor 2.
        struct WrongDouble: Primitive {
            var name: String { "wrongDouble" }
            func outputShape(_ inputs: [[Int]]) -> [Int] { inputs[0] }
            func forward(_ x: [Tensor], shape: [Int]) -> Tensor { x[0] * 2 }
            func vjp(_ x: [Tensor], _ y: Tensor, _ g: Tensor, _ needs: [Bool]) -> [Tensor?] { [g * 4] }
            func jvp(_ x: [Tensor], _ y: Tensor, _ t: [Tensor?]) -> Tensor { t[0]! * 2 }
        }
        let x = Tensor([1, 2, 3], dtype: .float64)
        do {
            try gradcheck("wrongDouble", [x]) { WrongDouble()($0[0]) }
            Issue.record("gradcheck accepted a wrong gradient")
        } catch {
            #expect(error.function == "wrongDouble")
            #expect(error.inputIndex == 0)
            #expect(error.elementIndex == 0)
            #expect(error.analytical == 4)
            #expect(Swift.abs(error.numerical - 2) < 1e-6)
            #expect(error.description.contains("analytical 4.0"))
        }
    }

    @Test func maxTiesShareTheGradient() {
        // PyTorch: amax(x, 1) and max() give g/count at each tied maximum.
        let x = Tensor([[3, 1, 3], [2, 2, 0]], dtype: .float64).requiringGrad()
        x.max(alongAxes: [1]).sum().backward()
        #expect(x.grad!.scalars == [0.5, 0, 0.5, 0.5, 0.5, 0] as [Double])
        let y = Tensor([5, 5, 5], dtype: .float64).requiringGrad()
        y.max().backward()
        let third: Double = 1 / 3
        #expect(y.grad!.scalars == [third, third, third])
    }

    @Test func maximumTiesSplitTheGradient() {
        let a = Tensor([1, 2, 3], dtype: .float64).requiringGrad()
        let b = Tensor([1, 5, 0], dtype: .float64).requiringGrad()
        maximum(a, b).sum().backward()
        #expect(a.grad!.scalars == [0.5, 0, 1])
        #expect(b.grad!.scalars == [0.5, 1, 0])
    }

    /// PyTorch 2.15: `clamp(x, -0.5, 0.7)` has gradient 0 at x = -0.5 and x = 0.7.
    @Test func clampGradientIsZeroOnItsBounds() {
        let x = Tensor([-1, -0.5, 0, 0.7, 1], dtype: .float64).requiringGrad()
        x.clamped(min: -0.5, max: 0.7).sum().backward()
        #expect(x.grad!.scalars == [0, 0, 1, 0, 0])
        let y = Tensor([-1, 0, 1], dtype: .float64).requiringGrad()
        y.clamped(min: 0).sum().backward()
        #expect(y.grad!.scalars == [0, 0, 1])
    }

    @Test func reluGradientAtZeroIsZero() {
        let x = Tensor([-1, 0, 2], dtype: .float64).requiringGrad()
        relu(x).sum().backward()
        #expect(x.grad!.scalars == [0, 0, 1])
    }
}

func expectClose(_ a: [Double], _ b: [Double], tolerance: Double, _ what: String,
                 sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(a.count == b.count, "\(what): \(a.count) vs \(b.count) values", sourceLocation: sourceLocation)
    for (i, (x, y)) in zip(a, b).enumerated() where !(Swift.abs(x - y) <= tolerance * (1 + Swift.abs(y))) {
        Issue.record("\(what): element \(i): \(x) vs \(y)", sourceLocation: sourceLocation)
        return
    }
}
