import AutogradOps
import AutogradTensor

/// The checkpoint `autograd train` writes for a convolutional network:
/// its parameters and buffers, and metadata that says how to rebuild it —
/// the same keys as ``MLPCheckpoint`` (`autograd.model` holds a
/// ``ConvNetSpec``, `autograd.inputs` the image shape as `CxHxW`).
///
/// Rebuilding trusts nothing the metadata claims: every parameter the plan
/// implies must be in the file with its shape before the model is built.
///
/// ```swift
/// let (tensors, metadata) = try SafeTensors.load(from: "out/checkpoint.safetensors")
/// let saved = try ConvNetCheckpoint(metadata: metadata)
/// let model = try saved.restore(tensors: tensors, metadata: metadata)
/// ```
public struct ConvNetCheckpoint: Sendable, Hashable {
    public typealias Key = MLPCheckpoint.Key

    public var spec: ConvNetSpec
    /// The image shape [C, H, W].
    public var input: [Int]
    public var classes: Int

    public init(spec: ConvNetSpec, input: [Int], classes: Int) {
        (self.spec, self.input, self.classes) = (spec, input, classes)
    }

    /// Whether `metadata` describes a convolutional network.
    public static func describesConvNet(_ metadata: [String: String]) -> Bool {
        metadata[Key.model].flatMap(ConvNetSpec.init) != nil
    }

    /// Reads the architecture from a checkpoint's metadata.
    public init(metadata: [String: String]) throws(CheckpointError) {
        spec = try MLPCheckpoint.read(metadata, Key.model, ConvNetSpec.init)
        input = try MLPCheckpoint.read(metadata, Key.inputs, ConvNetCheckpoint.parseShape)
        classes = try MLPCheckpoint.read(metadata, Key.classes) { Int($0).flatMap { $0 >= 2 ? $0 : nil } }
    }

    /// `CxHxW` with three positive sizes.
    static func parseShape(_ text: String) -> [Int]? {
        let sizes = text.split(separator: "x").compactMap { Int($0) }
        return sizes.count == 3 && sizes.allSatisfy({ $0 > 0 }) ? sizes : nil
    }

    /// The metadata that ``init(metadata:)`` reads back.
    public var metadata: [String: String] {
        [Key.model: spec.description, Key.inputs: input.map(String.init).joined(separator: "x"),
         Key.classes: String(classes)]
    }

    /// Checks that `tensors` hold every parameter of the network, with its shape.
    public func check(_ tensors: [String: Tensor]) throws(CheckpointError) {
        guard let shapes = spec.parameterShapes(input: input, classes: classes) else {
            throw .incompatible("\(spec) does not fit images \(input.map(String.init).joined(separator: "×"))")
        }
        try MLPCheckpoint.check(shapes, in: tensors, for: description)
    }

    /// Checks `tensors` (``check(_:)``), then builds the network and loads them into it.
    public func restore(tensors: [String: Tensor], metadata: [String: String]) throws(CheckpointError) -> ConvNet {
        try check(tensors)
        guard let model = spec.build(input: input, classes: classes) else {
            throw .incompatible("\(spec) does not fit images \(input)")
        }
        try Checkpoint.load(into: model, tensors: tensors, metadata: metadata)
        return model
    }
}

extension ConvNetCheckpoint: CustomStringConvertible {
    public var description: String {
        "\(spec) on \(input.map(String.init).joined(separator: "×")) images with \(classes) classes"
    }
}
