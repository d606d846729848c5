import Autograd

/// Tests that choose the kernels' SIMD path or thread count do it for their
/// own thread only (``Kernels/withSIMD(_:_:)``, ``Kernels/withThreadCount(_:_:)``),
/// so suites running in parallel never change them underneath each other.
enum KernelSettings {
    static func with<R>(simd: Bool? = nil, threads: Int? = nil, _ body: () throws -> R) rethrows -> R {
        switch (simd, threads) {
        case (nil, nil): try body()
        case (let simd?, nil): try Kernels.withSIMD(simd, body)
        case (nil, let threads?): try Kernels.withThreadCount(threads, body)
        case (let simd?, let threads?): try Kernels.withSIMD(simd) { try Kernels.withThreadCount(threads, body) }
        }
    }
}
