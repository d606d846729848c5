import AutogradOps
import AutogradTensor
import Foundation

/// A numeric CSV file: rows of comma-separated numbers, with an optional
/// header row (detected when the first row is not all numbers).
struct CSVTable {
    let rows: Int
    let columns: Int
    let values: [Double]

    /// The longest field read as a number; a longer one is "not a number".
    static let maxNumberLength = 64

    /// Reads the file and parses its bytes in place: no string, field or
    /// line is copied, so memory stays the file plus 8 bytes per number,
    /// whatever the lines look like (a 100 MB line costs its bytes once, not
    /// a string per field). Lines end with "\n", "\r\n" or "\r".
    static func read(_ path: String) throws(DataError) -> CSVTable {
        let bytes: [UInt8]
        do { bytes = try AtomicFile.read(path) } catch { throw DataError(path, error.reason) }
        return try parse(bytes, source: path)
    }

    /// Parses the bytes of a CSV file; `path` names them in errors.
    static func parse(_ bytes: [UInt8], source path: String) throws(DataError) -> CSVTable {
        var values: [Double] = []
        var columns = -1
        var rows = 0
        var failure: DataError?
        bytes.withUnsafeBufferPointer { buffer in
            let n = buffer.count
            var start = 0, lineNumber = 0
            while start < n && failure == nil {
                var end = start
                while end < n && buffer[end] != 10 && buffer[end] != 13 { end += 1 }
                lineNumber += 1
                let line = UnsafeBufferPointer(rebasing: buffer[start..<end])
                // The next line starts after "\n", "\r" or "\r\n".
                start = end + (end + 1 < n && buffer[end] == 13 && buffer[end + 1] == 10 ? 2 : 1)
                if line.allSatisfy({ $0 == 32 || $0 == 9 }) { continue }
                let first = values.count
                var fields = 0
                var bad: (column: Int, text: String)?
                var fieldStart = 0
                while fieldStart <= line.count {
                    var fieldEnd = fieldStart
                    while fieldEnd < line.count && line[fieldEnd] != 44 { fieldEnd += 1 }
                    let field = UnsafeBufferPointer(rebasing: line[fieldStart..<fieldEnd])
                    if let number = parseNumber(field) {
                        if bad == nil { values.append(number) }
                    } else if bad == nil {
                        bad = (fields, String(decoding: field.prefix(40), as: UTF8.self))
                    }
                    fields += 1
                    fieldStart = fieldEnd + 1
                }
                if let bad {
                    values.removeSubrange(first...)
                    if rows == 0 && columns < 0 {
                        columns = fields  // a header row
                        continue
                    }
                    let shown = bad.text.trimmingCharacters(in: .whitespaces)
                    failure = DataError(path, "line \(lineNumber), column \(bad.column + 1): '\(shown)' is not a number")
                    return
                }
                if columns < 0 { columns = fields }
                guard fields == columns else {
                    failure = DataError(path, "line \(lineNumber) has \(fields) fields, expected \(columns)")
                    return
                }
                rows += 1
            }
        }
        if let failure { throw failure }
        guard rows > 0 else { throw DataError(path, "no data rows") }
        return CSVTable(rows: rows, columns: columns, values: values)
    }

    /// The number a field holds (spaces and tabs around it allowed), or nil.
    private static func parseNumber(_ field: UnsafeBufferPointer<UInt8>) -> Double? {
        var lo = 0, hi = field.count
        while lo < hi && (field[lo] == 32 || field[lo] == 9) { lo += 1 }
        while hi > lo && (field[hi - 1] == 32 || field[hi - 1] == 9) { hi -= 1 }
        guard hi > lo, hi - lo <= maxNumberLength else { return nil }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: maxNumberLength + 1) { text in
            for i in lo..<hi { text[i - lo] = CChar(bitPattern: field[i]) }
            text[hi - lo] = 0
            var end: UnsafeMutablePointer<CChar>?
            let value = strtod(text.baseAddress!, &end)
            return end == text.baseAddress! + (hi - lo) ? value : nil
        }
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
        try dataset(CSVTable.read(path), labelColumn: labelColumn, source: path)
    }

    /// The same from the bytes of a CSV file; `source` names them in errors.
    public static func decode(_ bytes: [UInt8], labelColumn: Int? = nil, source: String = "csv") throws(DataError) -> TensorDataset {
        try dataset(CSVTable.parse(bytes, source: source), labelColumn: labelColumn, source: source)
    }

    private static func dataset(_ table: CSVTable, labelColumn: Int?, source path: String) throws(DataError) -> TensorDataset {
        let column = labelColumn ?? table.columns - 1
        guard column >= 0 && column < table.columns else {
            throw DataError(path, "label column \(column) is out of range for \(table.columns) columns")
        }
        return try table.dataset(labelColumn: column, source: path)
    }
}
