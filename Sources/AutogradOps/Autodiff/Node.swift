import AutogradTensor

/// One recorded application of a ``Primitive``: what the reverse pass needs
/// to send the output's gradient back to the inputs.
package final class Node: GradientFunction {
    package let op: any Primitive
    /// The inputs, saved for the VJP and to find where gradients go next.
    /// Emptied once the node has run, unless the graph is retained.
    var inputs: [Tensor]
    /// Storage versions at record time, to catch in-place writes to saved
    /// tensors: the first two inputs' and the output's inline (no array to
    /// allocate for most ops), any further inputs' in `moreVersions`.
    let firstVersions: (Int, Int)
    let outputVersion: Int
    let moreVersions: [Int]
    var released = false

    // Bookkeeping of the reverse pass that is running (see BackwardEngine).
    /// The pass that last visited this node.
    var visitedPass: UInt64 = 0
    /// Consumers that have not yet sent their gradient in this pass.
    var pendingConsumers = 0
    /// The sum of the gradients received so far in this pass.
    var gradBuffer: Tensor?
    /// The output, as the pass found it in a consumer's inputs (or as the
    /// root): a tensor whose `gradFn` is this node. Held from discovery until
    /// the node has run, so the VJP reads the output without the node saving
    /// a copy of it for its whole life (which would also be a cycle).
    var passOutput: Tensor?

    package var opName: String { op.name }

    /// Where the op was applied, kept only under anomaly detection.
    var callSite: CallSite?

    /// The saved inputs (empty once released), for graph export.
    package var savedInputs: [Tensor] { inputs }

    init(op: any Primitive, inputs: [Tensor], output: Tensor) {
        self.op = op
        self.inputs = inputs
        firstVersions = (inputs.count > 0 ? inputs[0].storage.version : 0,
                         inputs.count > 1 ? inputs[1].storage.version : 0)
        outputVersion = output.storage.version
        moreVersions = inputs.count > 2 ? inputs[2...].map { $0.storage.version } : []
    }

    private func version(ofInput i: Int) -> Int {
        switch i {
        case 0: firstVersions.0
        case 1: firstVersions.1
        default: moreVersions[i - 2]
        }
    }

    /// Stops if a saved input, or the output the pass found, was written in
    /// place since the node was recorded.
    func checkVersions(output: Tensor) {
        for (i, t) in inputs.enumerated() where t.storage.version != version(ofInput: i) {
            fatalError(
                "backward: input \(i) of \(op.name) (shape \(ShapeRules.describe(t.shape))) was modified in place after it was saved for the gradient")
        }
        if output.storage.version != outputVersion {
            fatalError("backward: the output of \(op.name) was modified in place after it was saved for the gradient")
        }
    }

    func release() {
        inputs = []
        released = true
    }

    /// Tears a long chain down iteratively: the default recursive release of
    /// tensor → node → tensor … would overflow the stack on a deep graph.
    deinit {
        var pending = inputs
        inputs = []
        while var t = pending.popLast() {
            guard isKnownUniquelyReferenced(&t), var node = t.gradFn else { continue }
            t.gradFn = nil
            if isKnownUniquelyReferenced(&node) {
                pending.append(contentsOf: node.inputs)
                node.inputs = []
            }
        }
    }
}

extension Tensor {
    /// The node that produced this tensor in the recorded graph; `nil` for a
    /// leaf. Stored untyped by the tensor layer, which knows no nodes; only
    /// nodes are ever stored there.
    package var gradFn: Node? {
        get { gradFnObject.map { unsafeDowncast($0, to: Node.self) } }
        set { gradFnObject = newValue }
    }
}
