import AutogradNN
import AutogradOps
import AutogradTensor

/// Records a ``Graph`` while a closure runs eagerly on example inputs: every
/// op applied (forward and, through the eager engine's VJPs, backward),
/// every optimizer update and every `assign`.
///
/// Tensors are recognised by the memory they view (storage, offset, shape,
/// strides), so a `detach()`ed or re-wrapped view of a traced value is the
/// same value. A tensor the trace never produced is a constant of the graph:
/// parameters, optimizer state, and tensors made from Swift values inside
/// the closure. Reading a traced value back into Swift (``Tensor/item()``,
/// ``Tensor/scalars``) stops: the compiled function could not repeat it.
final class Tracer: OpObserver, OptimizerObserver {
    private struct ViewKey: Hashable {
        let storage: ObjectIdentifier
        let offset: Int
        let shape: [Int]
        let strides: [Int]

        init(_ t: Tensor) {
            storage = ObjectIdentifier(t.storage)
            offset = t.offset
            shape = t.shape
            strides = t.strides
        }
    }

    private(set) var graph = Graph()
    private var valueOf: [ViewKey: Int] = [:]
    private var bufferOf: [ObjectIdentifier: Int] = [:]
    /// Everything seen, kept alive so that no storage identifier is reused while tracing.
    private var keepAlive: [Tensor] = []
    /// Per buffer: its last in-place writer and the nodes that read it since.
    private var lastWriter: [Int: Int] = [:]
    private var readersSinceWrite: [Int: [Int]] = [:]
    /// Leaves whose `.grad` the traced backward set.
    private(set) var touchedLeaves: [Tensor] = []
    /// Set while the traced closure's backward runs.
    var inBackward = false
    /// Optimizers that already advanced in this trace.
    private var advanced: [ObjectIdentifier: Int] = [:]

    /// The tracer recording on this thread, if any.
    static var current: Tracer? {
        guard let observer = ThreadFlags.current.pointee.observer else { return nil }
        return observer as? Tracer
    }

    /// Runs `body` recording into this tracer.
    func recording<R>(_ body: () throws -> R) rethrows -> R {
        try ThreadFlags.observing(self, body)
    }

    /// Registers the function's inputs (contiguous tensors, made so by the caller).
    func addInput(_ t: Tensor) {
        keepAlive.append(t)
        let b = graph.addBuffer(elements: t.storage.count, dtype: t.dtype, source: .input(graph.inputs.count), producer: nil)
        bufferOf[ObjectIdentifier(t.storage)] = b
        let v = graph.addValue(buffer: b, shape: t.shape, strides: t.strides, offset: t.offset, dtype: t.dtype)
        valueOf[ViewKey(t)] = v
        graph.inputs.append(v)
    }

    /// The value of `t`: known, a new view of a known buffer, or a new constant.
    func value(of t: Tensor) -> Int {
        if let v = valueOf[ViewKey(t)] { return v }
        keepAlive.append(t)
        let b: Int
        if let known = bufferOf[ObjectIdentifier(t.storage)] {
            b = known
        } else {
            b = graph.addBuffer(elements: t.storage.count, dtype: t.dtype, source: .constant(t), producer: nil)
            bufferOf[ObjectIdentifier(t.storage)] = b
        }
        let v = graph.addValue(buffer: b, shape: t.shape, strides: t.strides, offset: t.offset, dtype: t.dtype)
        valueOf[ViewKey(t)] = v
        return v
    }

    /// True when `t` views memory a traced node computes (not an input or constant).
    func isComputed(_ t: Tensor) -> Bool {
        guard let b = bufferOf[ObjectIdentifier(t.storage)] else { return false }
        return graph.buffers[b].producer != nil
    }

    private func addNode(_ kind: Graph.Kind, inputs: [Int], output: Int?) -> Int {
        let n = graph.nodes.count
        var node = Graph.Node(kind: kind, inputs: inputs, output: output, order: Double(n))
        node.isBackward = inBackward
        // Reads after an in-place write wait for it.
        for v in inputs {
            let b = graph.values[v].buffer
            if let w = lastWriter[b], w != n { node.after.append(w) }
            readersSinceWrite[b, default: []].append(n)
        }
        graph.nodes.append(node)
        return n
    }

    /// Marks node `n` as writing the buffer of value `v` in place: it waits
    /// for every earlier reader, and later readers wait for it.
    private func write(_ n: Int, _ v: Int) {
        let b = graph.values[v].buffer
        let readers = (readersSinceWrite[b] ?? []).filter { $0 != n }
        graph.nodes[n].after.append(contentsOf: readers)
        if let w = lastWriter[b], w != n { graph.nodes[n].after.append(w) }
        lastWriter[b] = n
        readersSinceWrite[b] = []
    }

    /// Records one application of `op` (called by ``Primitive/apply(_:)``).
    func didApply(_ op: any Primitive, inputs: [Tensor], output: Tensor) {
        let ins = inputs.map { value(of: $0) }
        keepAlive.append(output)
        let n = graph.nodes.count
        if let b = bufferOf[ObjectIdentifier(output.storage)] {
            // The output views memory the op was given: a view (reshape, transpose, …).
            guard ins.contains(where: { graph.values[$0].buffer == b }) else {
                fatalError("compile: \(op.name) returned memory of a tensor it was not given; a traced op must return a new tensor or a view of an input")
            }
            let v = valueOf[ViewKey(output)]
                ?? graph.addValue(buffer: b, shape: output.shape, strides: output.strides, offset: output.offset, dtype: output.dtype)
            valueOf[ViewKey(output)] = v
            _ = addNode(.view(op), inputs: ins, output: v)
            return
        }
        let b = graph.addBuffer(elements: output.storage.count, dtype: output.dtype, source: .intermediate, producer: n)
        bufferOf[ObjectIdentifier(output.storage)] = b
        let v = graph.addValue(buffer: b, shape: output.shape, strides: output.strides, offset: output.offset, dtype: output.dtype)
        valueOf[ViewKey(output)] = v
        _ = addNode(.op(op), inputs: ins, output: v)
    }

    /// Records `optimizer.step()`: one advance, then an update per parameter with a gradient.
    func willStep(_ optimizer: Optimizer) {
        let id = ObjectIdentifier(optimizer)
        let advance = addNode(.advance(optimizer), inputs: [], output: nil)
        if let previous = advanced[id] { graph.nodes[advance].after.append(previous) }
        advanced[id] = advance
        for (i, p) in optimizer.parameters.enumerated() {
            guard let g = p.grad else { continue }
            guard isComputed(g) else {
                fatalError("compile: \(optimizer.kind).step(): the gradient of parameter \(i) (shape \(ShapeRules.describe(p.shape))) was not computed inside the compiled function; call backward() inside it, after zeroGrad()")
            }
            let n = addNode(.update(optimizer, index: i), inputs: [value(of: p), value(of: g)], output: nil)
            graph.nodes[n].after.append(advance)
            write(n, graph.nodes[n].inputs[0])
        }
    }

    /// Records `target.assign(source)`.
    func willAssign(_ target: Tensor, from source: Tensor) {
        guard !isComputed(target) else {
            fatalError("compile: assign writes into a tensor computed inside the compiled function (shape \(ShapeRules.describe(target.shape))); only captured tensors (parameters, buffers) can be assigned")
        }
        let n = addNode(.assign, inputs: [value(of: source), value(of: target)], output: nil)
        write(n, graph.nodes[n].inputs[1])
    }

    /// Notes that the traced backward gave `leaf` its gradient.
    func didAccumulateGradient(into leaf: Tensor) {
        touchedLeaves.append(leaf)
    }

    /// Sets the function's outputs.
    func finish(outputs: [Tensor]) {
        graph.outputs = outputs.map { value(of: $0) }
    }

    /// Stops when Swift code reads the values of a traced tensor: the
    /// compiled function would repeat the trace's answer, not compute a new one.
    func willRead(_ t: Tensor, _ what: String) {
        guard isComputed(t) || isInput(t) else { return }
        let producer = producerName(t)
        fatalError("compile: \(what) reads the values of a traced tensor (shape \(ShapeRules.describe(t.shape)), computed by \(producer)) while tracing; a compiled function cannot branch on or copy out tensor values. Return the tensor and read it after the call.")
    }

    /// Stops when a random tensor is drawn while tracing: it would be frozen into the graph.
    func willDrawRandom(_ what: String) {
        fatalError("compile: \(what) draws random numbers while tracing; the compiled function would repeat the same draw on every call. Draw outside and pass the tensor as an input (or evaluate without dropout).")
    }

    private func isInput(_ t: Tensor) -> Bool {
        guard let b = bufferOf[ObjectIdentifier(t.storage)] else { return false }
        if case .input = graph.buffers[b].source { return true }
        return false
    }

    private func producerName(_ t: Tensor) -> String {
        guard let b = bufferOf[ObjectIdentifier(t.storage)] else { return "nothing" }
        if let p = graph.buffers[b].producer { return graph.nodes[p].name }
        return "the function's input"
    }
}
