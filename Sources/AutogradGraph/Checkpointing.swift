import AutogradNN
import AutogradOps
import AutogradTensor

/// Gradient checkpointing (Chen et al. 2016, "Training Deep Nets with
/// Sublinear Memory Cost"): of the forward values the reverse pass reads,
/// keep only segment boundaries and recompute the rest from them when the
/// reverse pass reaches their segment. With segments of √n nodes in an
/// n-layer chain, memory grows like √n for about one extra forward pass.
extension Graph {
    mutating func checkpoint(_ policy: Checkpointing) {
        let live = liveNodes()
        let forward = live.filter { n in
            if case .op = nodes[n].kind { return !nodes[n].isBackward }
            return false
        }
        guard forward.count > 2 else { return }
        let segment: Int = switch policy {
        case .none: forward.count
        case .sqrt: Swift.max(1, Int(Double(forward.count).squareRoot().rounded()))
        case .every(let k): Swift.max(1, k)
        }
        var kept = Set<Int>()
        for (i, n) in forward.enumerated() where (i + 1) % segment == 0 { kept.insert(n) }
        kept.insert(forward.last!)

        var cloneOfValue: [Int: Int] = [:]
        var cloneOfBuffer: [Int: Int] = [:]
        var clones: [Int] = []

        func recomputed(_ v: Int) -> Int {
            let b = values[v].buffer
            guard case .intermediate = buffers[b].source, let p = buffers[b].producer,
                  !nodes[p].isBackward, !kept.contains(p) else { return v }
            if let c = cloneOfValue[v] { return c }
            let nb = cloneBuffer(b)
            let old = values[v]
            let nv = addValue(buffer: nb, shape: old.shape, strides: old.strides, offset: old.offset, dtype: old.dtype)
            cloneOfValue[v] = nv
            return nv
        }

        func cloneBuffer(_ b: Int) -> Int {
            if let c = cloneOfBuffer[b] { return c }
            let original = nodes[buffers[b].producer!]
            let inputs = original.inputs.map(recomputed)
            let n = nodes.count
            let nb = addBuffer(elements: buffers[b].elements, dtype: buffers[b].dtype, source: .intermediate, producer: n)
            let out = values[original.output!]
            let nv = addValue(buffer: nb, shape: out.shape, strides: out.strides, offset: out.offset, dtype: out.dtype)
            cloneOfValue[original.output!] = nv
            var node = Node(kind: original.kind, inputs: inputs, output: nv, after: original.after, order: 0)
            node.isBackward = true
            node.isRecompute = true
            nodes.append(node)
            cloneOfBuffer[b] = nb
            clones.append(n)
            return nb
        }

        for n in live where nodes[n].isBackward {
            nodes[n].inputs = nodes[n].inputs.map(recomputed)
        }
        guard !clones.isEmpty else { return }

        // In-place writers of a buffer a clone reads must wait for the clone.
        for n in nodes.indices {
            guard let written = nodes[n].writtenValue() else { continue }
            let b = values[written].buffer
            for c in clones where nodes[c].inputs.contains(where: { values[$0].buffer == b }) {
                nodes[n].after.append(c)
            }
        }
        // A clone's place in the trace: just before its first reader, so the
        // scheduler recomputes a segment when the reverse pass gets to it.
        var consumers: [Int: [Int]] = [:]  // buffer → nodes reading it
        for n in nodes.indices { for v in nodes[n].inputs { consumers[values[v].buffer, default: []].append(n) } }
        for c in clones.reversed() {
            let readers = consumers[values[nodes[c].output!].buffer] ?? []
            nodes[c].order = (readers.map { nodes[$0].order }.min() ?? Double(nodes.count)) - 1e-3
        }
    }
}
