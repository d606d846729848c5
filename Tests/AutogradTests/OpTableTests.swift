import Autograd
@testable import AutogradOps
import CKernels
import Foundation
import Testing

/// The op tables: every C row has exactly one Swift row, every path of every
/// elementwise op gives the same value at the special points, and the
/// compiler's merging keys on op identity.
@Suite("Op tables", .serialized)
struct OpTableTests {
    @Test func everyUnaryCRowHasOneSwiftRow() {
        let kernels = UnaryOp.all.map(\.kernel.rawValue)
        #expect(Set(kernels).count == kernels.count, "a C row appears twice in UnaryOp.all")
        #expect(Set(kernels) == Set(0..<AG_UNARY_OP_COUNT.rawValue), "UnaryOp.all and AG_UNARY_OPS differ")
        for op in UnaryOp.all {
            #expect(op.name == String(cString: ag_unary_name(op.kernel)))
        }
        #expect(ag_unary_name(AG_UNARY_OP_COUNT) == nil)
    }

    @Test func vectorKernelsAreRegisteredPerRow() {
        KernelSettings.with(simd: true) {
            let vectorised = Set(UnaryOp.all.filter(\.hasVectorKernel).map(\.name))
            if Kernels.usesSIMD {
                #expect(vectorised == ["exp", "log", "tanh", "sigmoid", "gelu", "silu", "softplus", "mish"])
            }
        }
        KernelSettings.with(simd: false) {
            #expect(UnaryOp.all.allSatisfy { !$0.hasVectorKernel })
        }
    }

    @Test func everyBinaryCRowHasOneSwiftRow() {
        let kernels = BinaryOp.all.map(\.kernel.rawValue) + Comparison.kernels.map(\.rawValue)
        #expect(Set(kernels).count == kernels.count)
        #expect(Set(kernels) == Set(0..<AG_BINARY_OP_COUNT.rawValue), "BinaryOp.all + Comparison.kernels and AG_BINARY_OPS differ")
    }

    @Test func activationsComeFromTheTable() {
        #expect(Activation.allCases.map(\.name) == UnaryOp.activations.map(\.name))
        #expect(Activation(rawValue: "leaky-relu") == .leakyRelu)
        #expect(Activation(rawValue: "no-such-activation") == nil)
        for act in Activation.allCases {
            #expect(Activation(rawValue: act.rawValue) == act)
            let layer = act.layer() as! ActivationLayer
            #expect(layer.activation == act)
        }
        #expect(Activation.leakyRelu(negativeSlope: 0.2) != .leakyRelu)
    }

    /// An unknown op code stops with a message instead of running some other op.
    @Test func unknownOpCodeStops() async {
        await #expect(processExitsWith: .failure) {
            var x: Float = 1, y: Float = 0
            ag_unary(AG_UNARY_OP_COUNT, AG_F32, 1, &x, &y, 0, 0)
        }
    }

    // MARK: - Special values

    static let specials: [Double] = [-.infinity, -1e30, -1, -0.0, 0, 1, 1e30, .infinity, .nan]

    /// Each row with parameters that exercise it.
    static var rows: [UnaryOp] {
        UnaryOp.all.map { op in
            switch op.kernel {
            case AG_CLAMP: op.with(p0: -0.5, p1: 0.7)
            case AG_AFFINE: op.with(p0: 2, p1: 1)
            case AG_LEAKY_RELU: op.with(p0: 0.1)
            default: op
            }
        }
    }

    /// `op` over `xs` in `dtype` on the kernel path `path`, as Doubles.
    private func run(_ op: UnaryOp, _ xs: [Double], _ dtype: DType, path: String) -> [Double] {
        KernelSettings.with(simd: path != "portable") { runOnThisPath(op, xs, dtype, path: path) }
    }

    private func runOnThisPath(_ op: UnaryOp, _ xs: [Double], _ dtype: DType, path: String) -> [Double] {
        let x = Tensor(shape: [xs.count], scalars: xs, dtype: dtype)
        switch path {
        case "epilogue":
            // The GEMM epilogue runs the activation over each row in place.
            let y = x
            ag_bias_activation(dtype.c, 1, xs.count, y.pointer, nil, op.kernel, op.p0, op.p1)
            return y.scalars
        case "compiled":
            let f = compile { (x: Tensor) in op(x) }
            _ = f(Tensor.zeros([xs.count], dtype: dtype))
            return f(x).scalars
        default:
            return op(x).scalars
        }
    }

    private static func same(_ a: Double, _ b: Double) -> Bool { a == b || (a.isNaN && b.isNaN) }

    /// At ±inf, ±1e30, ±0 and NaN every path (portable, SIMD, compiled,
    /// GEMM epilogue; float32 and float64) gives the same value as float64 on
    /// the portable path (float32 compared at its own rounding of the input).
    /// At ±1 the paths may differ by rounding only (2e-6 relative for float32,
    /// where the SIMD kernels use their own polynomials).
    @Test("every path gives the same value at ±inf, ±1e30, ±0 and NaN", arguments: rows)
    func specialValuesAgreeOnEveryPath(_ op: UnaryOp) {
        let paths = ["portable", "simd", "compiled", "epilogue"]
        for dtype in [DType.float32, .float64] {
            let xs = dtype == .float32 ? Self.specials.map { Double(Float($0)) } : Self.specials
            let reference = run(op, xs, .float64, path: "portable")
            for path in paths {
                let ys = run(op, xs, dtype, path: path)
                for (i, x) in xs.enumerated() {
                    let r = dtype == .float32 ? Double(Float(reference[i])) : reference[i]
                    let ok = Swift.abs(x) == 1 && r.isFinite && r != 0
                        ? Swift.abs(ys[i] - r) <= (dtype == .float32 ? 2e-6 : 1e-15) * Swift.abs(r)
                        : Self.same(ys[i], r)
                    #expect(ok, "\(op.name)(\(x)) \(dtype) \(path): \(ys[i]), expected \(r)")
                }
            }
        }
    }

    /// The limits at ±inf are the mathematical ones (PyTorch 2.15 gives NaN for several).
    @Test func limitsAtInfinity() {
        let xs: [Double] = [-.infinity, .infinity]
        for dtype in [DType.float32, .float64] {
            for simd in [false, true] { KernelSettings.with(simd: simd) {
                let x = Tensor(shape: [2], scalars: xs, dtype: dtype)
                for (name, f) in [("gelu", gelu), ("silu", silu), ("softplus", { softplus($0) }),
                                  ("relu", relu), ("mish", mish)] as [(String, (Tensor) -> Tensor)] {
                    #expect(f(x).scalars == [0, .infinity], "\(name) \(dtype) simd \(simd)")
                }
                #expect(sigmoid(x).scalars == [0, 1])
                #expect(tanh(x).scalars == [-1, 1])
            } }
        }
    }

    // MARK: - Identity and merging

    /// A user op as a class, with an attribute the compiler must not ignore.
    final class Scale: Primitive {
        let factor: Double
        init(_ factor: Double) { self.factor = factor }
        var name: String { "scale" }
        func outputShape(_ inputs: [[Int]]) -> [Int] { inputs[0] }
        func forward(_ x: [Tensor], shape: [Int]) -> Tensor { x[0] * factor }
        func vjp(_ x: [Tensor], _ y: Tensor, _ g: Tensor, _ needs: [Bool]) -> [Tensor?] { [g * factor] }
        func jvp(_ x: [Tensor], _ y: Tensor, _ t: [Tensor?]) -> Tensor { t[0]! * factor }
    }

    /// A user op whose attribute is not Hashable: it has no identity and is never merged.
    struct Opaque: Primitive {
        let f: @Sendable (Tensor) -> Tensor
        var name: String { "opaque" }
        func outputShape(_ inputs: [[Int]]) -> [Int] { inputs[0] }
        func forward(_ x: [Tensor], shape: [Int]) -> Tensor { f(x[0]) }
        func vjp(_ x: [Tensor], _ y: Tensor, _ g: Tensor, _ needs: [Bool]) -> [Tensor?] { [g] }
        func jvp(_ x: [Tensor], _ y: Tensor, _ t: [Tensor?]) -> Tensor { t[0]! }
    }

    @Test func identityNamesTheAttributes() {
        #expect(Scale(2).identity == Scale(2).identity)
        #expect(Scale(2).identity != Scale(3).identity)
        #expect(Opaque { $0 }.identity == nil)
        #expect(UnaryOp.clamp(0, 1).identity == UnaryOp.clamp(0, 1).identity)
        #expect(UnaryOp.clamp(0, 1).identity != UnaryOp.clamp(0, 2).identity)
        #expect(UnaryOp.exp.identity != UnaryOp.log.identity)
    }

    @Test func mergingNeverJoinsOpsWithDifferentAttributes() {
        let f = CompiledFunction { xs -> [Tensor] in
            let x = xs[0]
            return [Scale(2)(x), Scale(3)(x), Scale(2)(x), Opaque { $0 * 5 }(x), Opaque { $0 * 7 }(x)]
        }
        let x = Tensor([1, 2], dtype: .float64)
        _ = f([Tensor([0, 0], dtype: .float64)])
        let ys = f([x]).map { $0.scalars }
        #expect(ys == [[2, 4], [3, 6], [2, 4], [5, 10], [7, 14]])
        #expect(f.memoryReport(for: [x])!.mergedNodes == 1, "the two scale(2) nodes merge, nothing else")
    }

    // MARK: - Conformance with PyTorch

    /// PyTorch 2.15: d/da aᵇ at a = 0 is 0 where b = 0 and −inf for b < 0;
    /// d/db is 0 where a = 0 and b ≥ 0.
    @Test func powAtZeroBase() {
        let a = Tensor([0, 0, 0, 0, 2], dtype: .float64).requiringGrad()
        let b = Tensor([2, 0, 0.5, -1, 1], dtype: .float64).requiringGrad()
        pow(a, b).sum().backward()
        #expect(a.grad!.scalars == [0, 0, .infinity, -.infinity, 1])
        #expect(b.grad!.scalars == [0, 0, 0, -.infinity, 2 * Foundation.log(2)])
    }

    /// softplus with beta and threshold: log(1 + e^(βx))/β, x beyond the threshold.
    @Test func softplusBetaThreshold() {
        let xs: [Double] = [-3, -0.5, 0, 0.4, 0.6, 4]
        let x = Tensor(shape: [6], scalars: xs, dtype: .float64).requiringGrad()
        softplus(x, beta: 2, threshold: 1).sum().backward()
        let expected = xs.map { 2 * $0 > 1 ? $0 : Foundation.log1p(Foundation.exp(2 * $0)) / 2 }
        let slope = xs.map { 2 * $0 > 1 ? 1 : 1 / (1 + Foundation.exp(-2 * $0)) }
        expectClose(softplus(x, beta: 2, threshold: 1).scalars, expected, tolerance: 1e-15, "softplus")
        expectClose(x.grad!.scalars, slope, tolerance: 1e-15, "softplus gradient")
    }
}

extension UnaryOp: CustomTestStringConvertible {
    public var testDescription: String { name }
}
