import Autograd
import Testing

/// Max and average pooling against loops written from the definition, and
/// against values PyTorch 2.15 printed for the edge cases (ceil mode,
/// padding in the divisor, NaN, adaptive windows).
@Suite("Pooling")
struct PoolingTests {
    /// A plain pool of one [h, w] plane, from the definition: each window's
    /// in-range taps, and the divisor PyTorch uses for the mean.
    struct Plain: Sendable, CustomStringConvertible {
        var h = 6, w = 7, k = IntOrPair(2), stride: IntOrPair? = nil, padding = IntOrPair(0)
        var dilation = IntOrPair(1), ceilMode = false, countIncludePad = true

        var description: String {
            "\(h)×\(w) kernel \(k) stride \(stride.map { "\($0)" } ?? "-") padding \(padding) dilation \(dilation) ceil \(ceilMode) includePad \(countIncludePad)"
        }

        func outLength(_ size: Int, _ k: Int, _ s: Int, _ p: Int, _ d: Int) -> Int {
            let span = size + 2 * p - d * (k - 1) - 1
            var out = Int((Double(span) / Double(s)).rounded(ceilMode ? .up : .down)) + 1
            if ceilMode && (out - 1) * s >= size + p { out -= 1 }
            return out
        }

        /// Per output position: the plane positions its window reads, and its divisor.
        func windows() -> (oh: Int, ow: Int, taps: [[Int]], divisors: [Double]) {
            let s = stride ?? k
            let oh = outLength(h, k.first, s.first, padding.first, dilation.first)
            let ow = outLength(w, k.second, s.second, padding.second, dilation.second)
            var taps: [[Int]] = [], divisors: [Double] = []
            for i in 0..<oh {
                for j in 0..<ow {
                    var t: [Int] = []
                    for u in 0..<k.first {
                        for v in 0..<k.second {
                            let r = i * s.first - padding.first + u * dilation.first
                            let c = j * s.second - padding.second + v * dilation.second
                            if r >= 0 && r < h && c >= 0 && c < w { t.append(r * w + c) }
                        }
                    }
                    taps.append(t)
                    // The window with its padding, cut at the padding's far edge.
                    let r0 = i * s.first - padding.first, c0 = j * s.second - padding.second
                    let rows = Swift.min(r0 + k.first, h + padding.first) - r0
                    let cols = Swift.min(c0 + k.second, w + padding.second) - c0
                    divisors.append(Double(countIncludePad ? rows * cols : t.count))
                }
            }
            return (oh, ow, taps, divisors)
        }
    }

    static let plainCases: [Plain] = [
        Plain(),
        Plain(h: 7, w: 7, k: 3, stride: 2, padding: 1),
        Plain(h: 7, w: 8, k: 3, stride: 2, padding: 1, ceilMode: true),
        Plain(h: 7, w: 8, k: 3, stride: 2, padding: 1, ceilMode: true, countIncludePad: false),
        Plain(h: 5, w: 9, k: [2, 3], stride: [1, 2], padding: [1, 1]),
        Plain(h: 9, w: 9, k: 3, stride: 1, dilation: 2),
        Plain(h: 5, w: 5, k: 2, stride: 2, ceilMode: true),
    ]

    @Test(arguments: plainCases)
    func maxPoolMatchesTheDefinition(_ p: Plain) {
        var rng = RandomGenerator(seed: 31)
        let x = Tensor.randn([2, 3, p.h, p.w], dtype: .float64, using: &rng).requiringGrad()
        let y = maxPool2d(x, kernelSize: p.k, stride: p.stride, padding: p.padding, dilation: p.dilation,
                          ceilMode: p.ceilMode)
        let (oh, ow, taps, _) = p.windows()
        #expect(y.shape == [2, 3, oh, ow], "\(p)")
        let g = Tensor.randn(y.shape, dtype: .float64, using: &rng)
        y.backward(g)
        let xs = x.scalars, ys = y.scalars, gs = g.scalars
        var dx = [Double](repeating: 0, count: xs.count)
        for plane in 0..<6 {
            for (o, t) in taps.enumerated() {
                let best = t.max { xs[plane * p.h * p.w + $0] < xs[plane * p.h * p.w + $1] }!
                #expect(ys[plane * oh * ow + o] == xs[plane * p.h * p.w + best], "\(p) output \(o)")
                dx[plane * p.h * p.w + best] += gs[plane * oh * ow + o]
            }
        }
        expectClose(x.grad!.scalars, dx, tolerance: 1e-12, "\(p) gradient")
    }

    @Test(arguments: plainCases.filter { $0.dilation == 1 })
    func avgPoolMatchesTheDefinition(_ p: Plain) {
        var rng = RandomGenerator(seed: 32)
        let x = Tensor.randn([2, 2, p.h, p.w], dtype: .float64, using: &rng).requiringGrad()
        let y = avgPool2d(x, kernelSize: p.k, stride: p.stride, padding: p.padding, ceilMode: p.ceilMode,
                          countIncludePad: p.countIncludePad)
        let (oh, ow, taps, divisors) = p.windows()
        #expect(y.shape == [2, 2, oh, ow], "\(p)")
        let g = Tensor.randn(y.shape, dtype: .float64, using: &rng)
        y.backward(g)
        let xs = x.scalars, ys = y.scalars, gs = g.scalars
        var expected = [Double](repeating: 0, count: ys.count), dx = [Double](repeating: 0, count: xs.count)
        for plane in 0..<4 {
            for (o, t) in taps.enumerated() {
                let base = plane * p.h * p.w, out = plane * oh * ow + o
                expected[out] = t.reduce(0) { $0 + xs[base + $1] } / divisors[o]
                for e in t { dx[base + e] += gs[out] / divisors[o] }
            }
        }
        expectClose(ys, expected, tolerance: 1e-12, "\(p) forward")
        expectClose(x.grad!.scalars, dx, tolerance: 1e-12, "\(p) gradient")
    }

    /// The float32 rows run sixteen (AVX-512) or eight (AVX2) outputs a
    /// step, with loads, an even-lane permute (stride 2) or gathers, the
    /// AVX-512 rows the border columns too: every level gives the
    /// definition's values and indices, NaNs, ties and −∞ included, on
    /// rows of more than 16 outputs and of fewer.
    @Test(arguments: [1, 2, 3], [53, 13])
    func everyLevelMatchesTheDefinitionInFloat32(stride: Int, width: Int) {
        let p = Plain(h: 9, w: width, k: 3, stride: IntOrPair(stride), padding: 1)
        var rng = RandomGenerator(seed: 33)
        // Values on a coarse grid, so windows hold ties.
        var values = Tensor.randn([2, 1, p.h, p.w], dtype: .float64, using: &rng).scalars.map { ($0 * 2).rounded() / 2 }
        for i in stride..<values.count where i % 41 == 0 { values[i] = .nan }
        for i in 0..<values.count where i % width < 2 && i % 3 == 0 { values[i] = -.infinity }
        let x = Tensor(shape: [2, 1, p.h, p.w], scalars: values, dtype: .float32)
        let xs = x.scalars
        let (oh, ow, taps, _) = p.windows()
        var expected: [Double] = [], where_: [Double] = []
        for plane in 0..<2 {
            for t in taps {
                // PyTorch's rule: a later value replaces the maximum when larger or NaN.
                var best = -Double.infinity, at = -1
                for e in t where at < 0 || xs[plane * p.h * p.w + e] > best || xs[plane * p.h * p.w + e].isNaN {
                    best = xs[plane * p.h * p.w + e]
                    at = e
                }
                expected.append(best)
                where_.append(Double(at))
            }
        }
        for level in Kernels.ISA.allCases where level <= Kernels.supportedISA {
            let (y, indices) = Kernels.withISA(level) { maxPool2dWithIndices(x, kernelSize: 3, stride: IntOrPair(stride), padding: 1) }
            #expect(y.shape == [2, 1, oh, ow])
            let same = zip(y.scalars, expected).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) }
            #expect(same, "\(level) stride \(stride) width \(width): values")
            #expect(indices.scalars == where_, "\(level) stride \(stride) width \(width): indices")
        }
    }

    /// Without a gradient the float32 rows keep no positions: AVX-512 takes
    /// the maximum of the window's rows column by column, then of those
    /// columns (strides 1 and 2). Every level gives the definition's maxima,
    /// NaN and −∞ included, for every plain case on narrow and wide planes.
    @Test(arguments: plainCases, [13, 53])
    func maximaWithoutPositionsMatchTheDefinition(_ plain: Plain, width: Int) {
        var p = plain
        p.w = width
        var rng = RandomGenerator(seed: 34)
        var values = Tensor.randn([3, 1, p.h, p.w], dtype: .float64, using: &rng).scalars.map { ($0 * 2).rounded() / 2 }
        for i in 0..<values.count where i % 37 == 5 { values[i] = .nan }
        for i in 0..<values.count where i % width < 3 && i % 4 == 0 { values[i] = -.infinity }
        let x = Tensor(shape: [3, 1, p.h, p.w], scalars: values, dtype: .float32)
        let xs = x.scalars
        let (oh, ow, taps, _) = p.windows()
        var expected: [Double] = []
        for plane in 0..<3 {
            for t in taps {
                let window = t.map { xs[plane * p.h * p.w + $0] }
                expected.append(window.contains { $0.isNaN } ? .nan : window.max() ?? -.infinity)
            }
        }
        for level in Kernels.ISA.allCases where level <= Kernels.supportedISA {
            let y = Kernels.withISA(level) {
                maxPool2d(x, kernelSize: p.k, stride: p.stride, padding: p.padding, dilation: p.dilation,
                          ceilMode: p.ceilMode)
            }
            #expect(y.shape == [3, 1, oh, ow])
            let same = zip(y.scalars, expected).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) }
            #expect(same, "\(level) \(p)")
        }
    }

    /// Values PyTorch 2.15 gives for x = arange(25) as [1, 1, 5, 5].
    @Test func matchesPyTorchOnEdgeCases() {
        let x = Tensor(shape: [1, 1, 5, 5], scalars: (0..<25).map(Double.init), dtype: .float64)
        expectClose(avgPool2d(x, kernelSize: 3, stride: 2, padding: 1, ceilMode: true).scalars,
                    [4.0 / 3, 3, 8.0 / 3, 7, 12, 9, 8, 13, 28.0 / 3], tolerance: 1e-12, "avg ceil includePad")
        expectClose(avgPool2d(x, kernelSize: 3, stride: 2, padding: 1, ceilMode: true, countIncludePad: false).scalars,
                    [3, 4.5, 6, 10.5, 12, 13.5, 18, 19.5, 21], tolerance: 1e-12, "avg ceil excludePad")
        expectClose(avgPool2d(x, kernelSize: 2, ceilMode: true).scalars,
                    [3, 5, 6.5, 13, 15, 16.5, 20.5, 22.5, 24], tolerance: 1e-12, "avg ceil past the edge")
        let (values, indices) = maxPool2dWithIndices(x, kernelSize: 3, stride: 2, padding: 1, ceilMode: true)
        #expect(values.scalars == [6, 8, 9, 16, 18, 19, 21, 23, 24])
        #expect(indices.scalars == [6, 8, 9, 16, 18, 19, 21, 23, 24])
        expectClose(adaptiveAvgPool2d(x, outputSize: [3, 2]).scalars, [3.5, 5.5, 11, 13, 18.5, 20.5],
                    tolerance: 1e-12, "adaptive average")
        #expect(adaptiveMaxPool2d(x, outputSize: [3, 2]).scalars == [7, 9, 17, 19, 22, 24])
        var withNaN = (0..<25).map(Double.init)
        withNaN[6] = .nan
        let pooled = maxPool2d(Tensor(shape: [1, 1, 5, 5], scalars: withNaN, dtype: .float64), kernelSize: 2).scalars
        #expect(pooled[0].isNaN)
        #expect(Array(pooled.dropFirst()) == [8, 16, 18])
    }

    @Test func oneDimensionalPoolsAndUnbatchedInputs() {
        let x = Tensor(shape: [1, 2, 6], scalars: [1, 5, 2, 2, 7, 0, -1, -3, 4, 4, 0, 9], dtype: .float64)
        #expect(maxPool1d(x, kernelSize: 2).scalars == [5, 2, 7, -1, 4, 9])
        #expect(avgPool1d(x, kernelSize: 3, stride: 3).scalars == [8.0 / 3, 3, 0, 13.0 / 3])
        let image = Tensor.randn([3, 8, 8], dtype: .float64)
        #expect(maxPool2d(image, kernelSize: 2).shape == [3, 4, 4])
        #expect(adaptiveAvgPool2d(image, outputSize: 1).scalars.count == 3)
    }

    @Test func tooLargeAPaddingIsRefused() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = maxPool2d(Tensor.zeros([1, 1, 4, 4]), kernelSize: 2, padding: 2)
        }
        let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(message.contains("maxPool2d: padding 2 must be between 0 and half the kernel size 2"))
    }
}

extension ConvCases {
    /// Pooling rows for the gradient-check suite.
    static let poolCases: [OpCase] = [
        OpCase(name: "maxPool2d 3 stride 2 padding 1 ceil", shapes: [[2, 2, 5, 6]]) {
            maxPool2d($0[0], kernelSize: 3, stride: 2, padding: 1, ceilMode: true)
        },
        OpCase(name: "maxPool2d 2 dilation 2", shapes: [[1, 2, 6, 6]]) {
            maxPool2d($0[0], kernelSize: 2, stride: 1, dilation: 2)
        },
        OpCase(name: "avgPool2d 3 stride 2 padding 1 excludePad ceil", shapes: [[2, 2, 5, 6]]) {
            avgPool2d($0[0], kernelSize: 3, stride: 2, padding: 1, ceilMode: true, countIncludePad: false)
        },
        OpCase(name: "avgPool2d [2, 3]", shapes: [[1, 3, 4, 6]]) { avgPool2d($0[0], kernelSize: [2, 3]) },
        OpCase(name: "adaptiveAvgPool2d [3, 2]", shapes: [[2, 2, 5, 7]]) { adaptiveAvgPool2d($0[0], outputSize: [3, 2]) },
        OpCase(name: "adaptiveMaxPool2d [2, 3]", shapes: [[2, 2, 5, 7]]) { adaptiveMaxPool2d($0[0], outputSize: [2, 3]) },
        OpCase(name: "maxPool1d 3 stride 2", shapes: [[2, 2, 9]]) { maxPool1d($0[0], kernelSize: 3, stride: 2) },
        OpCase(name: "avgPool1d 2 padding 1", shapes: [[2, 2, 7]]) { avgPool1d($0[0], kernelSize: 2, padding: 1) },
        OpCase(name: "conv2d → relu → maxPool2d", shapes: [[1, 2, 6, 6], [3, 2, 3, 3]]) {
            maxPool2d(relu(conv2d($0[0], weight: $0[1], padding: 1)), kernelSize: 2)
        },
    ]
}
