import AutogradOps
import AutogradTensor
import CKernels
import Foundation

/// Reads and writes the safetensors format: an 8-byte little-endian header
/// length N, N bytes of JSON describing each tensor (`dtype`, `shape`,
/// `data_offsets` into the data that follows) plus an optional
/// `__metadata__` map of strings, then the raw little-endian data.
///
/// Files written here (F32, F64) load in Python's `safetensors`, and files it
/// writes load here: F32 and F64 as they are, F16 and BF16 widened to
/// float32, and the integer types PyTorch puts in state dicts (I64, I32, I16,
/// I8, U8, BOOL; BatchNorm's `num_batches_tracked` is I64) as float64, exact
/// up to 2⁵³. Reading checks everything a hostile file could
/// get wrong — header length, JSON, dtypes, shapes, offsets — and throws
/// rather than crash or allocate what the header claims.
///
/// ```swift
/// try SafeTensors.save(["w": w, "b": b], metadata: ["epoch": "3"], to: "model.safetensors")
/// let (tensors, metadata) = try SafeTensors.load(from: "model.safetensors")
/// ```
public enum SafeTensors {
    /// The largest header accepted, as in the reference implementation.
    static let maxHeaderSize = 100_000_000

    /// The file's bytes: tensors sorted by name, data in that order, header
    /// compact JSON padded with spaces to a multiple of 8 bytes.
    public static func encode(_ tensors: [String: Tensor], metadata: [String: String] = [:]) -> [UInt8] {
        let names = tensors.keys.sorted()
        var entries: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }
            entries.append("\"__metadata__\":{" + pairs.joined(separator: ",") + "}")
        }
        var offset = 0
        for name in names {
            let t = tensors[name]!
            let size = t.scalarCount * t.dtype.byteSize
            let shape = t.shape.map(String.init).joined(separator: ",")
            entries.append("\(jsonString(name)):{\"dtype\":\"\(tag(t.dtype))\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + size)]}")
            offset += size
        }
        var header = Array(("{" + entries.joined(separator: ",") + "}").utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(8 + header.count + offset)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { bytes += $0 }
        bytes += header
        for name in names {
            let t = tensors[name]!.contiguousValues()
            bytes += UnsafeRawBufferPointer(start: t.pointer, count: t.scalarCount * t.dtype.byteSize)
        }
        return bytes
    }

    /// Parses a file's bytes; throws ``CheckpointError/corrupt(_:)`` or
    /// ``CheckpointError/unsupportedDType(name:dtype:)`` naming what is wrong.
    public static func decode(_ bytes: [UInt8]) throws(CheckpointError) -> (tensors: [String: Tensor], metadata: [String: String]) {
        guard bytes.count >= 8 else {
            throw .corrupt("file is \(bytes.count) bytes, shorter than the 8-byte header length")
        }
        var length: UInt64 = 0
        for i in 0..<8 { length |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard length <= UInt64(maxHeaderSize) else {
            throw .corrupt("header length \(length) exceeds the limit of \(maxHeaderSize) bytes")
        }
        guard length <= UInt64(bytes.count - 8) else {
            throw .corrupt("header length \(length) runs past the end of the \(bytes.count)-byte file")
        }
        let headerEnd = 8 + Int(length)
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes[8..<headerEnd])),
              let header = object as? [String: Any]
        else { throw .corrupt("header is not a JSON object") }

        var metadata: [String: String] = [:]
        if let raw = header["__metadata__"] {
            guard let map = raw as? [String: Any] else { throw .corrupt("__metadata__ is not an object") }
            for (k, v) in map {
                guard let s = v as? String else { throw .corrupt("metadata value for \(k) is not a string") }
                metadata[k] = s
            }
        }

        struct Entry { let name: String; let stored: StoredType; let shape: [Int]; let begin: Int; let end: Int }
        var entries: [Entry] = []
        let dataSize = bytes.count - headerEnd
        for (name, raw) in header where name != "__metadata__" {
            guard let info = raw as? [String: Any] else { throw .corrupt("entry \(name) is not an object") }
            guard let tagName = info["dtype"] as? String else { throw .corrupt("tensor \(name) has no dtype") }
            guard let stored = StoredType(rawValue: tagName) else { throw .unsupportedDType(name: name, dtype: tagName) }
            guard let rawShape = info["shape"] as? [Any] else { throw .corrupt("tensor \(name) has no shape") }
            let shape = try rawShape.map { value throws(CheckpointError) -> Int in
                guard let d = integer(value), d >= 0 else { throw .corrupt("tensor \(name) has a bad dimension in its shape") }
                return d
            }
            guard let offsets = info["data_offsets"] as? [Any], offsets.count == 2,
                  let begin = integer(offsets[0]), let end = integer(offsets[1]), 0 <= begin, begin <= end
            else { throw .corrupt("tensor \(name) has bad data_offsets") }
            guard end <= dataSize else {
                throw .corrupt("tensor \(name) ends at byte \(end) of a \(dataSize)-byte data section")
            }
            guard let count = ShapeRules.checkedCount(shape), count <= dataSize else {
                throw .corrupt("tensor \(name) has shape \(ShapeRules.describe(shape)), larger than the file")
            }
            guard end - begin == count * stored.byteSize else {
                throw .corrupt("tensor \(name) of shape \(ShapeRules.describe(shape)) (\(tagName)) needs \(count * stored.byteSize) bytes but its offsets span \(end - begin)")
            }
            entries.append(Entry(name: name, stored: stored, shape: shape, begin: begin, end: end))
        }
        // The tensors must tile the data section exactly: no gaps, no overlaps.
        var position = 0
        for e in entries.sorted(by: { ($0.begin, $0.end) < ($1.begin, $1.end) }) {
            guard e.begin == position else {
                throw .corrupt("tensor \(e.name) starts at byte \(e.begin), expected \(position) (gap or overlap)")
            }
            position = e.end
        }
        guard position == dataSize else {
            throw .corrupt("data section is \(dataSize) bytes but the tensors cover \(position)")
        }

        var tensors: [String: Tensor] = [:]
        bytes.withUnsafeBytes { buffer in
            for e in entries {
                let t = Tensor(uninitializedShape: e.shape, dtype: e.stored.dtype)
                if e.end > e.begin {
                    e.stored.convert(UnsafeRawBufferPointer(rebasing: buffer[(headerEnd + e.begin)..<(headerEnd + e.end)]),
                                     into: t.pointer)
                }
                tensors[e.name] = t
            }
        }
        return (tensors, metadata)
    }

    /// Writes tensors and metadata to `path` atomically (temporary file,
    /// fsync, rename): a crash mid-save leaves any previous file intact.
    public static func save(_ tensors: [String: Tensor], metadata: [String: String] = [:], to path: String) throws(CheckpointError) {
        do {
            try AtomicFile.write(encode(tensors, metadata: metadata), to: path)
        } catch {
            throw .writeFailed(error.description)
        }
    }

    /// Reads a safetensors file.
    public static func load(from path: String) throws(CheckpointError) -> (tensors: [String: Tensor], metadata: [String: String]) {
        let bytes: [UInt8]
        do {
            bytes = try AtomicFile.read(path)
        } catch {
            throw .io(error.description)
        }
        do {
            return try decode(bytes)
        } catch {
            throw error.at(path)
        }
    }

    static func tag(_ dtype: DType) -> String {
        switch dtype {
        case .float32: "F32"
        case .float64: "F64"
        }
    }

    /// A dtype a file may hold, and how its values become one of ours.
    enum StoredType: String {
        case f64 = "F64", f32 = "F32", f16 = "F16", bf16 = "BF16"
        case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8", u8 = "U8", bool = "BOOL"

        var byteSize: Int {
            switch self {
            case .f64, .i64: 8
            case .f32, .i32: 4
            case .f16, .bf16, .i16: 2
            case .i8, .u8, .bool: 1
            }
        }

        /// Floats stay floats (half widths widen to float32); integers become float64.
        var dtype: DType {
            switch self {
            case .f32, .f16, .bf16: .float32
            default: .float64
            }
        }

        /// Copies little-endian values from `source` (unaligned) into `destination` as ``dtype``.
        func convert(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawPointer) {
            let n = source.count / byteSize
            func widen<T: FixedWidthInteger>(_: T.Type) {
                let out = destination.assumingMemoryBound(to: Double.self)
                for i in 0..<n { out[i] = Double(T(littleEndian: source.loadUnaligned(fromByteOffset: i * byteSize, as: T.self))) }
            }
            switch self {
            case .f32, .f64:
                destination.copyMemory(from: source.baseAddress!, byteCount: source.count)
            case .f16:
                let out = destination.assumingMemoryBound(to: Float.self)
                for i in 0..<n {
                    let bits = UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                    out[i] = Float(Float16(bitPattern: bits))
                }
            case .bf16:
                let out = destination.assumingMemoryBound(to: Float.self)
                for i in 0..<n {
                    let bits = UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                    out[i] = Float(bitPattern: UInt32(bits) << 16)
                }
            case .i64: widen(Int64.self)
            case .i32: widen(Int32.self)
            case .i16: widen(Int16.self)
            case .i8: widen(Int8.self)
            case .u8: widen(UInt8.self)
            case .bool:
                let out = destination.assumingMemoryBound(to: Double.self)
                for i in 0..<n { out[i] = source[i] == 0 ? 0 : 1 }
            }
        }
    }

    private static func integer(_ value: Any) -> Int? {
        guard let n = value as? NSNumber else { return nil }
        let d = n.doubleValue
        guard d == d.rounded(), Swift.abs(d) < 0x1p53 else { return nil }
        return Int(d)
    }

    /// A JSON string literal.
    static func jsonString(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                out += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count)
                    + String(scalar.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
