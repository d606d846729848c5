import AutogradTensor
#if canImport(Runtime)
import Runtime
#endif

/// A NaN or an infinity that anomaly detection found in an op's output
/// (forward) or in the gradient an op's VJP gave one of its inputs (backward).
public struct Anomaly: Error, CustomStringConvertible, Sendable {
    public enum Pass: String, Sendable { case forward, backward }

    /// The op whose result was not finite.
    public let op: String
    public let pass: Pass
    /// The shapes of the op's inputs.
    public let inputShapes: [[Int]]
    /// For the backward pass, which input's gradient was not finite.
    public let input: Int?
    /// The shape of the non-finite tensor, its first non-finite value and
    /// that value's flat (row-major) index.
    public let shape: [Int]
    public let value: Double
    public let index: Int
    /// Where the op was applied: the first frame of the caller's code
    /// (`file:line`), found from the stack when the op ran; nil when the
    /// caller was built without debug information.
    public let appliedAt: String?
    /// Where anomaly detection was turned on (`#fileID:#line`).
    public let scope: String

    public var description: String {
        let what = switch pass {
        case .forward: "\(op) gave \(value) at index \(index) of its output \(ShapeRules.describe(shape))"
        case .backward: "the gradient of \(op) gave \(value) at index \(index) for input \(input ?? 0) \(ShapeRules.describe(shape))"
        }
        let inputs = inputShapes.map(ShapeRules.describe).joined(separator: ", ")
        let site = appliedAt.map { "applied at \($0)" } ?? "applied at an unknown line (build with debug information to see it)"
        return "anomaly: \(what); inputs \(inputs); \(site); detection on at \(scope)"
    }
}

/// Runs `body` with anomaly detection, as PyTorch's `detect_anomaly`: every
/// op's forward output and every gradient its VJP returns is checked for NaN
/// and infinity, and the first one found is handed to `onAnomaly` with the
/// op's name, the shapes, and the line of the caller's code that applied the
/// op. The default handler stops the program with that description. Later
/// anomalies in the same scope (a NaN spreads) are not reported again.
///
/// Off by default and free when off: outside this scope an op pays one nil
/// check. Inside, each op costs a scan of its output and, when it records
/// a node, a stack capture. It covers eager code; a compiled step is checked
/// while it is traced (its first call), not when its plan runs.
///
/// ```swift
/// withAnomalyDetection {
///     let loss = crossEntropy(logits: model(x), labels: y)
///     loss.backward()      // stops at the op whose gradient turned NaN
/// }
/// ```
public func withAnomalyDetection<R>(
    fileID: StaticString = #fileID, line: UInt = #line,
    onAnomaly handler: @escaping (Anomaly) -> Void = { fatalError($0.description) },
    _ body: () throws -> R
) rethrows -> R {
    let scope = AnomalyScope(handler: handler, location: "\(fileID):\(line)")
    let flags = ThreadFlags.current
    let saved = flags.pointee.anomalyScope
    flags.pointee.anomalyScope = scope
    defer { flags.pointee.anomalyScope = saved }
    return try withExtendedLifetime(scope) { try body() }
}

/// The state of one ``withAnomalyDetection(fileID:line:onAnomaly:_:)`` scope.
final class AnomalyScope {
    let handler: (Anomaly) -> Void
    let location: String
    var reported = false
    /// True while the reverse pass runs a VJP: its ops are not checked one by
    /// one; the gradient it returns is, and is reported as the op's.
    var insideVJP = false

    init(handler: @escaping (Anomaly) -> Void, location: String) {
        self.handler = handler
        self.location = location
    }

    /// This thread's scope, if anomaly detection is on.
    static var current: AnomalyScope? {
        ThreadFlags.current.pointee.anomalyScope.map { unsafeDowncast($0, to: AnomalyScope.self) }
    }

    /// Reports `tensor` if it holds a NaN or infinity (the first time only).
    func check(_ tensor: Tensor, op: any Primitive, pass: Anomaly.Pass, inputs: [Tensor], input: Int? = nil,
               site: CallSite?) {
        guard !reported else { return }
        guard let (index, value) = tensor.firstNonFinite() else { return }
        reported = true
        handler(Anomaly(op: op.name, pass: pass, inputShapes: inputs.map(\.shape), input: input,
                        shape: tensor.shape, value: value, index: index,
                        appliedAt: (site ?? CallSite.capture())?.location, scope: location))
    }
}

/// Where an op was applied: the stack when it ran, resolved to the caller's
/// `file:line` only when an anomaly is reported (symbolication is slow).
struct CallSite {
    #if canImport(Runtime)
    let backtrace: Backtrace

    static func capture() -> CallSite? {
        (try? Backtrace.capture(limit: 48)).map(CallSite.init)
    }

    /// The first frame with a source location outside the library's own
    /// modules, its C kernels and the standard library.
    var location: String? {
        let options: Backtrace.SymbolicationOptions = [.showSourceLocations, .showInlineFrames, .useSymbolCache]
        guard let frames = backtrace.symbolicated(options: options)?.frames else { return nil }
        for frame in frames {
            guard let symbol = frame.symbol, let source = symbol.sourceLocation,
                  !CallSite.isLibrary(symbol.rawName) else { continue }
            return "\(source.path):\(source.line)"
        }
        return nil
    }

    /// The library's modules, as Swift mangling spells them (`$s11AutogradOps…`).
    private static let libraryPrefixes = ["Autograd", "AutogradTensor", "AutogradOps", "AutogradNN", "AutogradGraph"]
        .map { "$s\($0.utf8.count)\($0)" }

    private static func isLibrary(_ mangled: String) -> Bool {
        mangled.hasPrefix("ag_") || mangled.hasPrefix("$sS") || mangled.hasPrefix("$ss")
            || libraryPrefixes.contains { mangled.hasPrefix($0) }
    }
    #else
    static func capture() -> CallSite? { nil }
    var location: String? { nil }
    #endif
}
