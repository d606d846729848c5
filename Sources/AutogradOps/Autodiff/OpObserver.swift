import AutogradTensor

/// An ``ExecutionObserver`` that also sees the ops applied and the reverse
/// pass (the graph compiler's tracer records them as graph nodes).
package protocol OpObserver: ExecutionObserver {
    /// `op` ran on `inputs` and produced `output` (called by
    /// ``Primitive/apply(_:)`` after the forward, with recording state restored).
    func didApply(_ op: any Primitive, inputs: [Tensor], output: Tensor)
    /// Set by the reverse pass while it runs, so that what is applied
    /// meanwhile is known to belong to the backward.
    var inBackward: Bool { get set }
    /// The reverse pass gave `leaf` its gradient (or added to it).
    func didAccumulateGradient(into leaf: Tensor)
}

extension ThreadFlags {
    /// This thread's observer, when it observes ops.
    package static var opObserver: (any OpObserver)? {
        guard let observer = current.pointee.observer else { return nil }
        return observer as? any OpObserver
    }
}
