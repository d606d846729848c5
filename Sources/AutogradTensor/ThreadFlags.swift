#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Watches what the eager code on one thread does, for a layer above that
/// must see it (the graph compiler's tracer). Installed per thread in
/// ``ThreadFlags/observer``; with none installed every hook is skipped by a
/// nil check. Layers above refine it with hooks on their own types
/// (`OpObserver` for applied ops and the reverse pass, `OptimizerObserver`
/// for optimizer steps) and check for the refinement with `as?`, which only
/// costs anything while an observer is installed.
package protocol ExecutionObserver: AnyObject {
    /// Swift code is about to read `tensor`'s values (`item()`, `scalars`,
    /// a subscript); `what` names the reading API.
    func willRead(_ tensor: Tensor, _ what: String)
    /// A random tensor is about to be drawn; `what` names the API.
    func willDrawRandom(_ what: String)
    /// `target.assign(source)` is about to copy `source`'s values in place.
    func willAssign(_ target: Tensor, from source: Tensor)
}

/// Per-thread switches of the engine: whether ops record the graph, whether
/// forward-mode tangents are being propagated, and who observes execution.
/// Kept in a pthread-specific slot: reading it is a few nanoseconds, and the
/// APIs that change it take a synchronous closure, so the thread cannot
/// change inside it.
package struct ThreadFlags {
    package var gradDisabled = false
    package var forwardSuspended = false
    /// The observer of this thread's execution (the trace being recorded by
    /// `compile`), if any. Not retained: whoever installs it keeps it alive
    /// until it uninstalls it.
    package unowned(unsafe) var observer: (any ExecutionObserver)?
    /// The anomaly-detection scope this thread is in (the ops layer's
    /// `AnomalyScope`), if any. Not retained, like `observer`.
    package unowned(unsafe) var anomalyScope: AnyObject?

    @usableFromInline static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { $0.map { free($0) } }
        return key
    }()

    /// This thread's flags, created on first use.
    @inlinable package static var current: UnsafeMutablePointer<ThreadFlags> {
        if let p = pthread_getspecific(key) {
            return p.assumingMemoryBound(to: ThreadFlags.self)
        }
        let p = malloc(MemoryLayout<ThreadFlags>.stride)!.bindMemory(to: ThreadFlags.self, capacity: 1)
        p.initialize(to: ThreadFlags())
        pthread_setspecific(key, p)
        return p
    }

    /// Runs `body` with one flag set to `value`, restoring it afterwards.
    @inlinable package static func with<R>(_ flag: WritableKeyPath<ThreadFlags, Bool>, _ value: Bool,
                                _ body: () throws -> R) rethrows -> R {
        let flags = current
        let saved = flags.pointee[keyPath: flag]
        flags.pointee[keyPath: flag] = value
        defer { flags.pointee[keyPath: flag] = saved }
        return try body()
    }

    /// Runs `body` with `observer` installed on this thread (nil: none),
    /// restoring the previous one afterwards; keeps `observer` alive meanwhile.
    @inlinable package static func observing<R>(_ observer: (any ExecutionObserver)?,
                                     _ body: () throws -> R) rethrows -> R {
        let flags = current
        let saved = flags.pointee.observer
        flags.pointee.observer = observer
        defer { flags.pointee.observer = saved }
        return try withExtendedLifetime(observer) { try body() }
    }
}

/// The object that produced a tensor in the recorded graph (the ops layer's
/// node), as the tensor layer sees it: only its op's name, for messages.
package protocol GradientFunction: AnyObject {
    var opName: String { get }
}
