/// Whether ops record the graph, per task and thread.
enum GradMode {
    @TaskLocal static var isEnabled = true
}

/// Forward mode's switch: off while an op's JVP rule runs, so that the rule's
/// own ops don't carry tangents of their own.
enum ForwardMode {
    @TaskLocal static var isSuspended = false
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
    try GradMode.$isEnabled.withValue(false, operation: body)
}

/// Runs `body` with recording turned on or off.
public func withGradEnabled<R>(_ enabled: Bool, _ body: () throws -> R) rethrows -> R {
    try GradMode.$isEnabled.withValue(enabled, operation: body)
}
