import AutogradOps
import AutogradTensor
import Foundation

/// A numeric CSV file: rows of comma-separated numbers, with an optional
/// header row (detected when the first row is not all numbers).
struct CSVTable {
    let rows: Int
    let columns: Int
    let values: [Double]

    static func read(_ path: String) throws(DataError) -> CSVTable {
        let bytes: [UInt8]
        do { bytes = try AtomicFile.read(path) } catch { throw DataError(path, error.reason) }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw DataError(path, "not UTF-8 text")
        }
        var values: [Double] = []
        var columns = -1
        var rows = 0
        // "\r\n" is one Character in Swift, and a newline like "\n".
        for (lineIndex, line) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            if line.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            let numbers = fields.map { Double($0.trimmingCharacters(in: .whitespaces)) }
            if numbers.contains(where: { $0 == nil }) {
                if rows == 0 && columns < 0 {
                    columns = fields.count  // a header row
                    continue
                }
                let bad = numbers.firstIndex(where: { $0 == nil })!
                throw DataError(path, "line \(lineIndex + 1), column \(bad + 1): '\(fields[bad])' is not a number")
            }
            if columns < 0 { columns = fields.count }
            guard fields.count == columns else {
                throw DataError(path, "line \(lineIndex + 1) has \(fields.count) fields, expected \(columns)")
            }
            values += numbers.map { $0! }
            rows += 1
        }
        guard rows > 0 else { throw DataError(path, "no data rows") }
        return CSVTable(rows: rows, columns: columns, values: values)
    }

    /// Features from every column but `labelColumn` (times `scale`), labels
    /// from that column, which must hold whole numbers ≥ 0.
    func dataset(labelColumn: Int, scale: Double = 1, source: String) throws(DataError) -> TensorDataset {
        guard columns >= 2 else { throw DataError(source, "needs at least one feature column and a label column") }
        var features: [Double] = []
        features.reserveCapacity(rows * (columns - 1))
        var labels: [Int] = []
        for r in 0..<rows {
            let row = values[(r * columns)..<((r + 1) * columns)]
            let label = row[row.startIndex + labelColumn]
            guard label >= 0, label == label.rounded(), label < 1e6 else {
                throw DataError(source, "row \(r + 1): label \(label) is not a class number (a whole number ≥ 0)")
            }
            labels.append(Int(label))
            for (c, v) in row.enumerated() where c != labelColumn {
                guard v.isFinite else { throw DataError(source, "row \(r + 1), column \(c + 1): \(v) is not finite") }
                features.append(v * scale)
            }
        }
        return TensorDataset(features: Tensor(shape: [rows, columns - 1], scalars: features), labels: labels)
    }
}

/// Labelled data from a CSV file of numbers: one example per row, the label
/// (a class number) in the last column unless told otherwise. A header row is
/// skipped when present.
///
/// ```swift
/// let data = try CSVDataset.load("iris.csv")
/// ```
public enum CSVDataset {
    public static func load(_ path: String, labelColumn: Int? = nil) throws(DataError) -> TensorDataset {
        let table = try CSVTable.read(path)
        let column = labelColumn ?? table.columns - 1
        guard column >= 0 && column < table.columns else {
            throw DataError(path, "label column \(column) is out of range for \(table.columns) columns")
        }
        return try table.dataset(labelColumn: column, source: path)
    }
}
