import AutogradNN
import AutogradOps
import AutogradTensor
import Foundation

/// Graphviz DOT text for computation graphs: the compiled plan (ops in
/// schedule order with their output shapes and the arena slot of each
/// buffer) and the eager tape behind a tensor.
enum DOT {
    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
    }

    static func shape(_ s: [Int]) -> String { ShapeRules.describe(s) }
}

extension Executable {
    /// The plan as DOT: inputs and constants as boxes, ops as ellipses in
    /// schedule order (forward blue, reverse pass orange, recomputation
    /// grey, updates green), each edge labelled with the tensor's shape, and
    /// each op with its arena slot (offset and size).
    func dot(title: String) -> String {
        var lines = ["digraph \"\(DOT.escape(title))\" {", "  rankdir=TB;",
                     "  node [fontname=\"Helvetica\", fontsize=10];", "  edge [fontname=\"Helvetica\", fontsize=9];",
                     "  label=\"\(DOT.escape(title)): \(DOT.escape(memoryReport.description))\"; labelloc=t;"]
        var sourceShown = Set<Int>()
        func slot(_ buffer: Int) -> String {
            guard let offset = plan.offsets[buffer] else { return "" }
            let bytes = graph.buffers[buffer].bytes
            return String(format: "\\n@%d +%.1fK", offset, Double(bytes) / 1024)
        }
        func source(of value: Int) -> String {
            let b = graph.values[value].buffer
            if let p = graph.buffers[b].producer { return "n\(p)" }
            let id = "b\(b)"
            if !sourceShown.contains(b) {
                sourceShown.insert(b)
                switch graph.buffers[b].source {
                case .input(let i):
                    lines.append("  \(id) [shape=box, style=filled, fillcolor=\"#e8f0ff\", label=\"input \(i)\\n\(DOT.shape(graph.values[value].shape))\(slot(b))\"];")
                case .constant(let t):
                    let kind = t.requiresGrad ? "parameter" : "constant"
                    lines.append("  \(id) [shape=box, style=filled, fillcolor=\"#f4f4f4\", label=\"\(kind)\\n\(DOT.shape(t.shape))\"];")
                case .intermediate:
                    lines.append("  \(id) [shape=box, label=\"buffer \(b)\"];")
                }
            }
            return id
        }
        for (position, n) in order.enumerated() {
            let node = graph.nodes[n]
            let color = node.isRecompute ? "#dddddd" : node.hasEffect ? "#d7f5d7" : node.isBackward ? "#ffe2c2" : "#cfe3ff"
            var label = "\(position). \(DOT.escape(node.name))"
            if let out = node.output {
                label += "\\n\(DOT.shape(graph.values[out].shape))"
                if case .op = node.kind { label += slot(graph.values[out].buffer) }
                if let over = plan.inPlace[graph.values[out].buffer] { label += "\\nin place of buffer \(over)" }
            }
            let style = node.kind.primitive == nil || node.output == nil ? "box" : "ellipse"
            lines.append("  n\(n) [shape=\(style), style=filled, fillcolor=\"\(color)\", label=\"\(label)\"];")
            for v in node.inputs {
                lines.append("  \(source(of: v)) -> n\(n) [label=\"\(DOT.shape(graph.values[v].shape))\"];")
            }
        }
        for (i, v) in graph.outputs.enumerated() {
            lines.append("  out\(i) [shape=box, style=filled, fillcolor=\"#fff3b0\", label=\"output \(i)\\n\(DOT.shape(graph.values[v].shape))\"];")
            lines.append("  \(source(of: v)) -> out\(i);")
        }
        // The colour legend, in a box of its own.
        lines.append("  subgraph cluster_legend { label=\"legend\"; fontname=\"Helvetica\"; fontsize=10; color=\"#bbbbbb\";")
        for (i, (name, color)) in [("forward", "#cfe3ff"), ("reverse pass", "#ffe2c2"), ("update", "#d7f5d7"),
                                   ("recomputed", "#dddddd")].enumerated() {
            lines.append("    legend\(i) [shape=box, style=filled, fillcolor=\"\(color)\", label=\"\(name)\"];")
        }
        lines.append("    legend0 -> legend1 -> legend2 -> legend3 [style=invis];")
        lines.append("  }")
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
    }
}

extension Tensor {
    /// The eager graph recorded behind this tensor as Graphviz DOT: one node
    /// per op (name and output shape), leaves as boxes, edges labelled with
    /// shapes. The lecture's picture of a computation graph, for real models.
    ///
    /// ```swift
    /// let loss = crossEntropy(logits: model(x), labels: y)
    /// try loss.recordedGraphDOT().write(toFile: "graph.dot", atomically: true, encoding: .utf8)
    /// ```
    public func recordedGraphDOT(title: String = "recorded") -> String {
        var lines = ["digraph \"\(DOT.escape(title))\" {", "  rankdir=BT;", "  node [fontname=\"Helvetica\", fontsize=10];",
                     "  edge [fontname=\"Helvetica\", fontsize=9];"]
        var ids: [ObjectIdentifier: Int] = [:]
        var leaves: [ObjectIdentifier: Int] = [:]
        func id(_ node: Node) -> (Int, Bool) {
            if let i = ids[ObjectIdentifier(node)] { return (i, false) }
            let i = ids.count + leaves.count
            ids[ObjectIdentifier(node)] = i
            return (i, true)
        }
        guard let root = gradFn else {
            return lines.joined(separator: "\n") + "\n  leaf [shape=box, label=\"leaf \(DOT.shape(shape))\"];\n}\n"
        }
        var stack: [(Node, [Int])] = [(root, shape)]
        _ = id(root)
        while let (node, outShape) = stack.popLast() {
            let me = ids[ObjectIdentifier(node)]!
            lines.append("  n\(me) [style=filled, fillcolor=\"#cfe3ff\", label=\"\(DOT.escape(node.op.name))\\n\(DOT.shape(outShape))\"];")
            for input in node.savedInputs {
                if let child = input.gradFn {
                    let (c, fresh) = id(child)
                    if fresh { stack.append((child, input.shape)) }
                    lines.append("  n\(c) -> n\(me) [label=\"\(DOT.shape(input.shape))\"];")
                } else {
                    let key = ObjectIdentifier(input)
                    let l: Int
                    if let known = leaves[key] {
                        l = known
                    } else {
                        l = ids.count + leaves.count
                        leaves[key] = l
                        let kind = input.requiresGrad ? "parameter" : "constant"
                        lines.append("  n\(l) [shape=box, style=filled, fillcolor=\"#f4f4f4\", label=\"\(kind)\\n\(DOT.shape(input.shape))\"];")
                    }
                    lines.append("  n\(l) -> n\(me) [label=\"\(DOT.shape(input.shape))\"];")
                }
            }
        }
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
    }
}
