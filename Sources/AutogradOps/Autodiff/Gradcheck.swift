import AutogradTensor

/// Where an analytical gradient disagreed with central differences.
public struct GradcheckFailure: Error, CustomStringConvertible {
    /// The function or op checked.
    public let function: String
    /// Which input of the function.
    public let inputIndex: Int
    /// Row-major index of the input element perturbed.
    public let elementIndex: Int
    /// Row-major index of the output element compared.
    public let outputIndex: Int
    public let analytical: Double
    public let numerical: Double

    public var description: String {
        "gradcheck failed for \(function): d output[\(outputIndex)] / d input \(inputIndex)[\(elementIndex)]: analytical \(analytical), numerical \(numerical)"
    }
}

/// Checks the reverse-mode gradients of `f` at `inputs` against central
/// finite differences, PyTorch's way: every element of the Jacobian, with
/// `|analytical − numerical| ≤ atol + rtol·|numerical|`. Inputs should be float64.
///
/// Throws a ``GradcheckFailure`` naming the function, input, element and both values.
///
/// ```swift
/// try gradcheck("tanh", [Tensor.randn([3], dtype: .float64)]) { tanh($0[0]) }
/// ```
public func gradcheck(_ name: String, _ inputs: [Tensor], eps: Double = 1e-6, atol: Double = 1e-5,
                      rtol: Double = 1e-3, _ f: ([Tensor]) -> Tensor) throws(GradcheckFailure) {
    let leaves = inputs.map { $0.detach().requiringGrad() }
    let output = f(leaves)
    let outCount = output.scalarCount

    // Analytical Jacobian, one output element (one seed) at a time.
    var analytical = leaves.map { [[Double]](repeating: [], count: $0.scalarCount) }
    for j in 0..<outCount {
        var seed = [Double](repeating: 0, count: outCount)
        seed[j] = 1
        let grads = output.requiresGrad
            ? grad(of: output, withRespectTo: leaves,
                   seed: Tensor(shape: output.shape, scalars: seed, dtype: output.dtype), retainGraph: true)
            : leaves.map { Tensor.zeros(like: $0) }
        for (i, g) in grads.enumerated() {
            for (e, value) in g.scalars.enumerated() { analytical[i][e].append(value) }
        }
    }

    // Numerical Jacobian: perturb each element of each input in place. `f` runs
    // with recording on, since it may itself take gradients (gradgradcheck).
    for (i, leaf) in leaves.enumerated() {
        for e in 0..<leaf.scalarCount {
            let original = leaf.element(atFlatIndex: e)
            leaf.setElement(atFlatIndex: e, original + eps)
            let plus = f(leaves).scalars
            leaf.setElement(atFlatIndex: e, original - eps)
            let minus = f(leaves).scalars
            leaf.setElement(atFlatIndex: e, original)
            for j in 0..<outCount {
                let numerical = (plus[j] - minus[j]) / (2 * eps)
                let a = analytical[i][e][j]
                if !(Swift.abs(a - numerical) <= atol + rtol * Swift.abs(numerical)) {
                    throw GradcheckFailure(function: name, inputIndex: i, elementIndex: e, outputIndex: j,
                                           analytical: a, numerical: numerical)
                }
            }
        }
    }
}

/// Checks second derivatives: the gradient of `f` (contracted with a fixed
/// random output gradient, and recorded with `createGraph`) is itself checked
/// with ``gradcheck(_:_:eps:atol:rtol:_:)``.
///
/// ```swift
/// try gradgradcheck("tanh", [x]) { tanh($0[0]) }
/// ```
public func gradgradcheck(_ name: String, _ inputs: [Tensor], eps: Double = 1e-6, atol: Double = 1e-5,
                          rtol: Double = 1e-3, seed: UInt64 = 7, _ f: ([Tensor]) -> Tensor) throws(GradcheckFailure) {
    let probe = noGrad { f(inputs.map { $0.detach() }) }
    var rng = RandomGenerator(seed: seed)
    let v = Tensor.randn(probe.shape, dtype: probe.dtype, using: &rng)
    try gradcheck(name + " (second derivative)", inputs, eps: eps, atol: atol, rtol: rtol) { xs in
        let y = f(xs)
        let grads = grad(of: y, withRespectTo: xs, seed: v, createGraph: true)
        return Tensor.concat(grads.map { $0.reshaped([-1]) }, axis: 0)
    }
}

extension Tensor {
    /// Storage position of the element at a row-major flat index of this view.
    private func storagePosition(ofFlatIndex index: Int) -> Int {
        var rest = index
        var position = offset
        for axis in stride(from: rank - 1, through: 0, by: -1) {
            position += (rest % shape[axis]) * strides[axis]
            rest /= shape[axis]
        }
        return position
    }

    func element(atFlatIndex index: Int) -> Double {
        let p = storagePosition(ofFlatIndex: index)
        switch dtype {
        case .float32: return Double(storage.base.load(fromByteOffset: p * 4, as: Float.self))
        case .float64: return storage.base.load(fromByteOffset: p * 8, as: Double.self)
        }
    }

    /// Writes one element in place (gradcheck's perturbations); bumps the version.
    func setElement(atFlatIndex index: Int, _ value: Double) {
        let p = storagePosition(ofFlatIndex: index)
        switch dtype {
        case .float32: storage.base.storeBytes(of: Float(value), toByteOffset: p * 4, as: Float.self)
        case .float64: storage.base.storeBytes(of: value, toByteOffset: p * 8, as: Double.self)
        }
        bumpVersion()
    }
}
