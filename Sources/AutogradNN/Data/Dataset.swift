import AutogradOps
import AutogradTensor

/// A mini-batch: inputs stacked along a new first axis, and their class labels.
public struct Batch {
    public let inputs: Tensor
    public let labels: [Int]

    public init(inputs: Tensor, labels: [Int]) {
        self.inputs = inputs
        self.labels = labels
    }

    /// The labels as a [batch] tensor of class indices, the form
    /// `crossEntropy(logits:labels:)` with a tensor and compiled steps take.
    ///
    /// ```swift
    /// let loss = step(batch.inputs, batch.labelTensor())
    /// ```
    public func labelTensor(dtype: DType = .float32) -> Tensor {
        Tensor(shape: [labels.count], scalars: labels.map(Double.init), dtype: dtype)
    }
}

/// A collection of labelled examples that can be read in batches.
public protocol Dataset {
    /// Number of examples.
    var count: Int { get }
    /// The examples at `indices`, stacked into one batch.
    func batch(_ indices: [Int]) -> Batch
}

/// Something a file or generator turned out not to be: the path (or source)
/// and what is wrong, in one line.
public struct DataError: Error, CustomStringConvertible {
    public let source: String
    public let reason: String
    public init(_ source: String, _ reason: String) {
        self.source = source
        self.reason = reason
    }
    public var description: String { "\(source): \(reason)" }
}

/// Examples held in memory: a features tensor [count, …] and integer labels.
///
/// ```swift
/// let data = TensorDataset(features: Tensor.randn([100, 2]), labels: labels, classCount: 2)
/// let (train, test) = data.split(testFraction: 0.2, seed: 1)
/// ```
public struct TensorDataset: Dataset {
    /// All features, [count] + ``featureShape``.
    public let features: Tensor
    public let labels: [Int]
    /// Number of classes; labels lie in 0..<classCount.
    public let classCount: Int

    public init(features: Tensor, labels: [Int], classCount: Int? = nil) {
        guard features.rank >= 1, features.shape[0] == labels.count else {
            fatalError("TensorDataset: features of shape \(ShapeRules.describe(features.shape)) need one label per row; got \(labels.count)")
        }
        let classes = classCount ?? ((labels.max() ?? -1) + 1)
        if let bad = labels.firstIndex(where: { $0 < 0 || $0 >= classes }) {
            fatalError("TensorDataset: label \(labels[bad]) at row \(bad) is out of range 0..<\(classes)")
        }
        self.features = features.detach().contiguous()
        self.labels = labels
        self.classCount = classes
    }

    public var count: Int { labels.count }

    /// The shape of one example.
    public var featureShape: [Int] { Array(features.shape.dropFirst()) }

    public func batch(_ indices: [Int]) -> Batch {
        let width = ShapeRules.count(featureShape)
        let inputs = noGrad { features.reshaped([count, width]).rows(indices).reshaped([indices.count] + featureShape) }
        return Batch(inputs: inputs, labels: indices.map { labels[$0] })
    }

    /// The examples at `indices`, as a new dataset.
    public func subset(_ indices: [Int]) -> TensorDataset {
        let b = batch(indices)
        return TensorDataset(features: b.inputs, labels: b.labels, classCount: classCount)
    }

    /// A shuffled split into train and test parts; `testFraction` of the
    /// examples (rounded) go to test. The same seed gives the same split.
    public func split(testFraction: Double, seed: UInt64) -> (train: TensorDataset, test: TensorDataset) {
        guard testFraction >= 0 && testFraction <= 1 else {
            fatalError("split: testFraction \(testFraction) is outside [0, 1]")
        }
        var rng = RandomGenerator(seed: seed)
        let order = Array(0..<count).shuffled(using: &rng)
        let testCount = Int((Double(count) * testFraction).rounded())
        return (subset(Array(order[testCount...])), subset(Array(order[..<testCount])))
    }
}

/// Mini-batches of a dataset, one pass per iteration, optionally shuffled.
/// Each pass over the loader is an epoch; with `shuffle`, epoch e's order
/// depends only on `seed` and e, so runs repeat.
///
/// ```swift
/// let loader = DataLoader(train, batchSize: 32, shuffle: true, seed: 0)
/// for epoch in 0..<10 {
///     for batch in loader { /* … */ }
/// }
/// ```
public final class DataLoader<D: Dataset>: Sequence {
    public let dataset: D
    public let batchSize: Int
    public let shuffle: Bool
    public let dropLast: Bool
    public let seed: UInt64
    /// Applied to each batch's inputs (images [N, C, H, W]), with a generator
    /// seeded from `seed`, the pass and the batch's index: augmentation that
    /// repeats run to run and differs epoch to epoch.
    public let transform: (any ImageTransform)?
    /// Passes started so far.
    public private(set) var epoch = 0

    public init(_ dataset: D, batchSize: Int, shuffle: Bool = false, dropLast: Bool = false, seed: UInt64 = 0,
                transform: (any ImageTransform)? = nil) {
        guard batchSize > 0 else { fatalError("DataLoader: batchSize must be positive, got \(batchSize)") }
        self.dataset = dataset
        self.batchSize = batchSize
        self.shuffle = shuffle
        self.dropLast = dropLast
        self.seed = seed
        self.transform = transform
    }

    /// Batches per pass.
    public var batchCount: Int {
        dropLast ? dataset.count / batchSize : (dataset.count + batchSize - 1) / batchSize
    }

    public func makeIterator() -> AnyIterator<Batch> {
        var order = Array(0..<dataset.count)
        if shuffle {
            var rng = RandomGenerator(seed: seed &+ 0x9E37_79B9 &* UInt64(epoch + 1))
            order.shuffle(using: &rng)
        }
        epoch += 1
        let batches = batchCount
        var next = 0
        let dataset = self.dataset, size = batchSize, transform = self.transform
        let passSeed = seed ^ (0xA24B_AED4_963E_E407 &* UInt64(epoch))
        return AnyIterator {
            guard next < batches else { return nil }
            let start = next * size
            next += 1
            let batch = dataset.batch(Array(order[start..<Swift.min(start + size, order.count)]))
            guard let transform else { return batch }
            var rng = RandomGenerator(seed: passSeed &+ 0x9E37_79B9_7F4A_7C15 &* UInt64(next))
            return Batch(inputs: transform(batch.inputs, generator: &rng), labels: batch.labels)
        }
    }
}
