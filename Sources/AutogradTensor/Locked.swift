import Foundation

/// A value behind a lock: the standard library's `Mutex` API, on a pthread
/// mutex (through `NSLock`). On Linux `Mutex` waits on a futex inside the
/// uninstrumented standard library, so ThreadSanitizer cannot see it and
/// reports every access it guards as a race; a pthread mutex it intercepts.
/// The library's shared state (the buffer pool, the default generator, op
/// caches) is kept in these, so a TSan run reports only real races.
///
/// ```swift
/// let counter = Locked(0)
/// counter.withLock { $0 += 1 }
/// ```
package final class Locked<Value>: @unchecked Sendable {
    @usableFromInline let lock = NSLock()
    @usableFromInline var value: Value

    package init(_ value: Value) { self.value = value }

    /// Runs `body` with exclusive access to the value.
    @inlinable @inline(__always)
    package func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
