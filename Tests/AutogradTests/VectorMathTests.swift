import CKernels
import Foundation
import Testing

/// The vectorized float32 transcendental functions against libm in float64,
/// over a sweep of their whole domain plus the special values.
@Suite("Vectorized math accuracy", .serialized)
struct VectorMathTests {
    struct Function: Sendable, CustomStringConvertible {
        let name: String
        let op: ag_unary_op
        let range: ClosedRange<Double>
        /// Largest error allowed, in units in the last place of the float32 result.
        let maxULP: Double
        /// The op's parameters (softplus: beta, threshold).
        var p0 = 0.0, p1 = 0.0
        let reference: @Sendable (Double) -> Double
        var description: String { name }
    }

    /// x Φ(x), with its limits at ±inf (x · Φ(x) would be −inf · 0 at −inf).
    static let gelu: @Sendable (Double) -> Double = { x in
        x.isInfinite ? (x > 0 ? x : 0) : 0.5 * x * Foundation.erfc(-x / 2.0.squareRoot())
    }
    static let functions: [Function] = [
        Function(name: "exp", op: AG_EXP, range: -110...95, maxULP: 2.5, reference: { Foundation.exp($0) }),
        Function(name: "log", op: AG_LOG, range: 0...1e6, maxULP: 2, reference: { Foundation.log($0) }),
        Function(name: "tanh", op: AG_TANH, range: -12...12, maxULP: 3, reference: { Foundation.tanh($0) }),
        Function(name: "sigmoid", op: AG_SIGMOID, range: -110...110, maxULP: 4,
                 reference: { 1 / (1 + Foundation.exp(-$0)) }),
        Function(name: "gelu", op: AG_GELU, range: -20...20, maxULP: 16, reference: gelu),
        Function(name: "silu", op: AG_SILU, range: -110...110, maxULP: 4,
                 reference: { $0 == -.infinity ? 0 : $0 / (1 + Foundation.exp(-$0)) }),
        Function(name: "softplus", op: AG_SOFTPLUS, range: -110...110, maxULP: 4, p0: 1, p1: 20,
                 reference: { $0 > 20 ? $0 : Swift.max($0, 0) + Foundation.log1p(Foundation.exp(-Swift.abs($0))) }),
        Function(name: "mish", op: AG_MISH, range: -110...110, maxULP: 5, reference: { x in
            x == -.infinity ? 0 : x * Foundation.tanh(Swift.max(x, 0) + Foundation.log1p(Foundation.exp(-Swift.abs(x))))
        }),
    ]

    /// Grid points of the range, the powers of two down through the
    /// denormals (both signs), and the special values.
    static func inputs(_ range: ClosedRange<Double>) -> [Float] {
        var xs: [Float] = []
        let n = 400_000
        for i in 0...n {
            xs.append(Float(range.lowerBound + (range.upperBound - range.lowerBound) * Double(i) / Double(n)))
        }
        var p: Float = 1
        while p > 0 {
            xs += [p, -p, p * 1.5, -p * 1.5]
            p /= 2
        }
        xs += [0, -0.0, .infinity, -.infinity, .nan, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
               .leastNormalMagnitude, .leastNonzeroMagnitude, 88.72, 88.73, -87.3, -103.9, 1e-30, -1e-30]
        return xs
    }

    /// Error of `y` against the true value `t` in ulps of the float32 result;
    /// 0 when both are the same special value, infinity when they disagree on one.
    static func ulpError(_ y: Float, _ t: Double) -> Double {
        if t.isNaN { return y.isNaN ? 0 : .infinity }
        let rounded = Float(t)
        if rounded.isInfinite { return y == rounded ? 0 : .infinity }
        if y.isNaN || y.isInfinite { return .infinity }
        let unit = Swift.max(Double(rounded.ulp), Double(Float.leastNonzeroMagnitude))
        return Swift.abs(Double(y) - t) / unit
    }

    @Test("error within bounds", arguments: functions)
    func accuracy(_ f: Function) {
        let xs = Self.inputs(f.range)
        var ys = [Float](repeating: 0, count: xs.count)
        KernelSettings.with(simd: true) { ag_unary(f.op, AG_F32, xs.count, xs, &ys, f.p0, f.p1) }
        var worst = 0.0, worstAt: Float = 0
        for (x, y) in zip(xs, ys) {
            let e = Self.ulpError(y, f.reference(Double(x)))
            if !(e <= worst) {
                worst = e
                worstAt = x
            }
        }
        print("vectorized \(f.name): max error \(worst) ulp at x = \(worstAt) over \(xs.count) inputs (SIMD \(ag_simd_enabled() != 0 ? "on" : "unavailable"))")
        #expect(worst <= f.maxULP, "\(f.name): \(worst) ulp at x = \(worstAt)")
    }
}
