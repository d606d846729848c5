import AutogradTensor
import CKernels

/// Training-mode batch normalization as fused kernels: the statistics in
/// one sweep, the normalisation in one more, and a backward pass that
/// takes the three reductions (Σg, Σg·x̂ and the input gradient) in two,
/// where composing the formula from elementwise ops and reductions costs
/// about fifteen passes over the activations.
///
/// Inputs are x [N, C, …] and its statistics [2, C] (mean, biased variance,
/// from ``BatchNormStats``), weight and bias [C]. The statistics are an
/// input so the caller can update running estimates from the same values;
/// they get no gradient of their own: the formulas below differentiate
/// through them. When the backward pass is recorded (second derivatives),
/// the VJP is written in differentiable ops instead of the fused kernel.
package struct BatchNormTrain: Primitive {
    package let eps: Double
    package var name: String { "batchNorm" }

    package init(eps: Double) { self.eps = eps }

    package func outputShape(_ inputs: [[Int]]) -> [Int] { inputs[0] }

    package func forward(_ inputs: [Tensor], shape: [Int]) -> Tensor {
        let x = inputs[0].contiguousValues(), stats = inputs[1].contiguousValues()
        let w = inputs[2].contiguousValues(), b = inputs[3].contiguousValues()
        let (n, c, inner) = BatchNormTrain.layout(x.shape)
        let (mean, invstd) = BatchNormTrain.meanAndInvstd(stats, eps: eps)
        let y = Tensor(uninitializedShape: shape, dtype: x.dtype)
        ag_batchnorm_apply(x.dtype.c, n, c, inner, x.pointer, mean, invstd, w.pointer, b.pointer, y.pointer)
        return y
    }

    /// [N, C, …] as N runs of C channels of `inner` values each.
    static func layout(_ shape: [Int]) -> (Int, Int, Int) {
        (shape[0], shape[1], shape.dropFirst(2).reduce(1, *))
    }

    /// The mean and 1/√(var + eps) per channel, from [2, C] statistics.
    static func meanAndInvstd(_ stats: Tensor, eps: Double) -> ([Double], [Double]) {
        let values = stats.scalars
        let c = values.count / 2
        return (Array(values[0..<c]), values[c...].map { 1 / ($0 + eps).squareRoot() })
    }

    /// The statistics' axes (all but the channels) and a shape [C, 1, …] that broadcasts against x.
    static func axes(_ x: Tensor) -> (axes: [Int], perChannel: [Int]) {
        ([0] + Array(2..<x.rank), [x.shape[1]] + [Int](repeating: 1, count: x.rank - 2))
    }

    /// x̂ = (x − mean)·invstd with the statistics recomputed from x in differentiable ops.
    func normalized(_ x: Tensor) -> (xhat: Tensor, invstd: Tensor, axes: [Int]) {
        let (axes, _) = BatchNormTrain.axes(x)
        let centred = x - x.mean(alongAxes: axes, keepDims: true)
        let invstd = 1 / sqrt(centred.squared().mean(alongAxes: axes, keepDims: true) + eps)
        return (centred * invstd, invstd, axes)
    }

    package func vjp(_ inputs: [Tensor], _ output: Tensor, _ grad: Tensor, _ needs: [Bool]) -> [Tensor?] {
        let (x, stats, w) = (inputs[0], inputs[1], inputs[2])
        let perChannel = BatchNormTrain.axes(x).perChannel
        if !ThreadFlags.current.pointee.gradDisabled {
            // Recorded: dx = w·invstd·(g − mean(g) − x̂·mean(g·x̂)), in ops that differentiate again.
            let (xhat, invstd, axes) = normalized(x)
            let gx = grad * xhat
            let dx = w.reshaped(perChannel) * invstd
                * (grad - grad.mean(alongAxes: axes, keepDims: true) - xhat * gx.mean(alongAxes: axes, keepDims: true))
            return [needs[0] ? dx : nil, nil, needs[2] ? gx.sum(alongAxes: axes) : nil,
                    needs[3] ? grad.sum(alongAxes: axes) : nil]
        }
        let dx = needs[0] ? BatchNormTrainBackward(eps: eps)(x, grad, stats, w) : nil
        var dw: Tensor?, db: Tensor?
        if needs[2] || needs[3] {
            let sums = BatchNormParameterGradients(eps: eps)(x, grad, stats)
            dw = sums.sliced(axis: 0, 0..<1).reshaped([x.shape[1]])
            db = sums.sliced(axis: 0, 1..<2).reshaped([x.shape[1]])
        }
        return [dx, nil, needs[2] ? dw : nil, needs[3] ? db : nil]
    }

    /// t_y = w·invstd·(t − mean(t) − x̂·mean(t·x̂)) + t_w·x̂ + t_b.
    package func jvp(_ inputs: [Tensor], _ output: Tensor, _ tangents: [Tensor?]) -> Tensor {
        let (x, w) = (inputs[0], inputs[2])
        let perChannel = BatchNormTrain.axes(x).perChannel
        let (xhat, invstd, axes) = normalized(x)
        var terms: [Tensor?] = [tangents[0].map { t in
            w.reshaped(perChannel) * invstd
                * (t - t.mean(alongAxes: axes, keepDims: true) - xhat * (t * xhat).mean(alongAxes: axes, keepDims: true))
        }]
        terms.append(tangents[2].map { $0.reshaped(perChannel) * xhat })
        terms.append(tangents[3].map { $0.reshaped(perChannel).expanded(to: x.shape) })
        return sumOfTerms(terms, like: output)
    }
}

/// The per-channel mean and biased variance of x [N, C, …], as [2, C].
package struct BatchNormStats: Primitive {
    package var name: String { "batchNormStats" }

    package init() {}

    package func outputShape(_ inputs: [[Int]]) -> [Int] { [2, inputs[0][1]] }

    package func forward(_ inputs: [Tensor], shape: [Int]) -> Tensor {
        let x = inputs[0].contiguousValues()
        let (n, c, inner) = BatchNormTrain.layout(x.shape)
        var mean = [Double](repeating: 0, count: c), variance = [Double](repeating: 0, count: c)
        ag_batchnorm_stats(x.dtype.c, n, c, inner, x.pointer, &mean, &variance)
        return Tensor(shape: shape, scalars: mean + variance, dtype: x.dtype)
    }

    /// d mean = mean(g_mean) spread; d var = 2·(x − mean)·g_var / M.
    package func vjp(_ inputs: [Tensor], _ output: Tensor, _ grad: Tensor, _ needs: [Bool]) -> [Tensor?] {
        let x = inputs[0]
        let (axes, perChannel) = BatchNormTrain.axes(x)
        let count = Double(x.scalarCount / Swift.max(x.shape[1], 1))
        let centred = x - x.mean(alongAxes: axes, keepDims: true)
        let gMean = grad.sliced(axis: 0, 0..<1).reshaped(perChannel)
        let gVar = grad.sliced(axis: 0, 1..<2).reshaped(perChannel)
        return [(gMean + centred * gVar * 2) * (1 / count)]
    }

    package func jvp(_ inputs: [Tensor], _ output: Tensor, _ tangents: [Tensor?]) -> Tensor {
        let x = inputs[0], t = tangents[0]!
        let (axes, _) = BatchNormTrain.axes(x)
        let centred = x - x.mean(alongAxes: axes, keepDims: true)
        return Tensor.stack([t.mean(alongAxes: axes), (centred * t).mean(alongAxes: axes) * 2], axis: 0)
    }
}

/// The input gradient of ``BatchNormTrain`` from x, the output gradient g,
/// the statistics and the weight, by the fused kernel. Its own derivatives
/// (reached only through ``jvp``-of-``vjp`` compositions) are those of the
/// same formula in differentiable ops.
package struct BatchNormTrainBackward: Primitive {
    package let eps: Double
    package var name: String { "batchNormBackward" }

    package func outputShape(_ inputs: [[Int]]) -> [Int] { inputs[0] }

    package func forward(_ inputs: [Tensor], shape: [Int]) -> Tensor {
        let x = inputs[0].contiguousValues(), g = inputs[1].contiguousValues()
        let w = inputs[3].contiguousValues()
        let (n, c, inner) = BatchNormTrain.layout(x.shape)
        let (mean, invstd) = BatchNormTrain.meanAndInvstd(inputs[2].contiguousValues(), eps: eps)
        let dx = Tensor(uninitializedShape: shape, dtype: x.dtype)
        ag_batchnorm_backward(x.dtype.c, n, c, inner, x.pointer, g.pointer, mean, invstd, w.pointer, dx.pointer,
                              nil, nil)
        return dx
    }

    /// The formula in differentiable ops, for derivatives of this op.
    private func formula(_ x: Tensor, _ g: Tensor, _ w: Tensor) -> Tensor {
        let op = BatchNormTrain(eps: eps)
        let (xhat, invstd, axes) = op.normalized(x)
        return w.reshaped(BatchNormTrain.axes(x).perChannel) * invstd
            * (g - g.mean(alongAxes: axes, keepDims: true) - xhat * (g * xhat).mean(alongAxes: axes, keepDims: true))
    }

    package func vjp(_ inputs: [Tensor], _ output: Tensor, _ grad: Tensor, _ needs: [Bool]) -> [Tensor?] {
        let leaves = [inputs[0], inputs[1], inputs[3]].map { $0.detach().requiringGrad() }
        let grads = GradMode.with(enabled: true) {
            AutogradOps.grad(of: formula(leaves[0], leaves[1], leaves[2]), withRespectTo: leaves, seed: grad,
                             createGraph: true)
        }
        return [needs[0] ? grads[0] : nil, needs[1] ? grads[1] : nil, nil, needs[3] ? grads[2] : nil]
    }

    package func jvp(_ inputs: [Tensor], _ output: Tensor, _ tangents: [Tensor?]) -> Tensor {
        let primal = [inputs[0], inputs[1], inputs[3]]
        let t = [tangents[0], tangents[1], tangents[3]].enumerated().map { $1 ?? Tensor.zeros(like: primal[$0]) }
        return ForwardMode.with(suspended: false) {
            AutogradOps.jvp(of: { formula($0[0], $0[1], $0[2]) }, at: primal, tangents: t).tangent
        }
    }
}

/// Σ g·x̂ and Σ g per channel, as [2, C]: the weight's and the bias's
/// gradients of ``BatchNormTrain``, by the fused kernel.
package struct BatchNormParameterGradients: Primitive {
    package let eps: Double
    package var name: String { "batchNormParameterGradients" }

    package func outputShape(_ inputs: [[Int]]) -> [Int] { [2, inputs[0][1]] }

    package func forward(_ inputs: [Tensor], shape: [Int]) -> Tensor {
        let x = inputs[0].contiguousValues(), g = inputs[1].contiguousValues()
        let (n, c, inner) = BatchNormTrain.layout(x.shape)
        let (mean, invstd) = BatchNormTrain.meanAndInvstd(inputs[2].contiguousValues(), eps: eps)
        var sumG = [Double](repeating: 0, count: c), sumGX = [Double](repeating: 0, count: c)
        ag_batchnorm_backward(x.dtype.c, n, c, inner, x.pointer, g.pointer, mean, invstd, nil, nil, &sumG, &sumGX)
        return Tensor(shape: shape, scalars: sumGX + sumG, dtype: x.dtype)
    }

    private func formula(_ x: Tensor, _ g: Tensor) -> Tensor {
        let (xhat, _, axes) = BatchNormTrain(eps: eps).normalized(x)
        return Tensor.stack([(g * xhat).sum(alongAxes: axes), g.sum(alongAxes: axes)], axis: 0)
    }

    package func vjp(_ inputs: [Tensor], _ output: Tensor, _ grad: Tensor, _ needs: [Bool]) -> [Tensor?] {
        let leaves = [inputs[0], inputs[1]].map { $0.detach().requiringGrad() }
        let grads = GradMode.with(enabled: true) {
            AutogradOps.grad(of: formula(leaves[0], leaves[1]), withRespectTo: leaves, seed: grad, createGraph: true)
        }
        return [needs[0] ? grads[0] : nil, needs[1] ? grads[1] : nil, nil]
    }

    package func jvp(_ inputs: [Tensor], _ output: Tensor, _ tangents: [Tensor?]) -> Tensor {
        let primal = [inputs[0], inputs[1]]
        let t = [tangents[0], tangents[1]].enumerated().map { $1 ?? Tensor.zeros(like: primal[$0]) }
        return ForwardMode.with(suspended: false) {
            AutogradOps.jvp(of: { formula($0[0], $0[1]) }, at: primal, tangents: t).tangent
        }
    }
}
