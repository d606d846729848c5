import AutogradOps
import AutogradTensor

/// A building block of a network, in the spirit of PyTorch's `nn.Module`.
///
/// Subclass it, store layers and tensors as properties, and override
/// ``forward(_:)``. Parameters are found by reflection, so nothing needs to
/// be registered: a stored `Tensor` that requires grad is a parameter, one
/// that doesn't is a buffer (state saved in checkpoints but not trained, such
/// as batch norm's running statistics), and stored modules — alone, optional
/// or in arrays — are children, named by their property.
///
/// Names follow PyTorch's `state_dict`, so its safetensors files load by
/// name: a property's name is written in snake case (`runningMean` is
/// `running_mean`), an array of modules or tensors numbers its elements
/// (`blocks.0.weight`), and ``Sequential`` names its layers by index alone
/// (`0.weight`, as `nn.Sequential` does).
///
/// ```swift
/// final class TwoLayer: Module {
///     let hidden = Linear(4, 16)
///     let output = Linear(16, 3)
///     override func forward(_ x: Tensor) -> Tensor { output(relu(hidden(x))) }
/// }
/// let model = TwoLayer()
/// print(model.namedParameters().map(\.name))
/// // ["hidden.weight", "hidden.bias", "output.weight", "output.bias"]
/// ```
open class Module {
    /// True in training mode (the default), false in evaluation mode; layers
    /// such as ``Dropout`` and ``BatchNorm1d`` behave differently in each.
    public private(set) var isTraining = true

    public init() {}

    /// The computation. Subclasses override it.
    open func forward(_ input: Tensor) -> Tensor {
        fatalError("\(type(of: self)) must override forward(_:)")
    }

    /// Runs ``forward(_:)`` (and reports the call to ``summary(inputShape:)``
    /// when it is listening).
    public func callAsFunction(_ input: Tensor) -> Tensor {
        if let recorder = ModuleCallRecorder.current { return recorder.run(self, input) }
        return forward(input)
    }

    /// What the module holds, found by reflection: direct children, and its own
    /// tensors, in declaration order (superclass properties first).
    private func members() -> (children: [(String, Module)], tensors: [(String, Tensor)]) {
        var mirrors: [Mirror] = []
        var mirror: Mirror? = Mirror(reflecting: self)
        while let m = mirror {
            mirrors.append(m)
            mirror = m.superclassMirror
        }
        var children: [(String, Module)] = []
        var tensors: [(String, Tensor)] = []
        func visit(_ name: String, _ value: Any) {
            switch value {
            case let m as Module:
                children.append((name, m))
            case let t as Tensor:
                tensors.append((name, t))
            case let list as [Module]:
                let prefix = indexedLists.contains(name) ? "" : name + "."
                for (i, m) in list.enumerated() { children.append(("\(prefix)\(i)", m)) }
            case let list as [Tensor]:
                for (i, t) in list.enumerated() { tensors.append(("\(name).\(i)", t)) }
            default:
                let inner = Mirror(reflecting: value)
                if inner.displayStyle == .optional, let wrapped = inner.children.first {
                    visit(name, wrapped.value)
                }
            }
        }
        for m in mirrors.reversed() {
            for child in m.children {
                guard let label = child.label else { continue }
                visit(Module.propertyName(label), child.value)
            }
        }
        return (children, tensors)
    }

    /// Properties (by state name) holding module arrays whose elements are
    /// named by index alone, as PyTorch's `nn.Sequential` names its layers.
    var indexedLists: Set<String> { [] }

    /// A stored property's state name: without the prefixes Swift gives
    /// backing storage, in snake case (see ``Module``).
    static func propertyName(_ label: String) -> String {
        var name = Substring(label)
        if name.hasPrefix("$__lazy_storage_$_") { name = name.dropFirst("$__lazy_storage_$_".count) }
        if name.hasPrefix("_") { name = name.dropFirst() }
        return snakeCase(name)
    }

    /// `runningMean` → `running_mean`, `weightIH` → `weight_ih`, `XMLParser` → `xml_parser`.
    static func snakeCase(_ name: Substring) -> String {
        let characters = Array(name)
        var out = ""
        for (i, c) in characters.enumerated() {
            if c.isUppercase, i > 0 {
                let previous = characters[i - 1]
                let nextIsLower = i + 1 < characters.count && characters[i + 1].isLowercase
                if previous.isLowercase || previous.isNumber || (previous.isUppercase && nextIsLower) { out += "_" }
            }
            out += c.lowercased()
        }
        return out
    }

    /// Direct submodules with their names.
    public var namedChildren: [(name: String, module: Module)] {
        members().children.map { (name: $0.0, module: $0.1) }
    }

    /// Every tensor of this module and its descendants, with dotted names.
    private func namedTensors(prefix: String = "") -> [(name: String, tensor: Tensor)] {
        let (children, tensors) = members()
        var out = tensors.map { (name: prefix + $0.0, tensor: $0.1) }
        for (name, child) in children {
            out += child.namedTensors(prefix: prefix + name + ".")
        }
        return out
    }

    /// Trainable tensors (requiring grad) of this module and its descendants,
    /// named by their path, such as `"0.weight"` or `"features.3.bias"`.
    public func namedParameters() -> [(name: String, tensor: Tensor)] {
        namedTensors().filter { $0.tensor.requiresGrad }
    }

    /// The trainable tensors, in the order of ``namedParameters()``.
    public var parameters: [Tensor] { namedParameters().map(\.tensor) }

    /// Non-trainable state (such as running statistics), named like parameters.
    public func namedBuffers() -> [(name: String, tensor: Tensor)] {
        namedTensors().filter { !$0.tensor.requiresGrad }
    }

    /// Parameters and buffers together: everything a checkpoint saves.
    public func stateTensors() -> [(name: String, tensor: Tensor)] {
        namedTensors()
    }

    /// Total number of trainable scalars.
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.scalarCount } }

    /// Sets training mode on this module and every descendant.
    public func train(_ on: Bool = true) {
        isTraining = on
        for (_, child) in members().children { child.train(on) }
    }

    /// Sets evaluation mode on this module and every descendant.
    public func eval() { train(false) }

    /// Runs `body` in evaluation mode without recording, then restores the
    /// mode the module was in.
    ///
    /// ```swift
    /// let predictions = model.evaluating { model(x) }
    /// ```
    public func evaluating<R>(_ body: () throws -> R) rethrows -> R {
        let wasTraining = isTraining
        eval()
        defer { train(wasTraining) }
        return try noGrad(body)
    }

    /// Clears the gradients of every parameter.
    public func zeroGrad() {
        for p in parameters { p.zeroGrad() }
    }
}
