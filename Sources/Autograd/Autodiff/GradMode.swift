#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Per-thread switches of the autodiff engine: whether ops record the graph,
/// and whether forward-mode tangents are being propagated. Kept in a
/// pthread-specific slot: reading it is a few nanoseconds, and `noGrad` takes
/// a synchronous closure, so the thread cannot change inside it.
struct ThreadFlags {
    var gradDisabled = false
    var forwardSuspended = false
    /// The trace being recorded on this thread by ``compile(options:_:)``, if any.
    var tracer: Unmanaged<Tracer>?

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { $0.map { free($0) } }
        return key
    }()

    /// This thread's flags, created on first use.
    static var current: UnsafeMutablePointer<ThreadFlags> {
        if let p = pthread_getspecific(key) {
            return p.assumingMemoryBound(to: ThreadFlags.self)
        }
        let p = malloc(MemoryLayout<ThreadFlags>.stride)!.bindMemory(to: ThreadFlags.self, capacity: 1)
        p.initialize(to: ThreadFlags())
        pthread_setspecific(key, p)
        return p
    }

    /// Runs `body` with one flag set to `value`, restoring it afterwards.
    static func with<R>(_ flag: WritableKeyPath<ThreadFlags, Bool>, _ value: Bool,
                        _ body: () throws -> R) rethrows -> R {
        let flags = current
        let saved = flags.pointee[keyPath: flag]
        flags.pointee[keyPath: flag] = value
        defer { flags.pointee[keyPath: flag] = saved }
        return try body()
    }
}

/// Whether ops record the graph on this thread.
enum GradMode {
    static var isEnabled: Bool { !ThreadFlags.current.pointee.gradDisabled }

    static func with<R>(enabled: Bool, _ body: () throws -> R) rethrows -> R {
        try ThreadFlags.with(\.gradDisabled, !enabled, body)
    }
}

/// Forward mode's switch: off while an op's JVP rule runs, so that the rule's
/// own ops don't carry tangents of their own.
enum ForwardMode {
    static var isSuspended: Bool { ThreadFlags.current.pointee.forwardSuspended }

    static func with<R>(suspended: Bool, _ body: () throws -> R) rethrows -> R {
        try ThreadFlags.with(\.forwardSuspended, suspended, body)
    }
}

/// True unless inside ``noGrad(_:)``.
public var isGradEnabled: Bool { GradMode.isEnabled }

/// Runs `body` without recording: ops inside produce tensors with no graph,
/// as for evaluation or parameter updates.
///
/// ```swift
/// let prediction = noGrad { model(x) }
/// ```
public func noGrad<R>(_ body: () throws -> R) rethrows -> R {
    try GradMode.with(enabled: false, body)
}

/// Runs `body` with recording turned on or off.
public func withGradEnabled<R>(_ enabled: Bool, _ body: () throws -> R) rethrows -> R {
    try GradMode.with(enabled: enabled, body)
}
