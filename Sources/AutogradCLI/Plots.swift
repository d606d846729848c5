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

    /// Round tick values covering [lo, hi], about `count` of them, spaced by
    /// 1, 2 or 5 times a power of ten (at least `minimumStep`), and the
    /// decimals that print them exactly.
    static func ticks(_ lo: Double, _ hi: Double, count: Int = 5,
                      minimumStep: Double = 0) -> (values: [Double], decimals: Int) {
        let raw = Swift.max((hi - lo) / Double(Swift.max(count - 1, 1)), minimumStep, 1e-12)
        let power = Foundation.pow(10, Foundation.floor(Foundation.log10(raw)))
        // The 1-2-5 step nearest the raw one (in ratio), at least the minimum.
        let step = [1.0, 2, 5, 10].map { $0 * power }.filter { $0 >= minimumStep }
            .min { Swift.abs(Foundation.log($0 / raw)) < Swift.abs(Foundation.log($1 / raw)) } ?? 10 * power
        let first = Foundation.floor(lo / step + 1e-9) * step, last = Foundation.ceil(hi / step - 1e-9) * step
        let n = Int(((last - first) / step).rounded())
        let decimals = Swift.max(0, -Int(Foundation.floor(Foundation.log10(step) + 1e-9)))
        return ((0...n).map { first + Double($0) * step }, decimals)
    }

    private static func panel(_ svg: inout SVG, x: Double, title: String, epochs: [Double],
                              series: [(String, String, [Double])]) {
        let w = 360.0, h = 240.0, y = 50.0
        let values = series.flatMap(\.2).filter(\.isFinite)
        var lo = values.min() ?? 0, hi = values.max() ?? 1
        if hi - lo < 1e-9 { lo -= 0.5; hi += 0.5 }
        let yTicks = ticks(lo, hi)
        (lo, hi) = (yTicks.values.first!, yTicks.values.last!)
        let xTicks = ticks(epochs.first ?? 1, Swift.max(epochs.last ?? 1, (epochs.first ?? 1) + 1), minimumStep: 1)
        let xLo = xTicks.values.first!, xHi = xTicks.values.last!
        func px(_ e: Double) -> Double { x + (e - xLo) / (xHi - xLo) * w }
        func py(_ v: Double) -> Double { y + h - (v - lo) / (hi - lo) * h }
        svg.rect(x, y, w, h, fill: "none", stroke: "#ccc")
        for v in yTicks.values {
            svg.line(x - 4, py(v), x, py(v), stroke: grey)
            svg.text(x - 6, py(v) + 4, Fmt.fixed(v, yTicks.decimals), size: 10, anchor: "end")
        }
        for e in xTicks.values {
            svg.line(px(e), y + h, px(e), y + h + 4, stroke: grey)
            svg.text(px(e), y + h + 16, Fmt.fixed(e, 0), size: 10, anchor: "middle")
        }
        svg.text(x - 44, y + h / 2, title, size: 11, anchor: "middle", rotate: -90)
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
    /// test points (black rim) on top; axes with round ticks and a legend.
    static func decisionBoundary(_ model: Module, train: TensorDataset, test: TensorDataset, title: String) -> String {
        let all = train.features.scalars + test.features.scalars
        let xs = stride(from: 0, to: all.count, by: 2).map { all[$0] }
        let ys = stride(from: 1, to: all.count, by: 2).map { all[$0] }
        let pad = 0.1
        let xTicks = ticks((xs.min() ?? -1) - pad, (xs.max() ?? 1) + pad)
        let yTicks = ticks((ys.min() ?? -1) - pad, (ys.max() ?? 1) + pad)
        let (x0, x1) = (xTicks.values.first!, xTicks.values.last!)
        let (y0, y1) = (yTicks.values.first!, yTicks.values.last!)
        let size = 480.0, top = 40.0, left = 50.0, cells = 60
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
        var svg = SVG(width: Int(left + size + 120), height: Int(top + size + 40))
        svg.text(left + size / 2, 24, title, size: 15, anchor: "middle")
        let cell = size / Double(cells)
        for j in 0..<cells {
            for i in 0..<cells {
                let p1 = probabilities[(j * cells + i) * 2 + 1]
                svg.rect(left + Double(i) * cell, top + Double(j) * cell, cell, cell,
                         fill: p1 >= 0.5 ? blue : orange, opacity: 0.15 + 0.6 * Swift.abs(p1 - 0.5) * 2)
            }
        }
        func px(_ v: Double) -> Double { left + (v - x0) / (x1 - x0) * size }
        func py(_ v: Double) -> Double { top + (y1 - v) / (y1 - y0) * size }
        func draw(_ data: TensorDataset, rim: String) {
            let f = data.features.scalars
            for (k, label) in data.labels.enumerated() {
                svg.circle(px(f[2 * k]), py(f[2 * k + 1]), 3.5, fill: label == 1 ? blue : orange, stroke: rim)
            }
        }
        draw(train, rim: "white")
        draw(test, rim: "black")
        svg.rect(left, top, size, size, fill: "none", stroke: grey)
        for v in xTicks.values {
            svg.line(px(v), top + size, px(v), top + size + 4, stroke: grey)
            svg.text(px(v), top + size + 16, Fmt.fixed(v, xTicks.decimals), size: 10, anchor: "middle")
        }
        for v in yTicks.values {
            svg.line(left - 4, py(v), left, py(v), stroke: grey)
            svg.text(left - 6, py(v) + 4, Fmt.fixed(v, yTicks.decimals), size: 10, anchor: "end")
        }
        // The legend, right of the plot: the two classes' colours, then the two rims.
        let lx = left + size + 16
        for (k, (name, color)) in [("class 0", orange), ("class 1", blue)].enumerated() {
            let ly = top + 10 + Double(k) * 20
            svg.rect(lx, ly - 9, 12, 12, fill: color, opacity: 0.75)
            svg.text(lx + 18, ly + 1, name, size: 11, anchor: "start")
        }
        for (k, (name, rim)) in [("train", "white"), ("test", "black")].enumerated() {
            let ly = top + 60 + Double(k) * 20
            svg.circle(lx + 6, ly - 3, 3.5, fill: grey, stroke: rim)
            svg.text(lx + 18, ly + 1, name + " points", size: 11, anchor: "start")
        }
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

    mutating func text(_ x: Double, _ y: Double, _ content: String, size: Int, anchor: String, rotate: Double = 0,
                       fill: String? = nil) {
        let escaped = content.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
        let turn = rotate == 0 ? "" : " transform=\"rotate(\(n(rotate)) \(n(x)) \(n(y)))\""
        body.append("<text x=\"\(n(x))\" y=\"\(n(y))\" font-family=\"sans-serif\" font-size=\"\(size)\" text-anchor=\"\(anchor)\"\(turn)\(fill.map { " fill=\"\($0)\"" } ?? "")>\(escaped)</text>")
    }

    func finish() -> String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\">\n"
            + body.joined(separator: "\n") + "\n</svg>\n"
    }
}
