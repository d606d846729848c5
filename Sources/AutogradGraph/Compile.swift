import AutogradNN
import AutogradOps
import AutogradTensor

/// How ``compile(options:_:)`` builds its plans.
public struct CompileOptions: Sendable {
    /// Gradient checkpointing of the traced reverse pass.
    public var checkpointing: Checkpointing
    /// Share arena memory between buffers whose lifetimes don't overlap, and
    /// write in place where an input dies at the op that reads it. Off, every
    /// buffer has memory of its own (for comparison).
    public var reusesMemory: Bool
    /// Fuse: chains of elementwise ops into one pass over memory, and a
    /// `matmul` followed by a row bias (and an activation) into one GEMM with
    /// an epilogue.
    public var fusesElementwise: Bool

    public init(checkpointing: Checkpointing = .none, reusesMemory: Bool = true, fusesElementwise: Bool = true) {
        self.checkpointing = checkpointing
        self.reusesMemory = reusesMemory
        self.fusesElementwise = fusesElementwise
    }
}

/// Which forward values a compiled training step keeps for its reverse pass.
public enum Checkpointing: Sendable, Equatable {
    /// Keep every value the reverse pass reads (fastest).
    case none
    /// Keep one value in every √n forward ops and recompute the rest when the
    /// reverse pass reaches them: memory like √n, for about one extra forward pass.
    case sqrt
    /// Keep one value every `k` forward ops.
    case every(Int)
}

/// What a compiled plan's memory planner decided, in bytes.
public struct MemoryReport: Sendable, CustomStringConvertible {
    /// Size of the arena (all dtypes): the memory the plan runs in.
    public let arenaBytes: Int
    /// The sum of all intermediate and gradient buffers, as if none shared memory.
    public let noReuseBytes: Int
    /// The most bytes live at one point of the schedule.
    public let peakLiveBytes: Int
    /// Nodes scheduled (views and effects included) and buffers planned.
    public let nodes: Int
    public let buffers: Int
    /// Outputs written in place over a dying input.
    public let inPlaceWrites: Int
    /// Nodes merged as common subexpressions.
    public let mergedNodes: Int
    /// Nodes folded into fused elementwise chains or GEMM epilogues (their values get no buffer).
    public let fusedNodes: Int

    public var description: String {
        func mib(_ b: Int) -> String {
            b < 1 << 20 ? String(format: "%.1f KiB", Double(b) / 1024) : String(format: "%.2f MiB", Double(b) / 1_048_576)
        }
        return "arena \(mib(arenaBytes)), without reuse \(mib(noReuseBytes)), largest live set \(mib(peakLiveBytes)); \(nodes) nodes, \(buffers) buffers, \(inPlaceWrites) in place, \(mergedNodes) merged, \(fusedNodes) fused"
    }
}

/// A Swift function of tensors, traced once per input signature into a
/// static graph, then run from its plan: scheduled to keep memory low, in
/// one pre-planned arena, without heap allocation. See ``compile(options:_:)``.
///
/// The tensors a call returns are views of the plan's arena: they hold the
/// results until the next call of the same function. Copy one
/// (`.contiguous()`, `.item()`, `.scalars`) to keep it longer.
public final class CompiledFunction {
    private let body: ([Tensor]) -> [Tensor]
    public let options: CompileOptions
    private var plans: [Executable] = []
    private var arguments: [Tensor] = []
    /// How many times the function has been traced (once per new input signature).
    public private(set) var traceCount = 0

    /// Compiles a function of any number of tensors to any number of tensors.
    ///
    /// ```swift
    /// let f = CompiledFunction { xs in [xs[0] * xs[1] + 1, xs[0].sum()] }
    /// let outs = f([a, b])
    /// ```
    public init(options: CompileOptions = CompileOptions(), _ body: @escaping ([Tensor]) -> [Tensor]) {
        self.body = body
        self.options = options
    }

    /// Runs the function: from a plan traced for these shapes and dtypes, or
    /// by tracing it now (the tracing call runs the closure eagerly).
    public func callAsFunction(_ inputs: [Tensor]) -> [Tensor] {
        // Called while another function is being traced: its ops belong to that trace.
        if Tracer.current != nil { return body(inputs) }
        for plan in plans where plan.matches(inputs) {
            return plan.run(inputs)
        }
        return trace(inputs)
    }

    /// Runs a one-argument function; returns its first output.
    public func callAsFunction(_ a: Tensor) -> Tensor {
        arguments.removeAll(keepingCapacity: true)
        arguments.append(a)
        return firstOutput()
    }

    /// Runs a two-argument function; returns its first output.
    public func callAsFunction(_ a: Tensor, _ b: Tensor) -> Tensor {
        arguments.removeAll(keepingCapacity: true)
        arguments.append(a)
        arguments.append(b)
        return firstOutput()
    }

    /// Runs a three-argument function; returns its first output.
    public func callAsFunction(_ a: Tensor, _ b: Tensor, _ c: Tensor) -> Tensor {
        arguments.removeAll(keepingCapacity: true)
        arguments.append(a)
        arguments.append(b)
        arguments.append(c)
        return firstOutput()
    }

    private func firstOutput() -> Tensor {
        let outputs = self(arguments)
        guard let first = outputs.first else {
            fatalError("compiled function: it returned no tensors")
        }
        return first
    }

    private func trace(_ inputs: [Tensor]) -> [Tensor] {
        let tracer = Tracer()
        // The trace sees fresh contiguous copies, which is what later calls' inputs are copied into.
        let traced = inputs.map { $0.contiguousCopyDetached() }
        for t in traced { tracer.addInput(t) }
        let outputs = tracer.recording { body(traced) }
        tracer.finish(outputs: outputs)
        for leaf in tracer.touchedLeaves where leaf.grad.map(tracer.isComputed) ?? false {
            leaf.grad = nil
        }
        plans.append(Executable(tracedGraph: tracer.graph, inputShapes: inputs.map { $0.shape },
                                inputDTypes: inputs.map { $0.dtype }, options: options))
        traceCount += 1
        return outputs.map { $0.detach() }
    }

    /// The plan for inputs of these shapes and dtypes (traced by an earlier call), if any.
    func plan(for inputs: [Tensor]) -> Executable? {
        plans.first { $0.matches(inputs) }
    }

    /// What the memory planner decided for the plan of these inputs' shapes
    /// (nil until a call with such inputs has traced it).
    public func memoryReport(for inputs: [Tensor]) -> MemoryReport? {
        plan(for: inputs)?.memoryReport
    }

    /// The plan for these inputs' shapes as Graphviz DOT: every op with its
    /// shapes and the arena slot of each tensor (nil until traced).
    public func dot(for inputs: [Tensor], title: String = "compiled") -> String? {
        plan(for: inputs)?.dot(title: title)
    }
}

extension Executable {
    var memoryReport: MemoryReport {
        MemoryReport(arenaBytes: plan.arenaBytes.values.reduce(0, +), noReuseBytes: plan.noReuseBytes,
                     peakLiveBytes: plan.peakLiveBytes, nodes: order.count,
                     buffers: Set(order.compactMap { graph.nodes[$0].output }.map { graph.values[$0].buffer }).count
                        + graph.inputs.count,
                     inPlaceWrites: plan.inPlace.count, mergedNodes: mergedNodes, fusedNodes: fusedNodes)
    }
}

/// Compiles a function of one tensor: traced on its first call, then run from
/// a plan for each input shape (a new shape traces again).
///
/// The closure may be an inference function or a whole training step —
/// forward, loss, `backward()`, `optimizer.step()`: the reverse pass and the
/// updates become nodes of the graph, and parameters and optimizer state
/// stay the model's, updated in place.
///
/// ```swift
/// let predict = compile { (x: Tensor) in softmax(model(x), axis: 1) }
/// let p = predict(batch)          // traces, runs eagerly
/// let q = predict(nextBatch)      // runs the plan
/// ```
///
/// A compiled function cannot look at tensor values while tracing (`item()`,
/// `scalars`, random draws, `clipGradientNorm` stop with a message naming
/// the op); tensors it captures or makes from Swift values are constants.
/// It leaves parameters' `.grad` nil: gradients live in the arena.
public func compile(options: CompileOptions = CompileOptions(), _ body: @escaping (Tensor) -> Tensor) -> CompiledFunction {
    CompiledFunction(options: options) { xs in
        guard xs.count == 1 else { fatalError("compiled function: called with \(xs.count) tensors; it takes 1") }
        return [body(xs[0])]
    }
}

/// Compiles a function of two tensors (say, a batch and its labels); see
/// the one-tensor `compile(options:_:)`.
///
/// ```swift
/// let step = compile { (x: Tensor, y: Tensor) -> Tensor in
///     optimizer.zeroGrad()
///     let loss = crossEntropy(logits: model(x), labels: y)
///     loss.backward()
///     optimizer.step()
///     return loss
/// }
/// for batch in loader { print(step(batch.inputs, batch.labelTensor()).item()) }
/// ```
public func compile(options: CompileOptions = CompileOptions(),
                    _ body: @escaping (Tensor, Tensor) -> Tensor) -> CompiledFunction {
    CompiledFunction(options: options) { xs in
        guard xs.count == 2 else { fatalError("compiled function: called with \(xs.count) tensors; it takes 2") }
        return [body(xs[0], xs[1])]
    }
}

/// Compiles a function of three tensors; see the one-tensor `compile(options:_:)`.
public func compile(options: CompileOptions = CompileOptions(),
                    _ body: @escaping (Tensor, Tensor, Tensor) -> Tensor) -> CompiledFunction {
    CompiledFunction(options: options) { xs in
        guard xs.count == 3 else { fatalError("compiled function: called with \(xs.count) tensors; it takes 3") }
        return [body(xs[0], xs[1], xs[2])]
    }
}
