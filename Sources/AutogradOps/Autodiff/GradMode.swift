import AutogradTensor

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
