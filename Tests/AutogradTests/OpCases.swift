import Autograd

/// One differentiable function of the public API, with the shapes of its
/// inputs and where to sample them: the gradient-check, forward-mode and
/// dtype-agreement suites all run over this one list.
struct OpCase: Sendable, CustomStringConvertible {
    enum Domain: Sendable {
        /// Standard normal samples.
        case normal
        /// Uniform in [0.5, 2]: for log, sqrt, pow's base, reciprocal.
        case positive
    }

    let name: String
    let shapes: [[Int]]
    var domain: Domain = .normal
    /// True when the function rounds through float32 on purpose: checked
    /// with a larger finite-difference step and looser tolerances.
    var roundsThroughFloat32 = false
    let f: @Sendable ([Tensor]) -> Tensor

    /// Finite-difference step and tolerances: PyTorch's defaults, or ones
    /// that float32 rounding (about 1e-7 relative) cannot trip.
    var eps: Double { roundsThroughFloat32 ? 1e-2 : 1e-6 }
    var atol: Double { roundsThroughFloat32 ? 1e-3 : 1e-5 }

    var description: String { name }

    /// Inputs in `dtype`, the same values for a given seed whatever the dtype.
    func inputs(seed: UInt64 = 1, dtype: DType = .float64) -> [Tensor] {
        var rng = RandomGenerator(seed: seed)
        return shapes.map { shape in
            let x: Tensor
            switch domain {
            case .normal: x = Tensor.randn(shape, dtype: .float64, using: &rng)
            case .positive: x = Tensor.uniform(shape, low: 0.5, high: 2, dtype: .float64, using: &rng)
            }
            return x.to(dtype)
        }
    }
}

private func unary(_ name: String, _ domain: OpCase.Domain = .normal,
                   _ f: @escaping @Sendable (Tensor) -> Tensor) -> OpCase {
    OpCase(name: name, shapes: [[2, 3]], domain: domain) { f($0[0]) }
}

private func binary(_ name: String, _ a: [Int], _ b: [Int], _ domain: OpCase.Domain = .normal,
                    _ f: @escaping @Sendable (Tensor, Tensor) -> Tensor) -> OpCase {
    OpCase(name: "\(name) \(a)×\(b)", shapes: [a, b], domain: domain) { f($0[0], $0[1]) }
}

enum OpCases {
    /// Every public differentiable op, with broadcasting in each direction,
    /// non-contiguous inputs (transposed, sliced, expanded), and reductions
    /// over each axis and several axes.
    static let all: [OpCase] = elementwise + broadcasting + nonContiguous + reductions + structural + nn
        + ConvCases.opCases + ConvCases.poolCases

    /// Every activation row of the op table, as a function and fused after a linear layer.
    static let activations: [OpCase] = Activation.allCases.flatMap { act in
        [unary(act.name) { act($0) },
         OpCase(name: "linear+\(act.name)", shapes: [[4, 3], [2, 3], [2]]) {
             linear($0[0], weight: $0[1], bias: $0[2], activation: act)
         }]
    }

    static let elementwise: [OpCase] = activations + [
        unary("neg") { -$0 },
        unary("exp") { exp($0) },
        unary("log", .positive) { log($0) },
        unary("sqrt", .positive) { sqrt($0) },
        unary("abs") { abs($0) },
        unary("sin") { sin($0) },
        unary("cos") { cos($0) },
        unary("leakyRelu slope 0.2") { leakyRelu($0, negativeSlope: 0.2) },
        unary("softplus beta 2 threshold 1") { softplus($0, beta: 2, threshold: 1) },
        unary("squared") { $0.squared() },
        unary("reciprocal", .positive) { $0.reciprocal() },
        unary("clamped") { $0.clamped(min: -0.5, max: 0.7) },
        unary("sign times x") { $0.sign() * $0 },
        unary("tensor + scalar") { $0 + 1.5 },
        unary("scalar - tensor") { 2 - $0 },
        unary("tensor * scalar") { $0 * -3 },
        unary("scalar / tensor", .positive) { 2 / $0 },
        unary("pow tensor^scalar", .positive) { pow($0, 2.5) },
        unary("pow scalar^tensor") { pow(1.7, $0) },
        binary("add", [2, 3], [2, 3]) { $0 + $1 },
        binary("sub", [2, 3], [2, 3]) { $0 - $1 },
        binary("mul", [2, 3], [2, 3]) { $0 * $1 },
        binary("div", [2, 3], [2, 3], .positive) { $0 / $1 },
        binary("pow", [2, 3], [2, 3], .positive) { pow($0, $1) },
        binary("maximum", [2, 3], [2, 3]) { maximum($0, $1) },
        binary("minimum", [2, 3], [2, 3]) { minimum($0, $1) },
        OpCase(name: "where", shapes: [[2, 3], [2, 3], [2, 3]]) { x in
            Tensor.where(x[0] .> 0, x[1], x[2] * 2)
        },
    ]

    static let broadcasting: [OpCase] = [
        binary("add", [2, 3], [3]) { $0 + $1 },
        binary("add", [3], [2, 3]) { $0 + $1 },
        binary("sub", [2, 1], [1, 3]) { $0 - $1 },
        binary("mul", [2, 3], [2, 1]) { $0 * $1 },
        binary("mul", [1, 3], [2, 3]) { $0 * $1 },
        binary("div", [2, 3], [3], .positive) { $0 / $1 },
        binary("div", [2, 1, 3], [4, 1], .positive) { $0 / $1 },
        binary("pow", [2, 3], [3], .positive) { pow($0, $1) },
        binary("maximum", [2, 3], [1]) { maximum($0, $1) },
        binary("minimum", [3], [2, 3]) { minimum($0, $1) },
        binary("add scalar tensor", [], [2, 3]) { $0 + $1 },
        OpCase(name: "where broadcast", shapes: [[2, 1], [3], [2, 3]]) { x in
            Tensor.where(x[0] .> 0, x[1], x[2])
        },
    ]

    static let nonContiguous: [OpCase] = [
        OpCase(name: "tanh of transposed", shapes: [[3, 2]]) { tanh($0[0].transposed()) },
        OpCase(name: "mul transposed × contiguous", shapes: [[3, 2], [2, 3]]) { $0[0].transposed() * $0[1] },
        OpCase(name: "exp of sliced with step", shapes: [[2, 6]]) { exp($0[0].sliced(axis: 1, 1..<6, step: 2)) },
        OpCase(name: "sigmoid of expanded", shapes: [[3, 1]]) { sigmoid($0[0].expanded(to: [2, 3, 4])) },
        OpCase(name: "add expanded + transposed", shapes: [[1, 3], [3, 2]]) {
            $0[0].expanded(to: [2, 3]) + $0[1].transposed()
        },
        OpCase(name: "matmul transposed operands", shapes: [[3, 2], [4, 3]]) {
            matmul($0[0].transposed(), $0[1].transposed())
        },
        OpCase(name: "matmul sliced operand", shapes: [[2, 6], [3, 2]]) {
            matmul($0[0].sliced(axis: 1, 0..<6, step: 2), $0[1])
        },
        OpCase(name: "sum of permuted", shapes: [[2, 3, 4]]) { $0[0].permuted([2, 0, 1]).sum(alongAxes: [1]) },
        OpCase(name: "softmax of transposed", shapes: [[4, 3]]) { softmax($0[0].transposed(), axis: 1) },
        OpCase(name: "reshape of transposed", shapes: [[3, 4]]) { $0[0].transposed().reshaped([2, 6]) * 1.5 },
    ]

    static let reductions: [OpCase] =
        ([[0], [1], [2], [0, 1], [1, 2], [0, 2], [0, 1, 2]] as [[Int]]).flatMap { axes -> [OpCase] in
            [
                OpCase(name: "sum axes \(axes)", shapes: [[2, 3, 4]]) { $0[0].sum(alongAxes: axes) },
                OpCase(name: "mean axes \(axes) keepDims", shapes: [[2, 3, 4]]) {
                    $0[0].mean(alongAxes: axes, keepDims: true)
                },
                OpCase(name: "max axes \(axes)", shapes: [[2, 3, 4]]) { $0[0].max(alongAxes: axes) },
                OpCase(name: "min axes \(axes) keepDims", shapes: [[2, 3, 4]]) {
                    $0[0].min(alongAxes: axes, keepDims: true)
                },
            ]
        } + [
            OpCase(name: "sum all", shapes: [[2, 3]]) { $0[0].sum() },
            OpCase(name: "mean all", shapes: [[2, 3]]) { $0[0].mean() },
            OpCase(name: "max all", shapes: [[2, 3]]) { $0[0].max() },
        ]

    static let structural: [OpCase] = [
        OpCase(name: "reshaped", shapes: [[2, 3]]) { $0[0].reshaped([3, -1]) * $0[0].reshaped([3, 2]) },
        OpCase(name: "permuted", shapes: [[2, 3, 4]]) { $0[0].permuted([1, 2, 0]) * 2 },
        OpCase(name: "transposed", shapes: [[2, 3]]) { $0[0].transposed().squared() },
        OpCase(name: "expanded", shapes: [[1, 3]]) { $0[0].expanded(to: [4, 2, 3]).squared() },
        OpCase(name: "sliced", shapes: [[4, 3]]) { $0[0].sliced(axis: 0, 1..<3).squared() },
        OpCase(name: "contiguous", shapes: [[3, 2]]) { $0[0].transposed().contiguous().squared() },
        OpCase(name: "concat axis 0", shapes: [[1, 3], [2, 3]]) { Tensor.concat([$0[0], $0[1]], axis: 0).squared() },
        OpCase(name: "concat axis 1", shapes: [[2, 1], [2, 3], [2, 2]]) {
            Tensor.concat([$0[0], $0[1], $0[2]], axis: 1) * 3
        },
        OpCase(name: "stack axis 1", shapes: [[2, 3], [2, 3]]) { Tensor.stack([$0[0], $0[1]], axis: 1).squared() },
        OpCase(name: "to float32 and back", shapes: [[2, 3]], roundsThroughFloat32: true) {
            ($0[0].to(.float32) * 2).to(.float64)
        },
        OpCase(name: "matmul 2-D", shapes: [[2, 3], [3, 4]]) { matmul($0[0], $0[1]) },
        OpCase(name: "matmul batched 3-D", shapes: [[2, 2, 3], [2, 3, 2]]) { matmul($0[0], $0[1]) },
        OpCase(name: "matmul 3-D × 2-D", shapes: [[2, 2, 3], [3, 2]]) { matmul($0[0], $0[1]) },
        OpCase(name: "matmul 2-D × 3-D", shapes: [[2, 3], [2, 3, 2]]) { matmul($0[0], $0[1]) },
        OpCase(name: "matmul batch-1 broadcast", shapes: [[1, 2, 3], [2, 3, 2]]) { matmul($0[0], $0[1]) },
        OpCase(name: "matmul 1-D · 1-D", shapes: [[3], [3]]) { matmul($0[0], $0[1]) },
        OpCase(name: "matmul 1-D × 2-D", shapes: [[3], [3, 4]]) { matmul($0[0], $0[1]) },
        OpCase(name: "matmul 2-D × 1-D", shapes: [[2, 3], [3]]) { matmul($0[0], $0[1]) },
        OpCase(name: "matmul 1-D × 3-D", shapes: [[3], [2, 3, 2]]) { matmul($0[0], $0[1]) },
        OpCase(name: "matmul 3-D × 1-D", shapes: [[2, 2, 3], [3]]) { matmul($0[0], $0[1]) },
        OpCase(name: "matmul 4-D × 3-D broadcast", shapes: [[2, 1, 2, 3], [3, 3, 2]]) { matmul($0[0], $0[1]) },
        OpCase(name: "matmul [2,1,m,k] × [1,3,k,n]", shapes: [[2, 1, 2, 3], [1, 3, 3, 2]]) { matmul($0[0], $0[1]) },
        OpCase(name: "matmul batch-broadcast permuted operands", shapes: [[3, 2, 2, 3], [3, 1, 2, 3]]) {
            matmul($0[0].permuted([1, 0, 2, 3]), $0[1].permuted([1, 0, 3, 2]))
        },
        OpCase(name: "matmul expanded batch × 2-D", shapes: [[1, 2, 3], [3, 2]]) {
            matmul($0[0].expanded(to: [3, 2, 3]), $0[1])
        },
        OpCase(name: "matmul strided 1-D × 3-D", shapes: [[6], [2, 3, 2]]) {
            matmul($0[0].sliced(axis: 0, 0..<6, step: 2), $0[1])
        },
    ]

    static let nn: [OpCase] = [
        OpCase(name: "softmax axis 1", shapes: [[2, 4]]) { softmax($0[0], axis: 1) },
        OpCase(name: "softmax axis 0", shapes: [[3, 2]]) { softmax($0[0], axis: 0) },
        OpCase(name: "logSoftmax axis 1", shapes: [[2, 4]]) { logSoftmax($0[0], axis: 1) },
        OpCase(name: "logSoftmax axis 0 of 3-D", shapes: [[3, 2, 2]]) { logSoftmax($0[0], axis: 0) },
        OpCase(name: "crossEntropy", shapes: [[3, 4]]) { crossEntropy(logits: $0[0], labels: [2, 0, 3]) },
        OpCase(name: "mse", shapes: [[2, 3], [2, 3]]) { mse($0[0], $0[1]) },
        OpCase(name: "linear layer + tanh", shapes: [[4, 3], [3, 2], [2]]) { tanh(matmul($0[0], $0[1]) + $0[2]) },
        OpCase(name: "fused linear", shapes: [[4, 3], [2, 3], [2]]) { linear($0[0], weight: $0[1], bias: $0[2]) },
        OpCase(name: "fused linear no bias, 3-D input", shapes: [[2, 2, 3], [4, 3]]) { linear($0[0], weight: $0[1]) },
        OpCase(name: "fused linear+leakyRelu slope -0.5 (unfusable)", shapes: [[4, 3], [2, 3], [2]]) {
            linear($0[0], weight: $0[1], bias: $0[2], activation: .leakyRelu(negativeSlope: -0.5))
        },
        OpCase(name: "batchNorm train [N, C, L]", shapes: [[3, 2, 4], [2], [2]]) {
            batchNorm($0[0], runningMean: nil, runningVar: nil, weight: $0[1], bias: $0[2], training: true)
        },
        OpCase(name: "batchNorm train [N, C, H, W]", shapes: [[2, 3, 3, 2], [3], [3]]) {
            batchNorm($0[0], runningMean: nil, runningVar: nil, weight: $0[1], bias: $0[2], training: true)
        },
        OpCase(name: "batchNorm train [N, C, H, W] without weight and bias", shapes: [[3, 2, 2, 2]]) {
            batchNorm($0[0], runningMean: nil, runningVar: nil, weight: nil, bias: nil, training: true) * 1.5
        },
        OpCase(name: "batchNorm train [N, C]", shapes: [[4, 3], [3], [3]]) {
            batchNorm($0[0], runningMean: nil, runningVar: nil, weight: $0[1], bias: $0[2], training: true)
        },
        OpCase(name: "batchNorm eval [N, C, L]", shapes: [[3, 2, 4], [2], [2]]) {
            let dtype = $0[0].dtype
            return batchNorm($0[0], runningMean: Tensor([0.3, -0.2], dtype: dtype),
                             runningVar: Tensor([0.5, 2], dtype: dtype), weight: $0[1], bias: $0[2], training: false)
        },
    ]
}
