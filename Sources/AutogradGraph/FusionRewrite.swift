import AutogradNN
import AutogradOps
import AutogradTensor

/// What the fusion passes share: a plan-only op kind, who reads each
/// buffer, and folding a group of nodes into one.

/// An op the compiler makes out of traced nodes: it exists only inside
/// compiled plans and is never differentiated (the ops it replaced carry the
/// derivatives), so it has no VJP or JVP of its own.
protocol PlanOnlyPrimitive: Primitive {}

extension PlanOnlyPrimitive {
    func vjp(_ inputs: [Tensor], _ output: Tensor, _ grad: Tensor, _ needs: [Bool]) -> [Tensor?] {
        fatalError("\(name): a fused node exists only inside a compiled plan and is never differentiated; the ops it replaced carry the derivatives")
    }

    func jvp(_ inputs: [Tensor], _ output: Tensor, _ tangents: [Tensor?]) -> Tensor {
        fatalError("\(name): a fused node exists only inside a compiled plan and is never differentiated; the ops it replaced carry the derivatives")
    }
}

extension Graph {
    /// For each node, the one node that reads its output, when that output
    /// can be folded away: a buffer viewed by no other value, read by no
    /// other node, and not an output of the function.
    func soleReaders() -> [Int: Int] {
        var readers = [Int: [Int]]()  // buffer → nodes reading it
        var valuesOn = [Int](repeating: 0, count: buffers.count)
        for v in values { valuesOn[v.buffer] += 1 }
        for (n, node) in nodes.enumerated() where node.output != nil || node.hasEffect {
            for b in Set(node.inputs.map { values[$0].buffer }) { readers[b, default: []].append(n) }
        }
        let pinned = Set(outputs.map { values[$0].buffer })
        var sole: [Int: Int] = [:]
        for (n, node) in nodes.enumerated() {
            guard let out = node.output else { continue }
            let b = values[out].buffer
            if !pinned.contains(b), valuesOn[b] == 1, let r = readers[b], r.count == 1 { sole[n] = r[0] }
        }
        return sole
    }

    /// Replaces the nodes `members` by one node at `tail` (the last of them)
    /// running `op` on `inputs`: the others die, and ordering edges to or
    /// from any of them now go to or from `tail`.
    mutating func fold(_ members: [Int], into tail: Int, op: any Primitive, inputs: [Int]) {
        let group = Set(members)
        let after = members.flatMap { nodes[$0].after }.filter { !group.contains($0) }
        for n in members where n != tail {
            nodes[n].output = nil
            nodes[n].inputs = []
        }
        nodes[tail].kind = .op(op)
        nodes[tail].inputs = inputs
        nodes[tail].after = after
        for k in nodes.indices {
            nodes[k].after = nodes[k].after.map { group.contains($0) ? tail : $0 }.filter { $0 != k }
        }
    }
}
