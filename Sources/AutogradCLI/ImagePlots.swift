import Foundation
import Autograd

/// SVG pictures of a trained convolutional network: its first layer's
/// filters, and the test set's confusion matrix.
enum ImagePlots {
    /// The first convolution's filters as a grid, eight to a row: one cell
    /// per output channel, made of one R×S tile per input channel side by
    /// side (every channel is shown, none averaged away). Each filter is
    /// shaded in grey from its own smallest weight (black) to its largest
    /// (white), over all its input channels, so filters of different
    /// scales are equally visible; a constant filter is mid-grey.
    static func filters(_ conv: Conv2d, title: String) -> String {
        let shape = conv.weight.shape
        let (k, c, r, s) = (shape[0], shape[1], shape[2], shape[3])
        let weights = conv.weight.scalars
        let perRow = Swift.min(k, 8)
        let pixel = Swift.max(2, 48 / Swift.max(r, s))
        let tileW = Double(s * pixel), tileH = Double(r * pixel)
        let cellW = Double(c) * (tileW + 2) - 2, gap = 14.0, top = 56.0, left = 20.0
        let rows = (k + perRow - 1) / perRow
        let subtitle = "\(k) filters of \(c)×\(r)×\(s)" + (c > 1 ? " (input channels side by side)" : "")
            + ", grey from each filter's minimum to its maximum"
        // Wide enough for the grid and for the titles (about 8 and 6 pixels a character).
        let width = Swift.max(Int(left * 2 + Double(perRow) * (cellW + gap) - gap), 8 * title.count + 40,
                              6 * subtitle.count + 40)
        var svg = SVG(width: width, height: Int(top + Double(rows) * (tileH + gap + 12) + 10))
        svg.text(Double(width) / 2, 24, title, size: 15, anchor: "middle")
        svg.text(Double(width) / 2, 42, subtitle, size: 11, anchor: "middle")
        for f in 0..<k {
            let values = weights[(f * c * r * s)..<((f + 1) * c * r * s)]
            let lo = values.min() ?? 0, hi = values.max() ?? 0
            let x0 = left + Double(f % perRow) * (cellW + gap), y0 = top + Double(f / perRow) * (tileH + gap + 12)
            svg.text(x0, y0 + 9, "\(f)", size: 9, anchor: "start")
            for channel in 0..<c {
                let tx = x0 + Double(channel) * (tileW + 2), ty = y0 + 12
                for i in 0..<r {
                    for j in 0..<s {
                        let v = values[values.startIndex + (channel * r + i) * s + j]
                        let level = hi > lo ? (v - lo) / (hi - lo) : 0.5
                        let grey = Int((level * 255).rounded())
                        svg.rect(tx + Double(j * pixel), ty + Double(i * pixel), Double(pixel), Double(pixel),
                                 fill: String(format: "#%02x%02x%02x", grey, grey, grey))
                    }
                }
                svg.rect(tx, ty, tileW, tileH, fill: "none", stroke: Plots.grey)
            }
        }
        return svg.finish()
    }

    /// The confusion matrix: row t, column p counts the test examples of
    /// class t predicted as p, written in the cell, which is shaded blue by
    /// its share of row t (the fraction of class t it holds), so rare
    /// classes read as clearly as common ones. Class names label both axes.
    static func confusion(_ matrix: [[Int]], classNames: [String], title: String) -> String {
        let n = matrix.count
        let cell = n <= 12 ? 44.0 : Swift.max(12, 520 / Double(n))
        let nameWidth = Double(classNames.map(\.count).max() ?? 1) * 7 + 16
        let left = nameWidth + 34, top = 60 + nameWidth
        let size = cell * Double(n)
        let total = matrix.joined().reduce(0, +)
        let correct = (0..<n).reduce(0) { $0 + matrix[$1][$1] }
        var svg = SVG(width: Int(left + size + 30), height: Int(top + size + 40))
        svg.text((left + size) / 2, 22, title, size: 15, anchor: "middle")
        svg.text((left + size) / 2, 40, "\(correct) of \(total) test examples right; shade: share of the true class's row",
                 size: 11, anchor: "middle")
        for t in 0..<n {
            let rowTotal = matrix[t].reduce(0, +)
            for p in 0..<n {
                let count = matrix[t][p]
                let share = rowTotal > 0 ? Double(count) / Double(rowTotal) : 0
                let x = left + Double(p) * cell, y = top + Double(t) * cell
                svg.rect(x, y, cell, cell, fill: "white", stroke: "#ddd")
                if count > 0 { svg.rect(x, y, cell, cell, fill: Plots.blue, opacity: 0.08 + 0.92 * share) }
                if cell >= 20 {
                    svg.text(x + cell / 2, y + cell / 2 + 4, "\(count)", size: cell >= 36 ? 11 : 8, anchor: "middle",
                             fill: share > 0.5 ? "white" : "black")
                }
            }
            svg.text(left - 6, top + (Double(t) + 0.5) * cell + 4, classNames[t], size: 11, anchor: "end")
            svg.text(left + (Double(t) + 0.5) * cell + 4, top - 6, classNames[t], size: 11, anchor: "start", rotate: -90)
        }
        svg.rect(left, top, size, size, fill: "none", stroke: Plots.grey)
        svg.text(14, top + size / 2, "true class", size: 12, anchor: "middle", rotate: -90)
        svg.text(left + size / 2, top + size + 24, "predicted class", size: 12, anchor: "middle")
        return svg.finish()
    }
}

extension Module {
    /// The first 2-D convolution of the model, in declaration order, if any.
    var firstConv2d: Conv2d? {
        if let conv = self as? Conv2d { return conv }
        for (_, child) in namedChildren {
            if let conv = child.firstConv2d { return conv }
        }
        return nil
    }
}
