import AutogradTensor

/// A differentiable operation, defined once: its name, shape rule, forward
/// kernel call, vector-Jacobian product (reverse mode) and Jacobian-vector
/// product (forward mode).
///
/// The eager tape, forward mode and the gradient checker all consume the same
/// definition; nothing about an op is written twice. Backward and forward
/// rules are written with tensor ops, so recording them (``Tensor/backward(_:retainGraph:createGraph:)``
/// with `createGraph: true`) gives higher derivatives for free.
///
/// Call a primitive like a function on its inputs:
///
/// ```swift
/// struct Cube: Primitive {
///     var name: String { "cube" }
///     func outputShape(_ inputs: [[Int]]) -> [Int] { inputs[0] }
///     func forward(_ x: [Tensor], shape: [Int]) -> Tensor { x[0] * x[0] * x[0] }
///     func vjp(_ x: [Tensor], _ y: Tensor, _ g: Tensor, _ needs: [Bool]) -> [Tensor?] {
///         [g * 3 * x[0] * x[0]]
///     }
///     func jvp(_ x: [Tensor], _ y: Tensor, _ t: [Tensor?]) -> Tensor { t[0]! * 3 * x[0] * x[0] }
/// }
/// let y = Cube()(x)
/// ```
public protocol Primitive {
    /// The op's name, used in error messages and printed graphs.
    var name: String { get }

    /// What makes two applications of this op the same function of their
    /// inputs: the op's type and name plus its attributes (axes, strides,
    /// scalar constants, …). The compiler merges two nodes only when their
    /// identities are equal and non-nil.
    ///
    /// The default reads the op's stored properties by reflection: when
    /// every one is `Hashable` (as for a struct or class of plain
    /// attributes) they are the attributes; otherwise it is nil, and the op
    /// is never merged with another node. Define it to say exactly which
    /// attributes matter.
    var identity: OpIdentity? { get }

    /// The shape rule: the output shape for these input shapes. Stops with a
    /// message naming the op and the shapes when they don't fit.
    func outputShape(_ inputs: [[Int]]) -> [Int]

    /// The shape rule applied to the tensors themselves. The default reads
    /// their shapes into an array and calls ``outputShape(_:)-([[Int]])``;
    /// elementwise ops answer without making one (this runs on every call).
    func outputShape(of inputs: [Tensor]) -> [Int]

    /// Computes the output (of the shape `outputShape` gave). Runs with
    /// recording off: it sees plain values.
    func forward(_ inputs: [Tensor], shape: [Int]) -> Tensor

    /// Reverse mode: the gradient for each input given the output's gradient
    /// `grad` (shaped like the output). An entry may be `nil` for a zero
    /// gradient, and need only be computed where `needs[i]` is true. Gradients
    /// for broadcast inputs may keep the output's shape: the engine sums them
    /// back to the input's shape.
    func vjp(_ inputs: [Tensor], _ output: Tensor, _ grad: Tensor, _ needs: [Bool]) -> [Tensor?]

    /// Reverse mode for an op of one input (`inputs` holds just it): the
    /// gradient ``vjp(_:_:_:_:)`` gives it, without the array around it. The
    /// backward engine calls this for every node of one input; the default
    /// asks `vjp`, and one-input ops whose nodes are common define it to save
    /// an array per node.
    func vjpOfOnlyInput(_ inputs: [Tensor], _ output: Tensor, _ grad: Tensor) -> Tensor?

    /// Forward mode: the output's tangent given each input's tangent (`nil`
    /// for an input that carries none; at least one is not `nil`).
    func jvp(_ inputs: [Tensor], _ output: Tensor, _ tangents: [Tensor?]) -> Tensor

    /// Compiled graphs: writes the output into `output`, memory the graph
    /// planned (of the output's shape and dtype), allocating nothing. Returns
    /// false when this op has no such path for these inputs; the compiled
    /// graph then runs ``forward(_:shape:)`` and copies. The default has none.
    func forward(_ inputs: [Tensor], into output: Tensor) -> Bool

    /// Whether ``forward(_:into:)`` may write over input `index` (same shape
    /// and layout as the output) while it reads it: true for elementwise ops.
    func allowsInPlace(_ index: Int) -> Bool
}

/// The identity of an op (see ``Primitive/identity``): its type, name and attributes.
public struct OpIdentity: Hashable, CustomStringConvertible {
    /// The op's type.
    public let type: ObjectIdentifier
    /// The op's name.
    public let name: String
    /// The values that select the function among the type's ops of that name.
    public let attributes: [AnyHashable]

    /// The identity of `op` with these attributes.
    public init(_ op: some Primitive, _ attributes: [AnyHashable]) {
        self.type = ObjectIdentifier(Swift.type(of: op))
        self.name = op.name
        self.attributes = attributes
    }

    public var description: String { "\(name)\(attributes)" }
}

extension Primitive {
    /// The allocating forward of an op whose kernel call is its
    /// ``forward(_:into:)``: a fresh output written by that path, with the
    /// inputs made contiguous first only when the path declines them. So the
    /// eager and the compiled runs share one kernel call, and the common
    /// (contiguous) case makes no array.
    package func forwardAllocating(_ inputs: [Tensor], shape: [Int], dtype: DType) -> Tensor {
        let out = Tensor(uninitializedShape: shape, dtype: dtype)
        if forward(inputs, into: out) { return out }
        guard forward(inputs.map { $0.contiguousValues() }, into: out) else {
            fatalError("\(name): forward(_:into:) declined contiguous inputs")
        }
        return out
    }

    public var identity: OpIdentity? {
        var attributes: [AnyHashable] = []
        var mirror: Mirror? = Mirror(reflecting: self)
        while let m = mirror {
            for child in m.children {
                guard let value = child.value as? AnyHashable else { return nil }
                attributes.append(value)
            }
            mirror = m.superclassMirror
        }
        return OpIdentity(self, attributes)
    }

    public func outputShape(of inputs: [Tensor]) -> [Int] { outputShape(inputs.map { $0.shape }) }
    public func forward(_ inputs: [Tensor], into output: Tensor) -> Bool { false }
    public func allowsInPlace(_ index: Int) -> Bool { false }
    public func vjpOfOnlyInput(_ inputs: [Tensor], _ output: Tensor, _ grad: Tensor) -> Tensor? {
        vjp(inputs, output, grad, BackwardEngine.needs(inputs))[0]
    }

    /// Applies the op: checks dtypes and shapes, runs the forward kernel,
    /// records a node when an input requires grad, and carries forward-mode
    /// tangents.
    public func callAsFunction(_ inputs: Tensor...) -> Tensor {
        apply(inputs)
    }

    /// Applies the op to an array of inputs; see ``callAsFunction(_:)``.
    public func apply(_ inputs: [Tensor]) -> Tensor {
        if let first = inputs.first {
            for t in inputs.dropFirst() where t.dtype != first.dtype {
                opError(name, "dtypes \(first.dtype) and \(t.dtype) differ; convert one with .to(_:)")
            }
        }
        let shape = outputShape(of: inputs)
        let flags = ThreadFlags.current
        let recording = !flags.pointee.gradDisabled
        // The forward pass sees plain values: a custom op's forward may use recorded ops.
        flags.pointee.gradDisabled = true
        let observer = flags.pointee.observer
        flags.pointee.observer = nil
        let output = forward(inputs, shape: shape)
        flags.pointee.observer = observer
        flags.pointee.gradDisabled = !recording
        if let observer { (observer as? any OpObserver)?.didApply(self, inputs: inputs, output: output) }
        // Closures rather than key paths (`\.requiresGrad`): a key path into
        // the tensor layer's class is not reduced to a plain call across modules.
        if recording && inputs.contains(where: { $0.requiresGrad }) {
            output.gradFn = Node(op: self, inputs: inputs, output: output)
        }
        if flags.pointee.anomalyScope != nil { checkForAnomaly(inputs, output) }
        if !flags.pointee.forwardSuspended && inputs.contains(where: { $0.tangent != nil }) {
            let tangents = inputs.map { $0.tangent }
            let primal = output.detach()
            let t = ForwardMode.with(suspended: true) { jvp(inputs, primal, tangents) }
            output.tangent = t.shape == output.shape ? t : t.expanded(to: output.shape)
        }
        return output
    }

    /// Anomaly detection: keeps where the op was applied for the reverse
    /// pass and checks the output (out of line: `apply` pays one nil check).
    @inline(never)
    private func checkForAnomaly(_ inputs: [Tensor], _ output: Tensor) {
        guard let scope = AnomalyScope.current, !scope.insideVJP else { return }
        // The stack is kept for the reverse pass only when a node was
        // recorded; a forward anomaly captures it when found.
        let node = output.gradFn
        let site = node == nil ? nil : CallSite.capture()
        node?.callSite = site
        scope.check(output, op: self, pass: .forward, inputs: inputs, site: site)
    }
}
