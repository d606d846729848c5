import Autograd
import Testing

@Suite("Forward mode")
struct ForwardModeTests {
    /// ⟨v, J u⟩ from forward mode equals ⟨Jᵀ v, u⟩ from reverse mode.
    @Test("JVP matches the VJP identity", arguments: OpCases.all)
    func jvpMatchesVJP(_ op: OpCase) {
        let xs = op.inputs(seed: 4)
        var rng = RandomGenerator(seed: 5)
        let us = xs.map { Tensor.randn($0.shape, dtype: .float64, using: &rng) }
        let (value, ju) = jvp(of: op.f, at: xs, tangents: us)
        #expect(ju.shape == value.shape, "\(op.name): tangent shape")
        let v = Tensor.randn(value.shape, dtype: .float64, using: &rng)

        let leaves = xs.map { $0.detach().requiringGrad() }
        let y = op.f(leaves)
        expectClose(value.scalars, y.scalars, tolerance: 1e-12, "\(op.name) value")
        let vjps = grad(of: y, withRespectTo: leaves, seed: v)

        let lhs = (v * ju).sum().item()
        let rhs = zip(vjps, us).map { ($0 * $1).sum().item() }.reduce(0, +)
        let tolerance = op.roundsThroughFloat32 ? 1e-6 : 1e-9
        #expect(Swift.abs(lhs - rhs) <= tolerance * (1 + Swift.abs(lhs)), "\(op.name): ⟨v, Ju⟩ = \(lhs), ⟨Jᵀv, u⟩ = \(rhs)")
    }

    @Test func untouchedInputsGiveZeroTangent() {
        let (y, t) = jvp(of: { _ in Tensor([1.0, 2.0]) }, at: Tensor([3.0]), tangent: Tensor([1.0]))
        #expect(y.scalars == [1, 2])
        #expect(t.scalars == [0, 0])
    }

    @Test func forwardOverReverseGivesHessianVectorProducts() {
        // f(x) = Σ x³, ∇f = 3x², H = diag(6x): H·u = 6 x ⊙ u.
        let x = Tensor([1, 2, -1], dtype: .float64)
        let u = Tensor([1, 0.5, 2], dtype: .float64)
        let (_, hu) = jvp(of: { x in
            grad(of: (x * x * x).sum(), withRespectTo: [x], createGraph: true)[0]
        }, at: x.requiringGrad(), tangent: u)
        #expect(hu.scalars == [6, 6, -12])
    }
}
