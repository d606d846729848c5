import AutogradNN
import AutogradOps
import AutogradTensor

/// A static graph traced from a Swift closure by ``compile(options:_:)``:
/// buffers (memory), values (views of buffers) and nodes (op applications
/// and in-place effects), in trace order.
///
/// The nodes hold the same ``Primitive`` definitions eager mode runs; the
/// reverse pass is in the graph as ordinary nodes, because tracing records
/// the ops the eager engine's VJPs apply.
struct Graph {
    /// Where a buffer's memory comes from when the compiled function runs.
    enum Source {
        /// The function's input `index`: the caller's memory, borrowed for the call.
        case input(Int)
        /// Memory outside the graph that the closure captured (parameters,
        /// optimizer state, constants made while tracing): read in place.
        case constant(Tensor)
        /// Produced by a node: a slot of the arena.
        case intermediate
    }

    struct Buffer {
        var elements: Int
        var dtype: DType
        var source: Source
        /// The node that fills it (nil for inputs and constants).
        var producer: Int?

        var bytes: Int { elements * dtype.byteSize }
        /// Planned in the arena: what nodes compute.
        var isArena: Bool {
            if case .intermediate = source { return true }
            return false
        }
    }

    /// A view of a buffer: what an op reads or writes.
    struct Value {
        var buffer: Int
        var shape: [Int]
        var strides: [Int]
        var offset: Int
        var dtype: DType

        var isContiguous: Bool {
            var expected = 1
            for i in stride(from: shape.count - 1, through: 0, by: -1) where shape[i] != 1 {
                if strides[i] != expected { return false }
                expected *= shape[i]
            }
            return true
        }
    }

    enum Kind {
        /// An op writing a new buffer.
        case op(any Primitive)
        /// An op whose output is a view of its input's buffer: nothing runs.
        case view(any Primitive)
        /// `optimizer.stepCount += 1`, once per step, before its updates.
        case advance(Optimizer)
        /// The optimizer's fused update of parameter `index` (inputs: parameter, gradient).
        case update(Optimizer, index: Int)
        /// `target.assign(source)` (inputs: source, target).
        case assign
    }

    struct Node {
        var kind: Kind
        var inputs: [Int]
        var output: Int?
        /// Nodes that must run first although no value flows from them:
        /// readers of a buffer before an in-place write to it, and the reverse.
        var after: [Int] = []
        /// Position in the trace: the tie-breaker of the scheduler.
        var order: Double
        /// Recorded while the reverse pass was being traced.
        var isBackward = false
        /// A recomputation inserted by gradient checkpointing.
        var isRecompute = false

        var name: String {
            switch kind {
            case .op(let op), .view(let op): op.name
            case .advance: "optimizer.advance"
            case .update(let opt, let i): "\(opt.kind).update[\(i)]"
            case .assign: "assign"
            }
        }

        var hasEffect: Bool {
            switch kind {
            case .advance, .update, .assign: true
            default: false
            }
        }

        /// The buffer this node writes in place (for effects).
        func writtenValue() -> Int? {
            switch kind {
            case .update: inputs[0]
            case .assign: inputs[1]
            default: nil
            }
        }
    }

    var buffers: [Buffer] = []
    var values: [Value] = []
    var nodes: [Node] = []
    /// The function's inputs and outputs, as values.
    var inputs: [Int] = []
    var outputs: [Int] = []

    mutating func addBuffer(elements: Int, dtype: DType, source: Source, producer: Int?) -> Int {
        buffers.append(Buffer(elements: elements, dtype: dtype, source: source, producer: producer))
        return buffers.count - 1
    }

    mutating func addValue(buffer: Int, shape: [Int], strides: [Int], offset: Int, dtype: DType) -> Int {
        values.append(Value(buffer: buffer, shape: shape, strides: strides, offset: offset, dtype: dtype))
        return values.count - 1
    }

    /// The nodes node `n` waits for: producers of its inputs' buffers and its
    /// `after` list (which may name nodes that turned out dead).
    func dependencies(of n: Int) -> [Int] {
        var deps = nodes[n].after
        for v in nodes[n].inputs {
            if let p = buffers[values[v].buffer].producer, p != n { deps.append(p) }
        }
        return deps
    }
}
