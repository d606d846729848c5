import CZlib

/// gzip decompression through zlib, for data files shipped compressed
/// (Fashion-MNIST's `.gz` IDX files). The output grows as zlib produces it,
/// up to `limit` bytes: the size a gzip trailer claims is never trusted.
///
/// ```swift
/// let idx = try Gzip.decompress(AtomicFile.read("train-images-idx3-ubyte.gz"), source: "train-images")
/// ```
public enum Gzip {
    /// Whether `bytes` start with gzip's magic number.
    public static func isCompressed(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b
    }

    /// The data of the gzip stream in `bytes`. Throws, naming `source`, on a
    /// corrupt or truncated stream, or one that inflates past `limit` bytes.
    public static func decompress(_ bytes: [UInt8], source: String, limit: Int = 1 << 30) throws(DataError) -> [UInt8] {
        var stream = z_stream()
        // windowBits 15 + 16: a gzip header and trailer around the deflate data.
        guard inflateInit2_(&stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw DataError(source, "zlib could not start inflating")
        }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        let chunk = 1 << 20
        var status: Int32 = Z_OK
        let failure: String? = bytes.withUnsafeBufferPointer { inBuffer -> String? in
            // zlib reads next_in without writing it (its pointer is not const without Z_CONST).
            stream.next_in = UnsafeMutablePointer(mutating: inBuffer.baseAddress)
            stream.avail_in = UInt32(inBuffer.count)
            while status != Z_STREAM_END {
                let before = output.count
                guard before <= limit else { return "inflates to more than \(limit) bytes" }
                output.append(contentsOf: repeatElement(0, count: chunk))
                let produced: Int = output.withUnsafeMutableBufferPointer { out in
                    stream.next_out = out.baseAddress! + before
                    stream.avail_out = UInt32(chunk)
                    status = inflate(&stream, Z_NO_FLUSH)
                    return chunk - Int(stream.avail_out)
                }
                output.removeLast(chunk - produced)
                if output.count > limit { return "inflates to more than \(limit) bytes" }
                switch status {
                case Z_OK, Z_STREAM_END: continue
                case Z_BUF_ERROR where stream.avail_in == 0: return "truncated gzip data (\(bytes.count) bytes read)"
                case Z_DATA_ERROR: return "corrupt gzip data: " + (stream.msg.map { String(cString: $0) } ?? "bad deflate stream")
                case Z_MEM_ERROR: return "zlib ran out of memory"
                default: return "zlib error \(status)"
                }
            }
            return nil
        }
        if let failure { throw DataError(source, failure) }
        return output
    }
}
