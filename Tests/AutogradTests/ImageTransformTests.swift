import Autograd
import Testing

@Suite("Image transforms")
struct ImageTransformTests {
    /// Images with distinct pixels, so any shift or mirror is visible.
    static func images(_ n: Int, _ c: Int, _ h: Int, _ w: Int) -> Tensor {
        Tensor(shape: [n, c, h, w], scalars: (0..<(n * c * h * w)).map { Double($0 + 1) }, dtype: .float64)
    }

    /// Image i of `x` [N, C, H, W] moved by (dy, dx) with zeros shifted in.
    static func shifted(_ x: [Double], image i: Int, c: Int, h: Int, w: Int, dy: Int, dx: Int) -> [Double] {
        var out = [Double](repeating: 0, count: c * h * w)
        for ch in 0..<c {
            for y in 0..<h where (0..<h).contains(y + dy) {
                for xx in 0..<w where (0..<w).contains(xx + dx) {
                    out[(ch * h + y) * w + xx] = x[((i * c + ch) * h + y + dy) * w + xx + dx]
                }
            }
        }
        return out
    }

    @Test func randomCropShiftsEachImageByAtMostThePadding() {
        let (n, c, h, w, p) = (40, 2, 5, 6, 2)
        let x = Self.images(n, c, h, w)
        var rng = RandomGenerator(seed: 3)
        let y = RandomCrop(padding: p)(x, generator: &rng)
        #expect(y.shape == x.shape && y.dtype == .float64)
        let (xs, ys) = (x.scalars, y.scalars)
        var shifts = Set<[Int]>()
        for i in 0..<n {
            let image = Array(ys[(i * c * h * w)..<((i + 1) * c * h * w)])
            var found: [Int]?
            for dy in -p...p {
                for dx in -p...p where Self.shifted(xs, image: i, c: c, h: h, w: w, dy: dy, dx: dx) == image {
                    found = [dy, dx]
                }
            }
            #expect(found != nil, "image \(i) is not a shift of its input by at most \(p)")
            if let found { shifts.insert(found) }
        }
        #expect(shifts.count > 10, "offsets vary: \(shifts.count) of 25 seen")
        var again = RandomGenerator(seed: 3)
        #expect(RandomCrop(padding: p)(x, generator: &again).scalars == ys, "seeded")
        #expect(RandomCrop(padding: 0)(x, generator: &rng).scalars == xs)
    }

    @Test func horizontalFlipMirrorsWholeImages() {
        let (n, c, h, w) = (200, 3, 2, 4)
        let x = Self.images(n, c, h, w)
        var rng = RandomGenerator(seed: 5)
        let mirrored = RandomHorizontalFlip(probability: 1)(x, generator: &rng).scalars
        let xs = x.scalars
        for row in 0..<(n * c * h) {
            #expect(Array(mirrored[(row * w)..<(row * w + w)]) == Array(xs[(row * w)..<(row * w + w)].reversed()))
        }
        #expect(RandomHorizontalFlip(probability: 0)(x, generator: &rng).scalars == xs)
        let half = RandomHorizontalFlip()(x, generator: &rng).scalars
        var flipped = 0
        for i in 0..<n {
            let range = (i * c * h * w)..<((i + 1) * c * h * w)
            let image = Array(half[range])
            #expect(image == Array(xs[range]) || image == Array(mirrored[range]), "image \(i) is whole")
            if image == Array(mirrored[range]) { flipped += 1 }
        }
        #expect(flipped > 70 && flipped < 130, "\(flipped) of \(n) flipped at p = 0.5")
    }

    @Test func normalizeFittedToTheDataGivesZeroMeanUnitSpread() {
        var rng = RandomGenerator(seed: 8)
        let x = Tensor.randn([16, 3, 5, 5], dtype: .float64, using: &rng) * Tensor(shape: [1, 3, 1, 1], scalars: [1, 2, 3], dtype: .float64)
            + Tensor(shape: [1, 3, 1, 1], scalars: [5, -1, 0.5], dtype: .float64)
        let normalize = Normalize(fittedTo: x)
        #expect(normalize.mean.count == 3)
        let y = normalize(x, generator: &rng)
        let perChannel = y.transposed(0, 1).reshaped([3, -1])
        expectClose(perChannel.mean(alongAxes: [1]).scalars, [0, 0, 0], tolerance: 1e-12, "means")
        expectClose(perChannel.squared().mean(alongAxes: [1]).scalars, [1, 1, 1], tolerance: 1e-12, "variances")
        let fixed = Normalize(mean: [1, 2, 3], std: [2, 4, 8])(Tensor.ones([1, 3, 1, 1], dtype: .float64), generator: &rng)
        #expect(fixed.scalars == [0, -0.25, -0.25])
    }

    /// A loader's transform repeats for the same seed, changes from pass to
    /// pass, and leaves labels alone.
    @Test func dataLoaderAppliesTheTransformSeeded() {
        let x = Self.images(12, 1, 4, 4)
        let data = TensorDataset(features: x, labels: (0..<12).map { $0 % 3 }, classCount: 3)
        let augment = ImageTransforms.compose(RandomCrop(padding: 1), RandomHorizontalFlip())
        func pass(_ loader: DataLoader<TensorDataset>) -> [[Double]] { loader.map { $0.inputs.scalars } }
        let a = DataLoader(data, batchSize: 5, seed: 4, transform: augment)
        let b = DataLoader(data, batchSize: 5, seed: 4, transform: augment)
        let firstA = pass(a), firstB = pass(b)
        #expect(firstA == firstB)
        #expect(pass(a) != firstA, "the second pass draws anew")
        #expect(firstA != pass(DataLoader(data, batchSize: 5, seed: 4)), "the transform ran")
        #expect(DataLoader(data, batchSize: 5, seed: 4, transform: augment).flatMap(\.labels) == data.labels)
    }
}
