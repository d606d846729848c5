import AutogradOps
import AutogradTensor

/// The checkpoint `autograd train` writes: an ``MLP``'s parameters, and
/// metadata that says how to rebuild it (``Key``) and what it learnt from.
///
/// Rebuilding trusts nothing the metadata claims: every parameter the
/// description implies must be in the file with that shape before the model
/// is built, so a hostile file cannot make it allocate more than the file
/// holds. Each error names the key or tensor at fault.
///
/// ```swift
/// let (tensors, metadata) = try SafeTensors.load(from: "out/checkpoint.safetensors")
/// let saved = try MLPCheckpoint(metadata: metadata)
/// let model = try saved.restore(tensors: tensors, metadata: metadata)
/// ```
public struct MLPCheckpoint: Sendable, Hashable {
    /// The metadata keys, each a string value.
    public enum Key {
        public static let model = "autograd.model"            // mlp:W1,W2,…
        public static let activation = "autograd.activation"  // Activation's raw value
        public static let inputs = "autograd.inputs"          // features in, > 0
        public static let classes = "autograd.classes"        // outputs, ≥ 2
        public static let dataset = "autograd.dataset"        // what `--dataset` was
        public static let seed = "autograd.seed"
        public static let samples = "autograd.samples"
        public static let noise = "autograd.noise"
        public static let epoch = "autograd.epoch"
    }

    public var spec: MLP.Spec
    public var activation: Activation
    public var inputs: Int
    public var classes: Int

    public init(spec: MLP.Spec, activation: Activation, inputs: Int, classes: Int) {
        (self.spec, self.activation, self.inputs, self.classes) = (spec, activation, inputs, classes)
    }

    /// Reads the architecture from a checkpoint's metadata; a missing or
    /// unreadable value throws ``CheckpointError/incompatible(_:)`` naming the key.
    public init(metadata: [String: String]) throws(CheckpointError) {
        spec = try Self.read(metadata, Key.model, MLP.Spec.init)
        activation = try Self.read(metadata, Key.activation, Activation.init(rawValue:))
        inputs = try Self.read(metadata, Key.inputs) { Int($0).flatMap { $0 > 0 ? $0 : nil } }
        classes = try Self.read(metadata, Key.classes) { Int($0).flatMap { $0 >= 2 ? $0 : nil } }
    }

    /// Metadata `key` parsed by `parse`; a missing or unreadable value
    /// throws ``CheckpointError/incompatible(_:)`` naming the key.
    static func read<T>(_ metadata: [String: String], _ key: String,
                        _ parse: (String) -> T?) throws(CheckpointError) -> T {
        guard let text = metadata[key] else {
            throw .incompatible("the checkpoint has no '\(key)' in its metadata; was it written by 'autograd train'?")
        }
        guard let value = parse(text) else { throw .incompatible("metadata '\(key)' has a bad value: '\(text)'") }
        return value
    }

    /// The metadata that ``init(metadata:)`` reads back.
    public var metadata: [String: String] {
        [Key.model: spec.description, Key.activation: activation.rawValue,
         Key.inputs: String(inputs), Key.classes: String(classes)]
    }

    /// Checks that `tensors` hold every parameter this architecture has,
    /// with its shape, without allocating anything of the claimed size.
    public func check(_ tensors: [String: Tensor]) throws(CheckpointError) {
        try Self.check(spec.parameterShapes(inputs: inputs, outputs: classes), in: tensors, for: description)
    }

    /// Checks that `tensors` hold each of `shapes` by name and shape;
    /// `model` names the architecture in the error.
    static func check(_ shapes: [(name: String, shape: [Int])], in tensors: [String: Tensor],
                      for model: String) throws(CheckpointError) {
        let tensors = Checkpoint.renamingSequentialLayers(tensors)
        for (name, shape) in shapes {
            guard let tensor = tensors[name] else {
                throw .incompatible("metadata \(model) needs tensor '\(name)', which is not in the file")
            }
            guard tensor.shape == shape else {
                throw .incompatible("metadata \(model) needs '\(name)' of shape \(ShapeRules.describe(shape)), the file has \(ShapeRules.describe(tensor.shape))")
            }
        }
    }

    /// Checks `tensors` (``check(_:)``), then builds the model and loads them into it.
    public func restore(tensors: [String: Tensor], metadata: [String: String]) throws(CheckpointError) -> MLP {
        try check(tensors)
        let model = MLP(spec, inputs: inputs, outputs: classes, activation: activation)
        try Checkpoint.load(into: model, tensors: tensors, metadata: metadata)
        return model
    }
}

extension MLPCheckpoint: CustomStringConvertible {
    public var description: String { "\(spec) with \(inputs) inputs and \(classes) classes" }
}
