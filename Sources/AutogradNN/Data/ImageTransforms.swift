import AutogradOps
import AutogradTensor

/// A change to a batch of images [N, C, H, W], drawn from `generator` when
/// it is random, as torchvision's transforms are (but on whole batches).
/// ``DataLoader`` applies one to every batch it yields.
///
/// ```swift
/// let augment = ImageTransforms.compose(
///     RandomCrop(padding: 4), RandomHorizontalFlip(), Normalize(mean: [0.286], std: [0.353]))
/// let loader = DataLoader(train, batchSize: 128, shuffle: true, seed: 1, transform: augment)
/// ```
public protocol ImageTransform: Sendable {
    /// The transformed batch; `images` is [N, C, H, W] and is not changed.
    func callAsFunction(_ images: Tensor, generator: inout RandomGenerator) -> Tensor
}

/// Builds transforms that run one after another.
public enum ImageTransforms {
    /// `transforms` applied in order (torchvision's `Compose`).
    public static func compose(_ transforms: any ImageTransform...) -> any ImageTransform {
        Composed(transforms: transforms)
    }

    struct Composed: ImageTransform {
        let transforms: [any ImageTransform]
        func callAsFunction(_ images: Tensor, generator: inout RandomGenerator) -> Tensor {
            transforms.reduce(images) { x, t in t(x, generator: &generator) }
        }
    }

    /// [N, C, H, W] or a message naming the transform and the shape.
    static func checkImages(_ images: Tensor, _ transform: String) -> (n: Int, c: Int, h: Int, w: Int) {
        guard images.rank == 4 else {
            opError(transform, "expects images [N, C, H, W], got \(ShapeRules.describe(images.shape))")
        }
        return (images.shape[0], images.shape[1], images.shape[2], images.shape[3])
    }
}

/// Pads each image by `padding` zeros on every side, then cuts out a window
/// of its original size at a uniformly random offset, one per image
/// (`torchvision.transforms.RandomCrop(size, padding)` with size = the
/// image's): the image shifts by up to `padding` pixels each way.
public struct RandomCrop: ImageTransform {
    public let padding: Int

    public init(padding: Int) {
        guard padding >= 0 else { opError("RandomCrop", "padding must be at least 0, got \(padding)") }
        self.padding = padding
    }

    public func callAsFunction(_ images: Tensor, generator: inout RandomGenerator) -> Tensor {
        let (n, c, h, w) = ImageTransforms.checkImages(images, "RandomCrop(padding: \(padding))")
        guard padding > 0 else { return images }
        let x = images.scalars
        var out = [Double](repeating: 0, count: x.count)
        let plane = h * w
        for i in 0..<n {
            // Offsets of the window in the padded image, as shifts of the source.
            let dy = Int.random(in: 0...(2 * padding), using: &generator) - padding
            let dx = Int.random(in: 0...(2 * padding), using: &generator) - padding
            for ch in 0..<c {
                let base = (i * c + ch) * plane
                for y in 0..<h where (0..<h).contains(y + dy) {
                    for xx in 0..<w where (0..<w).contains(xx + dx) {
                        out[base + y * w + xx] = x[base + (y + dy) * w + xx + dx]
                    }
                }
            }
        }
        return Tensor(shape: images.shape, scalars: out, dtype: images.dtype)
    }
}

/// Mirrors each image left to right with probability `probability`
/// (`torchvision.transforms.RandomHorizontalFlip`).
public struct RandomHorizontalFlip: ImageTransform {
    public let probability: Double

    public init(probability: Double = 0.5) {
        guard (0...1).contains(probability) else {
            opError("RandomHorizontalFlip", "probability must be in [0, 1], got \(probability)")
        }
        self.probability = probability
    }

    public func callAsFunction(_ images: Tensor, generator: inout RandomGenerator) -> Tensor {
        let (n, c, h, w) = ImageTransforms.checkImages(images, "RandomHorizontalFlip(probability: \(probability))")
        var x = images.scalars
        let size = c * h * w
        for i in 0..<n where generator.unitDouble() < probability {
            for row in 0..<(c * h) {
                let start = i * size + row * w
                x[start..<(start + w)].reverse()
            }
        }
        return Tensor(shape: images.shape, scalars: x, dtype: images.dtype)
    }
}

/// `(x − mean[c]) / std[c]` per channel c (`torchvision.transforms.Normalize`);
/// deterministic, so the same transform serves training and test data.
public struct Normalize: ImageTransform {
    public let mean: [Double]
    public let std: [Double]

    public init(mean: [Double], std: [Double]) {
        guard mean.count == std.count, !mean.isEmpty else {
            opError("Normalize", "needs one mean and one std per channel, got \(mean.count) and \(std.count)")
        }
        guard std.allSatisfy({ $0 > 0 }) else { opError("Normalize", "std must be positive, got \(std)") }
        self.mean = mean
        self.std = std
    }

    /// The per-channel mean and (population) standard deviation of `images`
    /// [N, C, H, W], as one computes them once over a training set.
    public init(fittedTo images: Tensor) {
        let (_, c, _, _) = ImageTransforms.checkImages(images, "Normalize(fittedTo:)")
        let perChannel = noGrad { images.transposed(0, 1).reshaped([c, -1]) }
        let mean = noGrad { perChannel.mean(alongAxes: [1]) }.scalars
        let variance = noGrad { (perChannel - Tensor(shape: [c, 1], scalars: mean, dtype: images.dtype)).squared().mean(alongAxes: [1]) }.scalars
        self.init(mean: mean, std: variance.map { Swift.max($0.squareRoot(), 1e-12) })
    }

    public func callAsFunction(_ images: Tensor, generator: inout RandomGenerator) -> Tensor {
        let (_, c, _, _) = ImageTransforms.checkImages(images, "Normalize")
        guard c == mean.count else {
            opError("Normalize", "has \(mean.count) channel statistics, images \(ShapeRules.describe(images.shape)) have \(c) channels")
        }
        let shape = [1, c, 1, 1]
        return noGrad {
            (images - Tensor(shape: shape, scalars: mean, dtype: images.dtype))
                / Tensor(shape: shape, scalars: std, dtype: images.dtype)
        }
    }
}
