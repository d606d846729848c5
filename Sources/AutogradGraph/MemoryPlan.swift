import AutogradNN
import AutogradOps
import AutogradTensor

/// Where every arena buffer of a compiled graph lives, planned ahead of the
/// first run (after MXNet/NNVM's PlanMemory): the liveness of each buffer in
/// the schedule, in-place writes where an elementwise op's input dies at the
/// node that reads it, and best-fit offsets in one arena per dtype.
struct MemoryPlan {
    /// Byte offset of each arena buffer in its dtype's arena (nil for constants).
    var offsets: [Int?]
    /// Arena bytes per dtype.
    var arenaBytes: [DType: Int]
    /// Buffers that reuse an input's memory in place: buffer → the buffer it overwrites.
    var inPlace: [Int: Int]
    /// The sum of all arena buffers' sizes, as if none shared memory.
    var noReuseBytes: Int
    /// The most bytes live at once.
    var peakLiveBytes: Int

    static let alignment = 64

    static func aligned(_ bytes: Int) -> Int { (bytes + alignment - 1) / alignment * alignment }

    /// Plans `graph` run in `order`. With `reuse` false every buffer gets memory of its own.
    init(_ graph: Graph, order: [Int], reuse: Bool) {
        let count = graph.buffers.count
        let end = order.count  // "until after the last node"
        var start = [Int](repeating: -1, count: count)
        var last = [Int](repeating: -1, count: count)
        for (position, n) in order.enumerated() {
            if case .op = graph.nodes[n].kind, let out = graph.nodes[n].output {
                start[graph.values[out].buffer] = position
            }
            for v in graph.nodes[n].inputs { last[graph.values[v].buffer] = position }
        }
        for v in graph.outputs { last[graph.values[v].buffer] = end }
        for v in graph.inputs { last[graph.values[v].buffer] = end }  // a next call may pass an output back in

        // In place: an elementwise op's output takes the memory of an input whose last reader it is.
        var inPlace: [Int: Int] = [:]
        var slotOf = Array(0..<count)  // buffer → buffer whose memory it uses
        if reuse {
            for (position, n) in order.enumerated() {
                guard case .op(let op) = graph.nodes[n].kind, let out = graph.nodes[n].output else { continue }
                let ob = graph.values[out].buffer
                let outValue = graph.values[out]
                guard outValue.offset == 0, outValue.isContiguous,
                      ShapeRules.count(outValue.shape) == graph.buffers[ob].elements else { continue }
                for (i, v) in graph.nodes[n].inputs.enumerated() where op.allowsInPlace(i) {
                    let value = graph.values[v], ib = value.buffer
                    let root = slotOf[ib]
                    guard case .intermediate = graph.buffers[ib].source, last[root] == position, last[ib] == position,
                          value.shape == outValue.shape, value.offset == 0, value.isContiguous,
                          graph.buffers[ib].bytes == graph.buffers[ob].bytes, graph.buffers[ib].dtype == graph.buffers[ob].dtype,
                          graph.nodes[n].inputs.allSatisfy({ graph.values[$0].buffer != ib || $0 == v })
                    else { continue }
                    inPlace[ob] = ib
                    slotOf[ob] = root
                    last[root] = last[ob]
                    break
                }
            }
        }

        // Best-fit offsets, slot by slot in order of first use.
        var offsets = [Int?](repeating: nil, count: count)
        var arenaBytes: [DType: Int] = [:]
        // Buffers the schedule touches (dead, merged and fused-away nodes' buffers get no memory).
        var used = Set(graph.inputs.map { graph.values[$0].buffer } + graph.outputs.map { graph.values[$0].buffer })
        for n in order {
            for v in graph.nodes[n].inputs { used.insert(graph.values[v].buffer) }
            if let out = graph.nodes[n].output { used.insert(graph.values[out].buffer) }
        }
        let slots = (0..<count).filter { graph.buffers[$0].isArena && slotOf[$0] == $0 && used.contains($0) }
            .sorted { (start[$0], $0) < (start[$1], $1) }
        for dtype in [DType.float32, .float64] {
            var free: [(offset: Int, size: Int)] = []
            var active: [(end: Int, offset: Int, size: Int)] = []
            var top = 0
            for b in slots where graph.buffers[b].dtype == dtype {
                let size = MemoryPlan.aligned(Swift.max(graph.buffers[b].bytes, 1))
                if reuse {
                    // Slots whose last reader ran before this one starts give their memory back.
                    for a in active where a.end < start[b] { free.append((a.offset, a.size)) }
                    active.removeAll { $0.end < start[b] }
                    free = MemoryPlan.coalesced(free)
                }
                var offset: Int
                if let i = free.indices.filter({ free[$0].size >= size }).min(by: { free[$0].size < free[$1].size }) {
                    offset = free[i].offset
                    if free[i].size == size { free.remove(at: i) } else { free[i] = (offset + size, free[i].size - size) }
                } else if let i = free.firstIndex(where: { $0.offset + $0.size == top }) {
                    // The topmost free block is too small: grow the arena from it.
                    offset = free[i].offset
                    top = offset + size
                    free.remove(at: i)
                } else {
                    offset = top
                    top += size
                }
                offsets[b] = offset
                active.append((last[b], offset, size))
            }
            if top > 0 { arenaBytes[dtype] = top }
        }
        for b in 0..<count where offsets[b] == nil && graph.buffers[b].isArena && used.contains(b) {
            offsets[b] = offsets[slotOf[b]]
        }

        // Sizes without reuse, and the largest live set.
        var noReuse = 0, peak = 0
        for b in 0..<count where graph.buffers[b].isArena && used.contains(b) { noReuse += MemoryPlan.aligned(Swift.max(graph.buffers[b].bytes, 1)) }
        for position in -1..<order.count {
            var live = 0
            for b in slots where start[b] <= position && last[b] >= position {
                live += MemoryPlan.aligned(Swift.max(graph.buffers[b].bytes, 1))
            }
            peak = Swift.max(peak, live)
        }
        self.offsets = offsets
        self.arenaBytes = arenaBytes
        self.inPlace = inPlace
        noReuseBytes = noReuse
        peakLiveBytes = peak
    }

    /// Free blocks sorted by offset, neighbours merged.
    private static func coalesced(_ blocks: [(offset: Int, size: Int)]) -> [(offset: Int, size: Int)] {
        var out: [(offset: Int, size: Int)] = []
        for b in blocks.sorted(by: { $0.offset < $1.offset }) {
            if let lastBlock = out.last, lastBlock.offset + lastBlock.size == b.offset {
                out[out.count - 1].size += b.size
            } else {
                out.append(b)
            }
        }
        return out
    }
}
