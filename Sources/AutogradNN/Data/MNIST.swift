import AutogradOps
import AutogradTensor
import Glibc

/// MNIST or Fashion-MNIST from their IDX files in a folder:
/// `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
/// `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`, each plain or
/// gzip-compressed (the same name with `.gz`, as the datasets ship and as
/// Debian's `dataset-fashion-mnist` installs them under ``fashionMNISTDirectory``).
/// Pixels are scaled to [0, 1]; images load as [N, 1, rows, columns].
///
/// ```swift
/// let train = try MNIST.load(directory: MNIST.fashionMNISTDirectory, split: .train)  // [60000, 1, 28, 28]
/// ```
public enum MNIST {
    public enum Split: Sendable { case train, test }

    /// Where Debian's `dataset-fashion-mnist` package puts Fashion-MNIST.
    public static let fashionMNISTDirectory = "/usr/share/datasets/fashion-mnist"

    /// Fashion-MNIST's class names, by label.
    public static let fashionClassNames = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                                           "Sneaker", "Bag", "Ankle boot"]

    public static func load(directory: String, split: Split) throws(DataError) -> TensorDataset {
        let prefix = split == .train ? "train" : "t10k"
        let imagesPath = try locate(directory + "/\(prefix)-images-idx3-ubyte")
        let labelsPath = try locate(directory + "/\(prefix)-labels-idx1-ubyte")
        let images = try IDX.read(imagesPath)
        let labels = try IDX.read(labelsPath)
        guard images.dimensions.count == 3 else {
            throw DataError(imagesPath, "expected 3 dimensions (count, rows, columns), found \(images.dimensions.count)")
        }
        guard labels.dimensions.count == 1 else {
            throw DataError(labelsPath, "expected 1 dimension, found \(labels.dimensions.count)")
        }
        guard images.dimensions[0] == labels.dimensions[0] else {
            throw DataError(directory, "\(images.dimensions[0]) images but \(labels.dimensions[0]) labels")
        }
        let classes = labels.data.map(Int.init)
        if let bad = classes.firstIndex(where: { $0 > 9 }) {
            throw DataError(labelsPath, "label \(classes[bad]) at index \(bad) is not a class 0…9")
        }
        let d = images.dimensions
        let features = Tensor(shape: [d[0], 1, d[1], d[2]], scalars: images.data.map { Float($0) / 255 })
        return TensorDataset(features: features, labels: classes, classCount: 10)
    }

    /// `path`, or `path.gz` when only that exists.
    private static func locate(_ path: String) throws(DataError) -> String {
        if access(path, F_OK) == 0 { return path }
        if access(path + ".gz", F_OK) == 0 { return path + ".gz" }
        throw DataError(path, "no such file, nor \(path).gz")
    }
}

/// The IDX format of MNIST: a magic number (two zero bytes, a type code,
/// the number of dimensions), big-endian 32-bit sizes, then the data.
/// Only unsigned bytes (type 0x08) are read.
///
/// ```swift
/// let (dimensions, pixels) = try IDX.read("train-images-idx3-ubyte")  // [60000, 28, 28]
/// ```
public enum IDX {
    /// The dimensions and data of an IDX file.
    public static func read(_ path: String) throws(DataError) -> (dimensions: [Int], data: ArraySlice<UInt8>) {
        let bytes: [UInt8]
        do { bytes = try AtomicFile.read(path) } catch { throw DataError(path, error.reason) }
        return try decode(bytes, source: path)
    }

    /// The dimensions and data of an IDX file's bytes; `source` names them in errors.
    public static func decode(_ bytes: [UInt8], source path: String = "idx") throws(DataError)
        -> (dimensions: [Int], data: ArraySlice<UInt8>) {
        guard bytes.count >= 4 else { throw DataError(path, "file is \(bytes.count) bytes, too short for an IDX header") }
        if Gzip.isCompressed(bytes) {
            return try decode(Gzip.decompress(bytes, source: path), source: path)
        }
        guard bytes[0] == 0, bytes[1] == 0 else { throw DataError(path, "not an IDX file (bad magic number)") }
        guard bytes[2] == 0x08 else {
            throw DataError(path, "IDX element type 0x\(String(bytes[2], radix: 16)) is not supported (only unsigned bytes, 0x08)")
        }
        let rank = Int(bytes[3])
        guard rank >= 1, bytes.count >= 4 + 4 * rank else {
            throw DataError(path, "truncated header: \(rank) dimensions need \(4 + 4 * rank) bytes")
        }
        let dims = (0..<rank).map { d in
            let o = 4 + 4 * d
            return Int(bytes[o]) << 24 | Int(bytes[o + 1]) << 16 | Int(bytes[o + 2]) << 8 | Int(bytes[o + 3])
        }
        guard let total = ShapeRules.checkedCount(dims) else {
            throw DataError(path, "dimensions \(ShapeRules.describe(dims)) hold more values than can be counted")
        }
        let start = 4 + 4 * rank
        guard bytes.count - start == total else {
            throw DataError(path, "dimensions \(ShapeRules.describe(dims)) need \(total) data bytes, the file has \(bytes.count - start)")
        }
        return (dims, bytes[start...])
    }
}
