import Autograd

/// Any bytes given to the CSV reader either give a dataset with one label
/// per row or throw a DataError.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCSV(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let dataset = try? CSVDataset.decode(bytes) {
        let rows = dataset.features.shape[0]
        precondition(dataset.labels.count == rows, "CSV: \(dataset.labels.count) labels for \(rows) rows")
    }
    return 0
}
