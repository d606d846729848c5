import Autograd

/// Any bytes given to the NPY reader either give a tensor or throw a DataError.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNPY(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let tensor = try? NPY.decode(bytes) { _ = tensor.scalars }
    return 0
}
