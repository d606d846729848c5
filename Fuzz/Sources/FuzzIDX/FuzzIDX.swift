import Autograd

/// Any bytes given to the IDX reader either give dimensions whose product is
/// the data's length, or throw a DataError.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIDX(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let (dimensions, values) = try? IDX.decode(bytes) {
        precondition(dimensions.reduce(1, *) == values.count, "IDX: dimensions \(dimensions) but \(values.count) values")
    }
    return 0
}
