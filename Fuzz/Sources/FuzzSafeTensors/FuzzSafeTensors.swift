import Autograd

/// Any bytes given to the safetensors decoder either decode or throw a
/// CheckpointError: no crash, no allocation beyond the input's size.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafeTensors(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let (tensors, _) = try? SafeTensors.decode(bytes) {
        // What decoded reads back in full and encodes again.
        for tensor in tensors.values { _ = tensor.scalars }
        _ = SafeTensors.encode(tensors)
    }
    return 0
}
