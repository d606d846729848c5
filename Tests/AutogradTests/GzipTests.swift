import Autograd
import CZlib
import Foundation
import Testing

/// gzip-compressed IDX files: the same data as plain ones, and clear errors
/// for damaged streams.
@Suite("Gzip")
struct GzipTests {
    /// `data` as a gzip stream, made with zlib's deflate (windowBits 31: gzip framing).
    static func gzip(_ data: [UInt8]) -> [UInt8] {
        var stream = z_stream()
        #expect(deflateInit2_(&stream, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION,
                              Int32(MemoryLayout<z_stream>.size)) == Z_OK)
        defer { deflateEnd(&stream) }
        var input = data
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(data.count))) + 32)
        let written = input.withUnsafeMutableBufferPointer { inp in
            output.withUnsafeMutableBufferPointer { out in
                stream.next_in = inp.baseAddress
                stream.avail_in = UInt32(inp.count)
                stream.next_out = out.baseAddress
                stream.avail_out = UInt32(out.count)
                #expect(deflate(&stream, Z_FINISH) == Z_STREAM_END)
                return out.count - Int(stream.avail_out)
            }
        }
        return Array(output.prefix(written))
    }

    /// An IDX file of unsigned bytes.
    static func idx(_ dims: [Int], _ data: [UInt8]) -> [UInt8] {
        [0, 0, 8, UInt8(dims.count)] + dims.flatMap { d in [UInt8(d >> 24), UInt8(d >> 16 & 255), UInt8(d >> 8 & 255), UInt8(d & 255)] } + data
    }

    @Test func compressedFilesLoadLikePlainOnes() throws {
        let folder = TemporaryFolder()
        let pixels = (0..<(5 * 4 * 3)).map { UInt8($0 * 4) }
        folder.write("t10k-images-idx3-ubyte.gz", Self.gzip(Self.idx([5, 4, 3], pixels)))
        folder.write("t10k-labels-idx1-ubyte.gz", Self.gzip(Self.idx([5], [0, 9, 3, 3, 1])))
        let test = try MNIST.load(directory: folder.path, split: .test)
        #expect(test.features.shape == [5, 1, 4, 3])
        #expect(test.labels == [0, 9, 3, 3, 1])
        expectClose(test.features.scalars, pixels.map { Double($0) / 255 }, tolerance: 1e-7, "pixels")
    }

    @Test func damagedStreamsAreErrors() {
        let data = Self.gzip(Self.idx([64], (0..<64).map { UInt8($0 * 3 % 256) }))
        func reason(_ bytes: [UInt8]) -> String {
            do {
                _ = try Gzip.decompress(bytes, source: "x.gz")
                return "no error"
            } catch {
                return error.description
            }
        }
        #expect(reason(Array(data.prefix(data.count / 2))).contains("x.gz: truncated gzip data"))
        var corrupt = data
        corrupt[12] ^= 0xFF
        corrupt[13] ^= 0x5A
        #expect(reason(corrupt).contains("x.gz: corrupt gzip data"))
        // A stream that inflates past the limit stops there, whatever its trailer claims.
        let zeros = Self.gzip([UInt8](repeating: 0, count: 3 << 20))
        do {
            _ = try Gzip.decompress(zeros, source: "bomb.gz", limit: 1 << 20)
            Issue.record("a stream past the limit was inflated")
        } catch {
            #expect(error.description.contains("inflates to more than 1048576 bytes"))
        }
        #expect((try? Gzip.decompress(zeros, source: "zeros.gz"))?.count == 3 << 20)
    }

    /// Debian's dataset-fashion-mnist, where it is installed (`make fashion` installs it).
    @Test(.enabled(if: FileManager.default.fileExists(atPath: MNIST.fashionMNISTDirectory + "/t10k-images-idx3-ubyte.gz")))
    func fashionMNISTTestSetLoads() throws {
        let test = try MNIST.load(directory: MNIST.fashionMNISTDirectory, split: .test)
        #expect(test.features.shape == [10000, 1, 28, 28])
        // The test set holds 1,000 images of each class.
        #expect((0..<10).allSatisfy { c in test.labels.filter { $0 == c }.count == 1000 })
    }
}
