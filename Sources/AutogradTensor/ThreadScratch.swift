#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Scratch memory of the calling thread for kernels that need a workspace
/// only while they run (a convolution's column tiles): one 64-byte aligned
/// buffer per thread, grown when a call needs more and kept until the thread
/// ends, so steady-state calls (a compiled training step) allocate nothing.
package enum ThreadScratch {
    private struct Buffer {
        var pointer: UnsafeMutableRawPointer?
        var bytes = 0
    }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { raw in
            guard let raw else { return }
            let buffer = raw.assumingMemoryBound(to: Buffer.self)
            free(buffer.pointee.pointer)
            free(raw)
        }
        return key
    }()

    /// Runs `body` with at least `bytes` of this thread's scratch. `body`
    /// must not call `withBuffer` itself: the memory is the thread's one buffer.
    package static func withBuffer<R>(bytes: Int, _ body: (UnsafeMutableRawPointer) throws -> R) rethrows -> R {
        let buffer: UnsafeMutablePointer<Buffer>
        if let p = pthread_getspecific(key) {
            buffer = p.assumingMemoryBound(to: Buffer.self)
        } else {
            buffer = malloc(MemoryLayout<Buffer>.stride)!.bindMemory(to: Buffer.self, capacity: 1)
            buffer.initialize(to: Buffer())
            pthread_setspecific(key, buffer)
        }
        if buffer.pointee.bytes < bytes {
            free(buffer.pointee.pointer)
            var p: UnsafeMutableRawPointer?
            guard posix_memalign(&p, 64, bytes) == 0, let p else {
                fatalError("ThreadScratch: cannot allocate \(bytes) bytes of scratch memory")
            }
            buffer.pointee = Buffer(pointer: p, bytes: bytes)
        }
        return try body(buffer.pointee.pointer!)
    }
}
