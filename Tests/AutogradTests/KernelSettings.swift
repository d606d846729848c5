import Autograd
import Foundation

/// The kernels' SIMD switch and thread count are process-wide, and tests run
/// in parallel: a test that sets either, or that compares results computed
/// under different settings, runs its body under this lock, so that no other
/// test changes them underneath it. The settings are restored afterwards.
enum KernelSettings {
    private static let lock = NSRecursiveLock()

    static func with<R>(simd: Bool? = nil, threads: Int? = nil, _ body: () throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        let (simdBefore, threadsBefore) = (Kernels.usesSIMD, Kernels.threadCount)
        defer {
            Kernels.usesSIMD = simdBefore
            Kernels.threadCount = threadsBefore
        }
        if let simd { Kernels.usesSIMD = simd }
        if let threads { Kernels.threadCount = threads }
        return try body()
    }
}
