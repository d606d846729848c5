import AutogradNN
import AutogradOps
import AutogradTensor

/// Graph clean-up after tracing: common subexpressions merged, then dead
/// nodes dropped.
extension Graph {
    /// What two nodes must share to be merged: the op's identity (type, name,
    /// attributes), the input values, the kind of node and the writes it comes after.
    private struct NodeKey: Hashable {
        let op: OpIdentity
        let isView: Bool
        let inputs: [Int]
        let after: [Int]
    }

    /// Merges nodes that apply the same op (equal, non-nil ``Primitive/identity``)
    /// to the same values (reading in-place-written buffers at the same
    /// point), keeping the first. Ops without an identity are never merged.
    mutating func mergeCommonSubexpressions() -> Int {
        var seen: [NodeKey: Int] = [:]
        var replacement: [Int: Int] = [:]  // value → value
        var merged = 0
        // Buffers that more than one value views: their nodes are left alone.
        var viewsOfBuffer = [Int](repeating: 0, count: buffers.count)
        for v in values { viewsOfBuffer[v.buffer] += 1 }
        for n in nodes.indices {
            nodes[n].inputs = nodes[n].inputs.map { replacement[$0] ?? $0 }
            let key: NodeKey
            switch nodes[n].kind {
            case .op(let op), .view(let op):
                guard let identity = op.identity else { continue }
                var isView = false
                if case .view = nodes[n].kind { isView = true }
                key = NodeKey(op: identity, isView: isView, inputs: nodes[n].inputs, after: nodes[n].after.sorted())
            default:
                continue
            }
            guard let out = nodes[n].output else { continue }
            if let first = seen[key], let firstOut = nodes[first].output,
               values[firstOut].shape == values[out].shape, values[firstOut].strides == values[out].strides {
                if case .op = nodes[n].kind, viewsOfBuffer[values[out].buffer] != 1 { continue }
                replacement[out] = firstOut
                nodes[n].inputs = []
                nodes[n].output = nil
                merged += 1
            } else {
                seen[key] = n
            }
        }
        outputs = outputs.map { replacement[$0] ?? $0 }
        return merged
    }

    /// The nodes the outputs and the effects need, in trace order.
    func liveNodes() -> [Int] {
        var live = [Bool](repeating: false, count: nodes.count)
        var stack: [Int] = []
        for v in outputs { if let p = buffers[values[v].buffer].producer { stack.append(p) } }
        for (n, node) in nodes.enumerated() where node.hasEffect { stack.append(n) }
        while let n = stack.popLast() {
            guard !live[n] else { continue }
            live[n] = true
            for v in nodes[n].inputs {
                if let p = buffers[values[v].buffer].producer { stack.append(p) }
            }
        }
        return nodes.indices.filter { live[$0] && (nodes[$0].output != nil || nodes[$0].hasEffect) }
    }
}

extension Graph.Kind {
    var primitive: (any Primitive)? {
        switch self {
        case .op(let op), .view(let op): op
        default: nil
        }
    }
}
