import AutogradOps
import AutogradTensor

/// MNIST or Fashion-MNIST from their IDX files in a folder the user gives:
/// `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
/// `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte` (uncompressed).
/// Pixels are scaled to [0, 1]; images are flattened to 784 features.
///
/// ```swift
/// let train = try MNIST.load(directory: "data/mnist", split: .train)
/// ```
public enum MNIST {
    public enum Split: Sendable { case train, test }

    public static func load(directory: String, split: Split) throws(DataError) -> TensorDataset {
        let prefix = split == .train ? "train" : "t10k"
        let imagesPath = directory + "/\(prefix)-images-idx3-ubyte"
        let labelsPath = directory + "/\(prefix)-labels-idx1-ubyte"
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
            throw DataError(labelsPath, "label \(classes[bad]) at index \(bad) is not a digit class 0…9")
        }
        let count = images.dimensions[0], width = images.dimensions[1] * images.dimensions[2]
        let features = Tensor(shape: [count, width], scalars: images.data.map { Float($0) / 255 })
        return TensorDataset(features: features, labels: classes, classCount: 10)
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
        if bytes[0] == 0x1f && bytes[1] == 0x8b {
            throw DataError(path, "file is gzip-compressed; decompress it first (gunzip)")
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
