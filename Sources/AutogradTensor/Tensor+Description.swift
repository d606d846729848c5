import Foundation

extension Tensor: CustomStringConvertible, CustomDebugStringConvertible {
    /// Tensors with more elements than this print elided, showing
    /// ``printEdgeItems`` items at each end of every axis (as PyTorch does).
    static let printThreshold = 1000
    static let printEdgeItems = 3

    /// PyTorch-style text: values, then shape, dtype and graph information.
    ///
    /// ```
    /// tensor([[1., 2.],
    ///         [3., 4.]], shape=[2, 2], dtype=float32)
    /// ```
    public var description: String {
        let values = scalars
        let elide = values.count > Tensor.printThreshold
        let style = NumberStyle(values)
        var body = ""
        format(values, style: style, elide: elide, axis: 0, base: 0, indent: 7, into: &body)
        var suffix = ", shape=\(ShapeRules.describe(shape)), dtype=\(dtype)"
        if let producer = gradFnObject {
            let name = (producer as? any GradientFunction)?.opName ?? "?"
            suffix += ", gradFn=<\(name)>"
        } else if requiresGrad {
            suffix += ", requiresGrad=true"
        }
        return "tensor(" + body + suffix + ")"
    }

    public var debugDescription: String { description }

    /// How every number of one tensor is written: fixed or scientific, and how wide.
    private struct NumberStyle {
        let integral: Bool
        let scientific: Bool
        let width: Int

        init(_ values: [Double]) {
            let finite = values.filter { $0.isFinite }
            integral = finite.allSatisfy { $0 == $0.rounded() && abs($0) < 1e8 }
            let maxAbs = finite.map(abs).max() ?? 0
            let minAbs = finite.filter { $0 != 0 }.map(abs).min() ?? 1
            scientific = !integral && (maxAbs >= 1e8 || minAbs < 1e-4 || maxAbs / minAbs > 1e6)
            var w = 0
            var style = NumberStyle(integral: integral, scientific: scientific, width: 0)
            for v in values { w = Swift.max(w, style.text(v).count) }
            style = NumberStyle(integral: integral, scientific: scientific, width: w)
            width = w
        }

        private init(integral: Bool, scientific: Bool, width: Int) {
            self.integral = integral
            self.scientific = scientific
            self.width = width
        }

        func text(_ v: Double) -> String {
            if v.isNaN { return "nan" }
            if v.isInfinite { return v > 0 ? "inf" : "-inf" }
            if integral { return String(format: "%.0f.", v) }
            return String(format: scientific ? "%.4e" : "%.4f", v)
        }

        func padded(_ v: Double) -> String {
            let t = text(v)
            return String(repeating: " ", count: Swift.max(0, width - t.count)) + t
        }
    }

    private func format(_ values: [Double], style: NumberStyle, elide: Bool, axis: Int,
                        base: Int, indent: Int, into out: inout String) {
        if rank == 0 {
            out += style.text(values[0])
            return
        }
        let n = shape[axis]
        let inner = ShapeRules.count(Array(shape[(axis + 1)...]))
        let edge = Tensor.printEdgeItems
        let shown: [Int?] = elide && n > 2 * edge
            ? Array(0..<edge) + [nil] + Array((n - edge)..<n)
            : Array(0..<n)
        out += "["
        for (k, index) in shown.enumerated() {
            if k > 0 {
                if axis == rank - 1 {
                    out += ", "
                } else {
                    out += "," + String(repeating: "\n", count: rank - 1 - axis)
                    out += String(repeating: " ", count: indent + axis + 1)
                }
            }
            guard let i = index else {
                out += "..."
                continue
            }
            if axis == rank - 1 {
                out += style.padded(values[base + i])
            } else {
                format(values, style: style, elide: elide, axis: axis + 1,
                       base: base + i * inner, indent: indent, into: &out)
            }
        }
        out += "]"
    }
}
