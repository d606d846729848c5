import AutogradNN
import AutogradOps
import AutogradTensor
import CKernels

/// A traced graph made ready to run: simplified, scheduled, memory planned,
/// with a tensor made once for every value (a view of the arena, of a
/// captured tensor, or of the caller's input) and every node's input list
/// built once. Running it points the input views at the caller's tensors
/// (copying only a non-contiguous one) and calls each node's kernel on those
/// tensors: after the first run nothing is allocated.
final class Executable {
    let graph: Graph
    let order: [Int]
    let plan: MemoryPlan
    /// Shapes and dtypes of the inputs this plan was traced for.
    let inputShapes: [[Int]]
    let inputDTypes: [DType]
    /// Nodes merged as common subexpressions, and nodes fused into elementwise chains.
    let mergedNodes: Int
    let fusedNodes: Int

    private enum Step {
        case op(any Primitive, [Tensor], Tensor)
        case advance(Optimizer)
        case update(Optimizer, Int, parameter: Tensor, gradient: Tensor)
        case assign(source: Tensor, target: Tensor)
    }

    private let arenas: [DType: Storage]
    /// One tensor per value (nil for values no live node touches).
    let tensors: [Tensor?]
    private let steps: [Step]
    /// Per input: storage borrowing the caller's memory, and a buffer of our
    /// own for callers whose tensor is not contiguous.
    private let inputStorages: [Storage]
    private let inputCopies: [Tensor]
    let outputTensors: [Tensor]

    init(tracedGraph: Graph, inputShapes: [[Int]], inputDTypes: [DType], options: CompileOptions) {
        var graph = tracedGraph
        mergedNodes = graph.mergeCommonSubexpressions()
        if options.checkpointing != .none {
            graph.checkpoint(options.checkpointing)
        }
        fusedNodes = options.fusesElementwise ? graph.fuseGemmEpilogues() + graph.fuseElementwiseChains() : 0
        let live = graph.liveNodes()
        order = graph.schedule(live)
        plan = MemoryPlan(graph, order: order, reuse: options.reusesMemory)
        self.graph = graph
        self.inputShapes = inputShapes
        self.inputDTypes = inputDTypes

        var arenas: [DType: Storage] = [:]
        for (dtype, bytes) in plan.arenaBytes {
            arenas[dtype] = Storage(count: bytes / dtype.byteSize, dtype: dtype)
        }
        self.arenas = arenas
        var inputStorages: [Storage] = [], inputCopies: [Tensor] = []
        for v in graph.inputs {
            let value = graph.values[v]
            let copy = Tensor(uninitializedShape: value.shape, dtype: value.dtype)
            inputCopies.append(copy)
            inputStorages.append(Storage(borrowing: copy.storage.base, count: graph.buffers[value.buffer].elements,
                                         dtype: value.dtype))
        }
        self.inputStorages = inputStorages
        self.inputCopies = inputCopies
        var tensors = [Tensor?](repeating: nil, count: graph.values.count)
        for (v, value) in graph.values.enumerated() {
            let buffer = graph.buffers[value.buffer]
            switch buffer.source {
            case .constant(let t):
                tensors[v] = Tensor(storage: t.storage, shape: value.shape, strides: value.strides, offset: value.offset)
            case .input(let i):
                tensors[v] = Tensor(storage: inputStorages[i], shape: value.shape, strides: value.strides, offset: value.offset)
            case .intermediate:
                guard let offset = plan.offsets[value.buffer], let arena = arenas[value.dtype] else { continue }
                tensors[v] = Tensor(storage: arena, shape: value.shape, strides: value.strides,
                                    offset: offset / value.dtype.byteSize + value.offset)
            }
        }
        self.tensors = tensors
        func tensor(_ v: Int) -> Tensor { tensors[v]! }
        var steps: [Step] = []
        for n in order {
            let node = graph.nodes[n]
            switch node.kind {
            case .op(let op): steps.append(.op(op, node.inputs.map(tensor), tensor(node.output!)))
            case .view: continue
            case .advance(let optimizer): steps.append(.advance(optimizer))
            case .update(let optimizer, let index):
                steps.append(.update(optimizer, index, parameter: tensor(node.inputs[0]), gradient: tensor(node.inputs[1])))
            case .assign: steps.append(.assign(source: tensor(node.inputs[0]), target: tensor(node.inputs[1])))
            }
        }
        self.steps = steps
        outputTensors = graph.outputs.map(tensor)
    }

    /// True when `inputs` have the shapes and dtypes this plan was traced for.
    func matches(_ inputs: [Tensor]) -> Bool {
        guard inputs.count == inputShapes.count else { return false }
        for i in inputs.indices where inputs[i].shape != inputShapes[i] || inputs[i].dtype != inputDTypes[i] {
            return false
        }
        return true
    }

    /// Runs the plan on `inputs` (of the traced shapes); returns the output
    /// tensors, which view the arena until the next run (an output that is
    /// an input views that input).
    func run(_ inputs: [Tensor]) -> [Tensor] {
        let flags = ThreadFlags.current
        let saved = flags.pointee
        flags.pointee.gradDisabled = true
        flags.pointee.forwardSuspended = true
        flags.pointee.observer = nil
        defer { flags.pointee = saved }
        for (i, input) in inputs.enumerated() {
            if input.isContiguous {
                inputStorages[i].rebind(input.pointer)
            } else {
                input.copyValues(into: inputCopies[i])
                inputStorages[i].rebind(inputCopies[i].pointer)
            }
        }
        for step in steps {
            switch step {
            case .op(let op, let ins, let out):
                if !op.forward(ins, into: out) {
                    op.forward(ins, shape: out.shape).copyValues(into: out)
                }
            case .advance(let optimizer):
                optimizer.stepCount += 1
            case .update(let optimizer, let index, let p, let g):
                optimizer.apply(index, p, g)
                p.bumpVersion()
            case .assign(let source, let target):
                source.copyValues(into: target)
                target.bumpVersion()
            }
        }
        return outputTensors
    }
}
