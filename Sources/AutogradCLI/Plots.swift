import Foundation
import Autograd

/// SVG pictures of a training run: the loss and accuracy curves, and for 2-D
/// data the decision boundary over the points (the Playground's picture).
enum Plots {
    static let orange = "#f59322", blue = "#0877bd", grey = "#888"

    /// Two panels side by side: loss and accuracy per epoch, train and test.
    static func curves(_ records: [EpochRecord], title: String) -> String {
        let epochs = records.map { Double($0.epoch) }
        var svg = SVG(width: 900, height: 340)
        svg.text(450, 24, title, size: 16, anchor: "middle")
        panel(&svg, x: 60, title: "loss", epochs: epochs,
              series: [("train", orange, records.map(\.train.loss)), ("test", blue, records.map(\.test.loss))])
        panel(&svg, x: 510, title: "accuracy", epochs: epochs,
              series: [("train", orange, records.map(\.train.accuracy)), ("test", blue, records.map(\.test.accuracy))])
        return svg.finish()
    }

    private static func panel(_ svg: inout SVG, x: Double, title: String, epochs: [Double],
                              series: [(String, String, [Double])]) {
        let w = 360.0, h = 240.0, y = 50.0
        let values = series.flatMap(\.2).filter(\.isFinite)
        var lo = values.min() ?? 0, hi = values.max() ?? 1
        if hi - lo < 1e-9 { lo -= 0.5; hi += 0.5 }
        let xLo = epochs.first ?? 0, xHi = Swift.max(epochs.last ?? 1, xLo + 1)
        func px(_ e: Double) -> Double { x + (e - xLo) / (xHi - xLo) * w }
        func py(_ v: Double) -> Double { y + h - (v - lo) / (hi - lo) * h }
        svg.rect(x, y, w, h, fill: "none", stroke: "#ccc")
        svg.text(x, y - 8, title, size: 13, anchor: "start")
        for i in 0...4 {
            let v = lo + (hi - lo) * Double(i) / 4
            svg.line(x - 4, py(v), x, py(v), stroke: grey)
            svg.text(x - 6, py(v) + 4, Fmt.fixed(v, 3), size: 10, anchor: "end")
            let e = xLo + (xHi - xLo) * Double(i) / 4
            svg.text(px(e), y + h + 16, Fmt.fixed(e, 0), size: 10, anchor: "middle")
        }
        svg.text(x + w / 2, y + h + 32, "epoch", size: 11, anchor: "middle")
        for (k, (name, color, data)) in series.enumerated() {
            let points = zip(epochs, data).filter { $0.1.isFinite }.map { (px($0.0), py($0.1)) }
            svg.polyline(points, stroke: color)
            // The legend sits above the panel's top-right corner, clear of the curves.
            let lx = x + w - 120 + Double(k) * 60
            svg.line(lx, y - 12, lx + 16, y - 12, stroke: color, width: 2)
            svg.text(lx + 20, y - 8, name, size: 11, anchor: "start")
        }
    }

    /// The model's class-1 probability over the plane, shaded from orange
    /// (class 0) to blue (class 1), with the train points (white rim) and
    /// test points (black rim) on top.
    static func decisionBoundary(_ model: Module, train: TensorDataset, test: TensorDataset, title: String) -> String {
        let all = train.features.scalars + test.features.scalars
        let xs = stride(from: 0, to: all.count, by: 2).map { all[$0] }
        let ys = stride(from: 1, to: all.count, by: 2).map { all[$0] }
        let pad = 0.1
        let (x0, x1) = ((xs.min() ?? -1) - pad, (xs.max() ?? 1) + pad)
        let (y0, y1) = ((ys.min() ?? -1) - pad, (ys.max() ?? 1) + pad)
        let size = 480.0, top = 40.0, cells = 60
        var grid: [Double] = []
        for j in 0..<cells {
            for i in 0..<cells {
                grid += [x0 + (Double(i) + 0.5) / Double(cells) * (x1 - x0),
                         y1 - (Double(j) + 0.5) / Double(cells) * (y1 - y0)]
            }
        }
        let probabilities = model.evaluating {
            softmax(model(Tensor(shape: [cells * cells, 2], scalars: grid)), axis: 1)
        }.scalars
        var svg = SVG(width: Int(size), height: Int(size + top))
        svg.text(size / 2, 24, title, size: 15, anchor: "middle")
        let cell = size / Double(cells)
        for j in 0..<cells {
            for i in 0..<cells {
                let p1 = probabilities[(j * cells + i) * 2 + 1]
                svg.rect(Double(i) * cell, top + Double(j) * cell, cell, cell,
                         fill: p1 >= 0.5 ? blue : orange, opacity: 0.15 + 0.6 * Swift.abs(p1 - 0.5) * 2)
            }
        }
        func draw(_ data: TensorDataset, rim: String) {
            let f = data.features.scalars
            for (k, label) in data.labels.enumerated() {
                let cx = (f[2 * k] - x0) / (x1 - x0) * size
                let cy = top + (y1 - f[2 * k + 1]) / (y1 - y0) * size
                svg.circle(cx, cy, 3.5, fill: label == 1 ? blue : orange, stroke: rim)
            }
        }
        draw(train, rim: "white")
        draw(test, rim: "black")
        return svg.finish()
    }
}

/// A minimal SVG writer.
struct SVG {
    private var body: [String] = []
    let width: Int, height: Int

    init(width: Int, height: Int) {
        self.width = width
        self.height = height
        body.append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>")
    }

    private func n(_ v: Double) -> String { Fmt.fixed(v, 2) }

    mutating func rect(_ x: Double, _ y: Double, _ w: Double, _ h: Double, fill: String, stroke: String? = nil,
                       opacity: Double = 1) {
        body.append("<rect x=\"\(n(x))\" y=\"\(n(y))\" width=\"\(n(w))\" height=\"\(n(h))\" fill=\"\(fill)\" shape-rendering=\"crispEdges\""
                    + (stroke.map { " stroke=\"\($0)\"" } ?? "") + (opacity < 1 ? " fill-opacity=\"\(n(opacity))\"" : "") + "/>")
    }

    mutating func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String, width: Double = 1) {
        body.append("<line x1=\"\(n(x1))\" y1=\"\(n(y1))\" x2=\"\(n(x2))\" y2=\"\(n(y2))\" stroke=\"\(stroke)\" stroke-width=\"\(n(width))\"/>")
    }

    mutating func polyline(_ points: [(Double, Double)], stroke: String) {
        let p = points.map { "\(n($0.0)),\(n($0.1))" }.joined(separator: " ")
        body.append("<polyline points=\"\(p)\" fill=\"none\" stroke=\"\(stroke)\" stroke-width=\"2\"/>")
    }

    mutating func circle(_ x: Double, _ y: Double, _ r: Double, fill: String, stroke: String) {
        body.append("<circle cx=\"\(n(x))\" cy=\"\(n(y))\" r=\"\(n(r))\" fill=\"\(fill)\" stroke=\"\(stroke)\" stroke-width=\"1\"/>")
    }

    mutating func text(_ x: Double, _ y: Double, _ content: String, size: Int, anchor: String) {
        let escaped = content.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
        body.append("<text x=\"\(n(x))\" y=\"\(n(y))\" font-family=\"sans-serif\" font-size=\"\(size)\" text-anchor=\"\(anchor)\">\(escaped)</text>")
    }

    func finish() -> String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\">\n"
            + body.joined(separator: "\n") + "\n</svg>\n"
    }
}
