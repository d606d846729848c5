import AutogradTensor
import CKernels

/// A fully connected layer in one op: y = act(x · Wᵀ + b), the GEMM followed
/// by a single pass that adds the bias and applies the activation (the GEMM
/// epilogue), instead of three passes over the output.
///
/// Any activation row whose derivative can be read off the output
/// (``UnaryOp/derivativeFromOutput``: ReLU, leaky ReLU, tanh, sigmoid, …) is
/// fused; the VJP uses the row's derivative kernel, so second derivatives
/// still work.
struct LinearActivation: Primitive {
    /// nil for none.
    let activation: UnaryOp?
    let hasBias: Bool

    init(activation: UnaryOp?, hasBias: Bool) {
        precondition(activation?.derivativeFromOutput ?? true, "linear: \(activation!.name) can't be fused")
        self.activation = activation
        self.hasBias = hasBias
    }

    var name: String { "linear" + (activation.map { "+" + $0.name } ?? "") }

    var identity: OpIdentity? { OpIdentity(self, [activation?.identity, hasBias]) }

    func outputShape(_ inputs: [[Int]]) -> [Int] {
        let (x, w) = (inputs[0], inputs[1])
        guard w.count == 2, x.count >= 1, x.last == w[1] else {
            opError(name, "input shape \(ShapeRules.describe(x)) and weight shape \(ShapeRules.describe(w)) don't fit (need [..., in] and [out, in])")
        }
        if hasBias {
            guard inputs[2] == [w[0]] else {
                opError(name, "bias shape \(ShapeRules.describe(inputs[2])) should be [\(w[0])]")
            }
        }
        return Array(x.dropLast()) + [w[0]]
    }

    func forward(_ inputs: [Tensor], shape: [Int]) -> Tensor {
        forwardAllocating(inputs, shape: shape, dtype: inputs[0].dtype)
    }

    func forward(_ inputs: [Tensor], into output: Tensor) -> Bool {
        let x = inputs[0], w = inputs[1], bias = hasBias ? inputs[2] : nil
        guard x.isContiguous, w.isContiguous, bias?.isContiguous ?? true, output.isContiguous else { return false }
        run(x, w, bias, into: output)
        return true
    }

    /// y = act(x · wᵀ + bias): one GEMM with w read transposed, whose
    /// epilogue adds the bias and applies the activation while C is in cache.
    private func run(_ x: Tensor, _ w: Tensor, _ bias: Tensor?, into y: Tensor) {
        let outFeatures = w.shape[0], inFeatures = w.shape[1]
        let rows = inFeatures == 0 ? y.scalarCount / Swift.max(outFeatures, 1) : x.scalarCount / inFeatures
        let act = activation ?? UnaryOp.affineRow
        if inFeatures == 0 {
            ag_fill(y.dtype.c, y.scalarCount, 0, y.pointer)
            ag_bias_activation(y.dtype.c, rows, outFeatures, y.pointer, bias?.pointer, act.kernel, act.p0, act.p1)
            return
        }
        var epilogue = ag_gemm_epilogue(bias: bias.map { UnsafeRawPointer($0.pointer) }, act: act.kernel,
                                        p0: act.p0, p1: act.p1, residual: nil, ldr: 0)
        ag_gemm_fused(y.dtype.c, 0, 1, Int64(rows), Int64(outFeatures), Int64(inFeatures),
                      x.pointer, Int64(inFeatures), w.pointer, Int64(inFeatures), y.pointer, Int64(outFeatures), &epilogue)
    }

    /// v · act′(z), read from the output y.
    private func activationDerivative(_ y: Tensor, _ v: Tensor) -> Tensor {
        activation.map { $0.derivative(x: nil, y: y, v) ?? Tensor.zeros(like: v) } ?? v
    }

    func vjp(_ inputs: [Tensor], _ output: Tensor, _ grad: Tensor, _ needs: [Bool]) -> [Tensor?] {
        let x = inputs[0], w = inputs[1]
        let outFeatures = w.shape[0], inFeatures = w.shape[1]
        // Batches of rank 2 (the usual case) are used as they are.
        let gz = activationDerivative(output, grad).asMatrix(columns: outFeatures)
        let x2 = x.asMatrix(columns: inFeatures)
        let dx = needs[0] ? matmul(gz, w).reshaped(x.shape) : nil
        let dw = needs[1] ? matmul(gz.transposed(), x2) : nil
        guard hasBias else { return [dx, dw] }
        return [dx, dw, needs[2] ? gz.sum(alongAxes: [0]) : nil]
    }

    func jvp(_ inputs: [Tensor], _ output: Tensor, _ tangents: [Tensor?]) -> Tensor {
        let x = inputs[0], w = inputs[1]
        var terms: [Tensor?] = [tangents[0].map { matmul($0.reshaped([-1, w.shape[1]]), w.transposed()) },
                                tangents[1].map { matmul(x.reshaped([-1, w.shape[1]]), $0.transposed()) }]
        if hasBias { terms.append(tangents[2]) }
        let tz = sumOfTerms(terms, like: output.reshaped([-1, w.shape[0]])).reshaped(output.shape)
        return activationDerivative(output, tz)
    }
}

/// A fully connected layer as a function: `activation(x · weightᵀ + bias)`,
/// computed as one GEMM and one fused pass for bias and activation when the
/// activation's derivative can be read off its output (ReLU, leaky ReLU,
/// tanh, sigmoid); other activations (GELU, softplus, SiLU, …) run as a
/// separate op after it.
///
/// ```swift
/// let h = linear(x, weight: w, bias: b, activation: .relu)   // w: [out, in]
/// ```
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor? = nil, activation: Activation? = nil) -> Tensor {
    if let activation, !activation.op.derivativeFromOutput {
        return activation(linear(x, weight: weight, bias: bias))
    }
    let op = LinearActivation(activation: activation?.op, hasBias: bias != nil)
    return bias.map { op(x, weight, $0) } ?? op(x, weight)
}

private extension Tensor {
    /// This tensor as [rows, columns]: itself when it already has rank 2.
    func asMatrix(columns: Int) -> Tensor { rank == 2 ? self : reshaped([-1, columns]) }
}
