import AutogradOps
import AutogradTensor
import Foundation

/// NumPy's `.npy` files: a magic string, a version, a header that is a
/// Python dict literal (`descr`, `fortran_order`, `shape`), then the data.
///
/// ```swift
/// let x = try NPY.load("features.npy")          // float32 or float64
/// try NPY.save(x, to: "copy.npy")
/// ```
public enum NPY {
    /// Reads an array. Little-endian floats (`<f4`, `<f8`) keep their
    /// precision; integer and bool arrays (`|u1`, `|i1`, `<i2`, `<i4`, `<i8`, `<u2`, `<u4`, `|b1`) become float32.
    public static func load(_ path: String) throws(DataError) -> Tensor {
        let bytes: [UInt8]
        do { bytes = try AtomicFile.read(path) } catch { throw DataError(path, error.reason) }
        return try decode(bytes, source: path)
    }

    /// Reads an array from the bytes of a `.npy` file; `source` names them in errors.
    public static func decode(_ bytes: [UInt8], source path: String = "npy") throws(DataError) -> Tensor {
        let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93NUMPY
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else { throw DataError(path, "not a .npy file (bad magic)") }
        let major = bytes[6]
        let headerLength: Int, headerStart: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw DataError(path, "truncated header") }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            headerStart = 12
        default:
            throw DataError(path, "unsupported .npy version \(major)")
        }
        guard headerStart + headerLength <= bytes.count,
              let header = String(validating: bytes[headerStart..<(headerStart + headerLength)], as: UTF8.self)
        else { throw DataError(path, "truncated or unreadable header") }
        guard let descr = field(header, "descr").flatMap(quoted) else { throw DataError(path, "header has no 'descr'") }
        guard let fortranText = field(header, "fortran_order") else { throw DataError(path, "header has no 'fortran_order'") }
        guard let shapeText = field(header, "shape"), let shape = tuple(shapeText) else {
            throw DataError(path, "header has no readable 'shape'")
        }
        let fortran = fortranText.hasPrefix("True")

        let (itemSize, decode): (Int, (UnsafeRawPointer) -> Double)
        var dtype = DType.float32
        switch descr {
        case "<f4": (itemSize, decode) = (4, { Double($0.loadUnaligned(as: Float.self)) })
        case "<f8": (itemSize, decode) = (8, { $0.loadUnaligned(as: Double.self) }); dtype = .float64
        case "|u1", "<u1": (itemSize, decode) = (1, { Double($0.load(as: UInt8.self)) })
        case "|b1": (itemSize, decode) = (1, { $0.load(as: UInt8.self) != 0 ? 1 : 0 })
        case "|i1", "<i1": (itemSize, decode) = (1, { Double($0.load(as: Int8.self)) })
        case "<i2": (itemSize, decode) = (2, { Double($0.loadUnaligned(as: Int16.self)) })
        case "<u2": (itemSize, decode) = (2, { Double($0.loadUnaligned(as: UInt16.self)) })
        case "<i4": (itemSize, decode) = (4, { Double($0.loadUnaligned(as: Int32.self)) })
        case "<u4": (itemSize, decode) = (4, { Double($0.loadUnaligned(as: UInt32.self)) })
        case "<i8": (itemSize, decode) = (8, { Double($0.loadUnaligned(as: Int64.self)) })
        default: throw DataError(path, "dtype '\(descr)' is not supported")
        }
        guard let count = ShapeRules.checkedCount(shape), count <= bytes.count else {
            throw DataError(path, "shape \(ShapeRules.describe(shape)) is larger than the file")
        }
        let dataStart = headerStart + headerLength
        guard bytes.count - dataStart == count * itemSize else {
            throw DataError(path, "shape \(ShapeRules.describe(shape)) of \(descr) needs \(count * itemSize) data bytes, the file has \(bytes.count - dataStart)")
        }
        let values = bytes.withUnsafeBytes { buffer in
            (0..<count).map { decode(buffer.baseAddress! + dataStart + $0 * itemSize) }
        }
        if fortran {
            // Column-major: read with the shape reversed, then reverse the axes.
            let t = Tensor(shape: shape.reversed(), scalars: values, dtype: dtype)
            return t.permuted(Array((0..<shape.count).reversed())).contiguous()
        }
        return Tensor(shape: shape, scalars: values, dtype: dtype)
    }

    /// Writes a tensor as a version 1.0 `.npy` file (`<f4` or `<f8`), atomically.
    public static func save(_ tensor: Tensor, to path: String) throws(DataError) {
        let descr = tensor.dtype == .float32 ? "<f4" : "<f8"
        let shape = tensor.shape.count == 1 ? "(\(tensor.shape[0]),)"
            : "(" + tensor.shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shape), }"
        // Pad so that the data starts on a multiple of 64 bytes, ending in a newline.
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var bytes: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0]
        let length = header.utf8.count
        bytes += [UInt8(length & 0xff), UInt8(length >> 8)]
        bytes += Array(header.utf8)
        let values = tensor.contiguousValues()
        bytes += UnsafeRawBufferPointer(start: values.pointer, count: values.scalarCount * values.dtype.byteSize)
        do { try AtomicFile.write(bytes, to: path) } catch { throw DataError(path, error.reason) }
    }

    /// The text after `'key':` up to the next top-level comma or brace.
    private static func field(_ header: String, _ key: String) -> String? {
        guard let range = header.range(of: "'\(key)':") else { return nil }
        var depth = 0
        var out = ""
        for ch in header[range.upperBound...] {
            if ch == "(" { depth += 1 }
            if ch == ")" { depth -= 1 }
            if depth == 0 && (ch == "," || ch == "}") { break }
            out.append(ch)
            if depth == 0 && ch == ")" { break }
        }
        return out.trimmingCharacters(in: .whitespaces)
    }

    private static func quoted(_ text: String) -> String? {
        guard text.count >= 2, let q = text.first, q == "'" || q == "\"", text.last == q else { return nil }
        return String(text.dropFirst().dropLast())
    }

    private static func tuple(_ text: String) -> [Int]? {
        guard text.hasPrefix("("), text.hasSuffix(")") else { return nil }
        let inner = text.dropFirst().dropLast()
        var dims: [Int] = []
        for part in inner.split(separator: ",") {
            let trimmed = part.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            guard let d = Int(trimmed), d >= 0 else { return nil }
            dims.append(d)
        }
        return dims
    }
}
