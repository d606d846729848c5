import AutogradTensor
import Synchronization

/// The eager reverse pass, after PyTorch's engine: count each node's
/// consumers, sum incoming gradients in a per-node buffer, run a node once all
/// its consumers have reported, and release what it saved as soon as it has
/// run. Iterative throughout, so a graph of any depth fits on the stack.
enum BackwardEngine {
    private static let passCounter = Atomic<UInt64>(0)

    /// A number no earlier pass used.
    static func nextPass() -> UInt64 {
        passCounter.add(1, ordering: .relaxed).newValue
    }

    /// Runs the reverse pass from `root` seeded with `seed`.
    ///
    /// With `capture` nil, gradients accumulate into the `.grad` of leaves.
    /// Otherwise nothing accumulates, and the gradient reaching each captured
    /// tensor is returned (nil where none arrives).
    static func run(root: Tensor, seed: Tensor, retainGraph: Bool, createGraph: Bool,
                    capture: [Tensor]?) -> [Tensor?] {
        let observer = ThreadFlags.opObserver
        let wasInBackward = observer?.inBackward ?? false
        observer?.inBackward = true
        defer { observer?.inBackward = wasInBackward }
        return GradMode.with(enabled: createGraph) {
            execute(root: root, seed: seed, retainGraph: retainGraph, createGraph: createGraph,
                    capture: capture)
        }
    }

    private static func execute(root: Tensor, seed: Tensor, retainGraph: Bool, createGraph: Bool,
                                capture: [Tensor]?) -> [Tensor?] {
        var captured = [Tensor?](repeating: nil, count: capture?.count ?? 0)
        // Where captured gradients are read: a leaf by identity, a non-leaf at its node.
        var leafSlots: [ObjectIdentifier: [Int]] = [:]
        var nodeSlots: [ObjectIdentifier: [Int]] = [:]
        for (i, t) in (capture ?? []).enumerated() {
            if let node = t.gradFn {
                nodeSlots[ObjectIdentifier(node), default: []].append(i)
            } else {
                leafSlots[ObjectIdentifier(t), default: []].append(i)
            }
        }

        // Storages already handed to a leaf's .grad in this pass (and the
        // seed's): a gradient in one of them is copied, so that no two .grad
        // tensors, nor .grad and the caller's seed, share memory.
        var claimed = Set<ObjectIdentifier>(minimumCapacity: 32)
        claimed.insert(ObjectIdentifier(seed.storage))
        func deliverToLeaf(_ leaf: Tensor, _ g: Tensor) {
            if capture != nil {
                for slot in leafSlots[ObjectIdentifier(leaf)] ?? [] {
                    captured[slot] = captured[slot].map { $0 + g } ?? g
                }
            } else if leaf.requiresGrad {
                accumulate(g, into: leaf, createGraph: createGraph, claimed: &claimed)
            }
        }

        guard let rootNode = root.gradFn else {
            deliverToLeaf(root, seed)
            return captured
        }

        // Count, for each node, the edges from its consumers. The counts and
        // gradient buffers live on the nodes, stamped with this pass's number.
        // A node stays alive until it has run through its `passOutput`, whose
        // gradFn it is; once run, it goes as soon as nothing else holds it.
        let pass = nextPass()
        var discovered = 1
        var stack: [Node] = [rootNode]
        stack.reserveCapacity(64)
        rootNode.visitedPass = pass
        rootNode.pendingConsumers = 0
        rootNode.passOutput = root
        while let node = stack.popLast() {
            if node.released {
                fatalError(
                    "backward: trying to go through the graph a second time (at \(node.op.name)); its saved values were released. Pass retainGraph: true to the first backward.")
            }
            for input in node.inputs {
                guard let child = input.gradFn else { continue }
                if child.visitedPass != pass {
                    child.visitedPass = pass
                    child.pendingConsumers = 0
                    child.gradBuffer = nil
                    child.passOutput = input
                    discovered += 1
                    stack.append(child)
                }
                child.pendingConsumers += 1
            }
        }

        rootNode.gradBuffer = seed
        var ready: [Node] = [rootNode]
        let anomalyScope = AnomalyScope.current
        ready.reserveCapacity(discovered)
        while let node = ready.popLast() {
            let grad = node.gradBuffer
            node.gradBuffer = nil
            // Its gradFn is this node: when the pass is recorded (createGraph),
            // a VJP that uses the output differentiates through it.
            let output = node.passOutput!
            node.passOutput = nil
            if let grad, !nodeSlots.isEmpty, let slots = nodeSlots[ObjectIdentifier(node)] {
                for slot in slots { captured[slot] = grad }
            }
            let inputs = node.inputs
            let op = node.op
            // Empty when no gradient reached this node: its inputs get none
            // either. A node of one input gets its gradient without arrays.
            var inputGrads: [Tensor?] = []
            var onlyInputGrad: Tensor?
            if let grad {
                node.checkVersions(output: output)
                // The ops a VJP applies are checked as the VJP's result below.
                anomalyScope?.insideVJP = true
                defer { anomalyScope?.insideVJP = false }
                if inputs.count == 1 {
                    onlyInputGrad = op.vjpOfOnlyInput(inputs, output, grad)
                } else {
                    inputGrads = op.vjp(inputs, output, grad, BackwardEngine.needs(inputs))
                    precondition(inputGrads.count == inputs.count,
                                 "\(op.name): vjp returned \(inputGrads.count) gradients for \(inputs.count) inputs")
                }
            }
            if !retainGraph { node.release() }
            for (i, input) in inputs.enumerated() {
                let raw = inputs.count == 1 ? onlyInputGrad : (inputGrads.isEmpty ? nil : inputGrads[i])
                let g = raw.map { reduceBroadcast($0, to: input.shape, op: op) }
                if let g, let scope = anomalyScope {
                    scope.check(g, op: op, pass: .backward, inputs: inputs, input: i, site: node.callSite)
                }
                if let child = input.gradFn {
                    if let g {
                        child.gradBuffer = child.gradBuffer.map { $0 + g } ?? g
                    }
                    child.pendingConsumers -= 1
                    if child.pendingConsumers == 0 { ready.append(child) }
                } else if let g, input.requiresGrad {
                    deliverToLeaf(input, g)
                }
            }
        }
        return captured
    }

    private static let allNeeded: [[Bool]] = (0...4).map { [Bool](repeating: true, count: $0) }

    /// Which inputs want a gradient; a shared array when all of a few do (the usual case), to allocate none.
    static func needs(_ inputs: [Tensor]) -> [Bool] {
        if inputs.count < allNeeded.count && inputs.allSatisfy({ $0.requiresGrad }) { return allNeeded[inputs.count] }
        return inputs.map { $0.requiresGrad }
    }

    /// Sums a gradient shaped like a broadcast result back to the input's shape.
    static func reduceBroadcast(_ g: Tensor, to shape: [Int], op: any Primitive) -> Tensor {
        if g.shape == shape { return g }
        guard ShapeRules.broadcast(g.shape, shape) == g.shape else {
            fatalError("\(op.name): vjp produced a gradient of shape \(ShapeRules.describe(g.shape)) for an input of shape \(ShapeRules.describe(shape))")
        }
        return g.sum(toShape: shape)
    }

    private static func accumulate(_ g: Tensor, into leaf: Tensor, createGraph: Bool,
                                   claimed: inout Set<ObjectIdentifier>) {
        let observer = ThreadFlags.opObserver
        observer?.didAccumulateGradient(into: leaf)
        if let existing = leaf.grad {
            leaf.grad = existing + g  // a new tensor either way
            return
        }
        if createGraph {
            leaf.grad = g
            return
        }
        // A gradient that exactly fills a storage nobody else was given becomes
        // .grad as it is; a view (an expand, a slice) or a shared one is copied.
        let whole = g.isContiguous && g.offset == 0 && g.storage.count == g.scalarCount
        if whole && claimed.insert(ObjectIdentifier(g.storage)).inserted {
            leaf.grad = g.detach()
        } else {
            // While tracing, the copy is an op, so the graph sees where .grad comes from.
            let own = observer == nil ? g.contiguousCopyDetached() : Contiguous()(g)
            claimed.insert(ObjectIdentifier(own.storage))
            leaf.grad = own
        }
    }
}

extension Tensor {
    /// Computes the gradient of this tensor with respect to every leaf that
    /// requires grad, accumulating into their ``grad``.
    ///
    /// A scalar needs no seed; any other tensor needs `seed`, a gradient of
    /// its own shape (the vector in the vector-Jacobian product).
    ///
    /// - Parameters:
    ///   - seed: the output gradient; `nil` for a one-element tensor (means 1).
    ///   - retainGraph: keep the saved values so backward can run again
    ///     (defaults to `createGraph`).
    ///   - createGraph: record the backward pass itself, so the gradients can
    ///     be differentiated again.
    ///
    /// ```swift
    /// let x = Tensor([2.0, 3.0]).requiringGrad()
    /// (x * x).sum().backward()
    /// print(x.grad!)  // tensor([4., 6.], ...)
    /// ```
    public func backward(_ seed: Tensor? = nil, retainGraph: Bool? = nil, createGraph: Bool = false) {
        guard requiresGrad else {
            fatalError("backward: the tensor does not require grad and has no recorded graph (shape \(ShapeRules.describe(shape)))")
        }
        _ = BackwardEngine.run(root: self, seed: validatedSeed(seed, op: "backward"),
                               retainGraph: retainGraph ?? createGraph,
                               createGraph: createGraph, capture: nil)
    }

    func validatedSeed(_ seed: Tensor?, op: String) -> Tensor {
        guard let seed else {
            guard scalarCount == 1 else {
                fatalError("\(op): a seed gradient is needed for a non-scalar output of shape \(ShapeRules.describe(shape)); pass one of the same shape, or reduce first (e.g. .sum())")
            }
            return Tensor.ones(shape, dtype: dtype)
        }
        guard seed.shape == shape else {
            opError(op, "seed shape \(ShapeRules.describe(seed.shape)) does not match output shape \(ShapeRules.describe(shape))")
        }
        guard seed.dtype == dtype else {
            opError(op, "seed dtype \(seed.dtype) does not match output dtype \(dtype)")
        }
        return seed
    }

    /// A contiguous copy cut off from the graph.
    package func contiguousCopyDetached() -> Tensor {
        let out = Tensor(uninitializedShape: shape, dtype: dtype)
        copyValues(into: out)
        return out
    }
}

/// The gradients of `output` with respect to each of `inputs`, returned
/// rather than accumulated into `.grad` (like `torch.autograd.grad`).
///
/// An input that `output` does not depend on gets zeros.
///
/// ```swift
/// let x = Tensor([3.0]).requiringGrad()
/// let dx = grad(of: (x * x * x).sum(), withRespectTo: [x], createGraph: true)[0]  // 3x² = 27
/// let ddx = grad(of: dx.sum(), withRespectTo: [x])[0]                                 // 6x = 18
/// ```
public func grad(of output: Tensor, withRespectTo inputs: [Tensor], seed: Tensor? = nil,
                 retainGraph: Bool? = nil, createGraph: Bool = false) -> [Tensor] {
    for (i, x) in inputs.enumerated() where !x.requiresGrad {
        fatalError("grad(of:withRespectTo:): input \(i) (shape \(ShapeRules.describe(x.shape))) does not require grad")
    }
    let result: [Tensor?]
    if output.requiresGrad {
        result = BackwardEngine.run(root: output, seed: output.validatedSeed(seed, op: "grad(of:withRespectTo:)"),
                                    retainGraph: retainGraph ?? createGraph,
                                    createGraph: createGraph, capture: inputs)
    } else {
        result = Array(repeating: nil, count: inputs.count)
    }
    return zip(result, inputs).map { g, x in
        guard let g else { return Tensor.zeros(like: x) }
        return g.shape == x.shape ? g : g.expanded(to: x.shape)
    }
}
