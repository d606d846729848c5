import AutogradNN
import AutogradOps
import AutogradTensor

/// The order a compiled graph runs its nodes in: a topological order chosen
/// greedily to keep memory low. Among the nodes whose inputs are ready, it
/// runs the one that adds the fewest bytes (its new buffer minus the buffers
/// it is the last reader of), ties going to the earlier node in the trace.
/// Recomputations (gradient checkpointing) run only when nothing else can:
/// just in time for the reverse pass that reads them.
/// Deterministic: the same graph always gets the same order.
extension Graph {
    func schedule(_ live: [Int]) -> [Int] {
        let isLive = Set(live)
        var waitingOn = [Int: Int]()      // node → unscheduled dependencies
        var dependents = [Int: [Int]]()   // node → nodes waiting on it
        for n in live {
            let deps = Set(dependencies(of: n).filter { isLive.contains($0) && $0 != n })
            waitingOn[n] = deps.count
            for d in deps { dependents[d, default: []].append(n) }
        }
        // Readers left per arena buffer; outputs' buffers are never freed.
        var readersLeft = [Int](repeating: 0, count: buffers.count)
        for n in live {
            for b in Set(nodes[n].inputs.map { values[$0].buffer }) { readersLeft[b] += 1 }
        }
        let pinned = Set(outputs.map { values[$0].buffer })

        var ready = live.filter { waitingOn[$0] == 0 }
        var order: [Int] = []
        order.reserveCapacity(live.count)
        while !ready.isEmpty {
            var best = 0, bestScore = Int.max, bestOrder = Double.infinity
            let lazyOnly = ready.allSatisfy { nodes[$0].isRecompute }
            for (i, n) in ready.enumerated() where lazyOnly || !nodes[n].isRecompute {
                var score = 0
                if lazyOnly {
                    // Among recomputations, the one the reverse pass needs first.
                } else if case .op = nodes[n].kind, let out = nodes[n].output {
                    score += buffers[values[out].buffer].bytes
                }
                for b in Set(nodes[n].inputs.map { values[$0].buffer })
                where !lazyOnly && readersLeft[b] == 1 && buffers[b].isArena && !pinned.contains(b) {
                    score -= buffers[b].bytes
                }
                if score < bestScore || (score == bestScore && nodes[n].order < bestOrder) {
                    best = i; bestScore = score; bestOrder = nodes[n].order
                }
            }
            let n = ready.remove(at: best)
            order.append(n)
            for b in Set(nodes[n].inputs.map { values[$0].buffer }) { readersLeft[b] -= 1 }
            for d in dependents[n] ?? [] {
                waitingOn[d]! -= 1
                if waitingOn[d] == 0 { ready.append(d) }
            }
        }
        precondition(order.count == live.count, "compile: the traced graph has a cycle")
        return order
    }
}
