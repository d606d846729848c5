import AutogradOps
import AutogradTensor
import Foundation

/// The 8×8 handwritten digits: 1,797 images of 64 pixels (0…16, scaled here
/// to 0…1) in 10 classes — the UCI optical-digits set as scikit-learn's
/// `load_digits` ships it. Bundled with the package: nothing is downloaded.
///
/// ```swift
/// let digits = try Digits.load()
/// let (train, test) = digits.split(testFraction: 0.2, seed: 0)
/// ```
public enum Digits {
    /// The whole set, features [1797, 64] in [0, 1].
    public static func load() throws(DataError) -> TensorDataset {
        guard let url = Bundle.module.url(forResource: "digits", withExtension: "csv") else {
            throw DataError("digits.csv", "the bundled resource is missing from this build")
        }
        let table = try CSVTable.read(url.path)
        guard table.columns == 65 else {
            throw DataError(url.path, "expected 65 columns (64 pixels and a label), found \(table.columns)")
        }
        return try table.dataset(labelColumn: 64, scale: 1.0 / 16, source: url.path)
    }
}
