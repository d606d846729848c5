/// Shape arithmetic shared by the ops: element counts, row-major strides,
/// broadcasting and the formatting used in error messages.
@usableFromInline package enum ShapeRules {
    private static let scalarStrides: [Int] = []
    private static let vectorStrides: [Int] = [1]

    /// Number of elements in a tensor of this shape (1 for a scalar).
    @inlinable package static func count<Dims: Sequence<Int>>(_ shape: Dims) -> Int {
        var n = 1
        for d in shape { n *= d }
        return n
    }

    /// The element count of a shape read from untrusted bytes, or nil when a
    /// size is negative or the nonzero sizes multiply past `Int.max`. Then
    /// strides and any product of its sizes fit in an `Int` too, even when a
    /// zero size makes the count 0.
    package static func checkedCount(_ shape: [Int]) -> Int? {
        var magnitude = 1
        for d in shape {
            guard d >= 0 else { return nil }
            let (product, overflow) = magnitude.multipliedReportingOverflow(by: Swift.max(d, 1))
            if overflow { return nil }
            magnitude = product
        }
        return shape.contains(0) ? 0 : magnitude
    }

    /// Row-major (C order) element strides of a contiguous tensor.
    package static func contiguousStrides(_ shape: [Int]) -> [Int] {
        // Ranks 0 and 1 share one array each instead of allocating.
        if shape.count == 0 { return scalarStrides }
        if shape.count == 1 { return vectorStrides }
        var strides = [Int](repeating: 1, count: shape.count)
        var s = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[i] = s
            s *= shape[i]
        }
        return strides
    }

    /// NumPy broadcasting of two shapes, or `nil` when they don't broadcast.
    @inlinable package static func broadcast(_ a: [Int], _ b: [Int]) -> [Int]? {
        let n = max(a.count, b.count)
        var out = [Int](repeating: 1, count: n)
        for i in 0..<n {
            let da = i < n - a.count ? 1 : a[i - (n - a.count)]
            let db = i < n - b.count ? 1 : b[i - (n - b.count)]
            if da == db || db == 1 {
                out[i] = da
            } else if da == 1 {
                out[i] = db
            } else {
                return nil
            }
        }
        return out
    }

    /// `[2, 3]`: how shapes appear in messages.
    package static func describe(_ shape: [Int]) -> String {
        "[" + shape.map(String.init).joined(separator: ", ") + "]"
    }

    /// Whether `order` holds each of 0..<order.count exactly once.
    package static func isPermutation(_ order: [Int]) -> Bool {
        guard order.count <= Int.bitWidth else { return Set(order) == Set(0..<order.count) }
        var seen = 0
        for a in order {
            guard a >= 0, a < order.count, seen & (1 << a) == 0 else { return false }
            seen |= 1 << a
        }
        return true
    }

    /// Normalises a possibly negative axis against `rank`, or stops naming the
    /// op. A scalar (rank 0) accepts axis 0.
    package static func axis(_ axis: Int, rank: Int, op: String) -> Int {
        let a = axis < 0 ? axis + rank : axis
        guard a >= 0, a < max(rank, 1) else {
            fatalError("\(op): axis \(axis) is out of range for a tensor of rank \(rank)")
        }
        return a
    }

    /// Normalised, sorted, de-duplicated axes; every axis when `axes` is nil.
    package static func axes(_ axes: [Int]?, rank: Int, op: String) -> [Int] {
        guard let axes else { return Array(0..<rank) }
        // Insertion into a sorted array: ranks are small, and no Set is made.
        var sorted: [Int] = []
        sorted.reserveCapacity(axes.count)
        for a in axes {
            let n = axis(a, rank: rank, op: op)
            let at = sorted.firstIndex { $0 >= n } ?? sorted.count
            if at == sorted.count || sorted[at] != n { sorted.insert(n, at: at) }
        }
        return sorted
    }
}

/// Stops with a message naming the op: the error for programmer mistakes
/// such as mismatched shapes.
package func opError(_ op: String, _ message: String) -> Never {
    fatalError("\(op): \(message)")
}

/// Calls `body` with the array's elements as a C `int64_t` pointer (no copy on 64-bit platforms).
@inline(__always)
package func withInt64Pointer<R>(_ values: [Int], _ body: (UnsafePointer<Int64>?) -> R) -> R {
    values.withUnsafeBufferPointer { buffer in
        buffer.withMemoryRebound(to: Int64.self) { body($0.baseAddress) }
    }
}
