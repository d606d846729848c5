import Autograd

/// The path of `autograd eval`: bytes → safetensors → the model the metadata
/// describes, checked against the tensors present, then one forward pass.
/// Whatever the metadata claims, nothing larger than the input is allocated
/// (libFuzzer's -malloc_limit_mb catches an allocation past its limit).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCheckpoint(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let (tensors, metadata) = try? SafeTensors.decode(bytes),
          let saved = try? MLPCheckpoint(metadata: metadata),
          let model = try? saved.restore(tensors: tensors, metadata: metadata)
    else { return 0 }
    let logits = model(Tensor.zeros([1, saved.inputs]))
    precondition(logits.shape == [1, saved.classes], "checkpoint: logits \(logits.shape) for \(saved)")
    return 0
}
