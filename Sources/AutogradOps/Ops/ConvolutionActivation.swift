import AutogradTensor
import CKernels

/// A convolutional layer in one op: y = act(conv(x, w) + bias), the
/// convolution followed by one pass that adds each channel's bias and
/// applies the activation, instead of a broadcast add and an activation
/// pass, each with an output of its own.
///
/// Activations whose derivative can be read off the output
/// (``UnaryOp/derivativeFromOutput``: ReLU, leaky ReLU, tanh, sigmoid, …)
/// are fused; the VJP uses the row's derivative and the convolution's
/// adjoints, so second derivatives work as for the separate ops.
package struct Conv2dBiasActivation: Primitive {
    package let geometry: ConvGeometry
    /// nil for none.
    package let activation: UnaryOp?
    package let hasBias: Bool

    init(geometry: ConvGeometry, activation: UnaryOp?, hasBias: Bool) {
        precondition(activation?.derivativeFromOutput ?? true, "conv2d: \(activation!.name) can't be fused")
        self.geometry = geometry
        self.activation = activation
        self.hasBias = hasBias
    }

    package var name: String { "conv2d" + (hasBias ? "+bias" : "") + (activation.map { "+" + $0.name } ?? "") }

    private var convolution: Conv2dOp { Conv2dOp(geometry: geometry) }

    package func outputShape(_ inputs: [[Int]]) -> [Int] {
        let shape = convolution.outputShape(Array(inputs[0...1]))
        if hasBias, inputs[2] != [shape[1]] {
            opError("conv2d", "bias has shape \(ShapeRules.describe(inputs[2])), expected [\(shape[1])] for output \(ShapeRules.describe(shape))")
        }
        return shape
    }

    package func forward(_ inputs: [Tensor], shape: [Int]) -> Tensor {
        forwardAllocating(inputs, shape: shape, dtype: inputs[0].dtype)
    }

    package func forward(_ inputs: [Tensor], into output: Tensor) -> Bool {
        let bias = hasBias ? inputs[2] : nil
        guard bias?.isContiguous ?? true, convolution.forward(inputs[0], inputs[1], into: output) else { return false }
        let act = activation ?? UnaryOp.affineRow
        let channels = output.shape[1], plane = output.shape[2] * output.shape[3]
        ag_conv2d_bias_activation(output.dtype.c, output.shape[0] * channels, channels, plane, output.pointer,
                                  bias?.pointer, act.kernel, act.p0, act.p1)
        return true
    }

    /// v · act′(z), read from the output y.
    private func activationDerivative(_ y: Tensor, _ v: Tensor) -> Tensor {
        activation.map { $0.derivative(x: nil, y: y, v) ?? Tensor.zeros(like: v) } ?? v
    }

    package func vjp(_ inputs: [Tensor], _ output: Tensor, _ grad: Tensor, _ needs: [Bool]) -> [Tensor?] {
        let gz = activationDerivative(output, grad)
        let grads = convolution.vjp(Array(inputs[0...1]), output, gz, Array(needs[0...1]))
        guard hasBias else { return grads }
        return grads + [needs[2] ? gz.sum(alongAxes: [0, 2, 3]) : nil]
    }

    package func jvp(_ inputs: [Tensor], _ output: Tensor, _ tangents: [Tensor?]) -> Tensor {
        let (x, w) = (inputs[0], inputs[1])
        var terms: [Tensor?] = [tangents[0].map { convolution($0, w) }, tangents[1].map { convolution(x, $0) }]
        if hasBias { terms.append(tangents[2].map { $0.reshaped([1, output.shape[1], 1, 1]).expanded(to: output.shape) }) }
        return activationDerivative(output, sumOfTerms(terms, like: output))
    }
}
