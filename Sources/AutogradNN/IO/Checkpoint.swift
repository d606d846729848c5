import AutogradOps
import AutogradTensor
import Foundation

/// What went wrong reading, writing or applying a checkpoint.
public enum CheckpointError: Error, CustomStringConvertible, Equatable {
    /// The file could not be read.
    case io(String)
    /// The file could not be written (the previous file, if any, is intact).
    case writeFailed(String)
    /// The file is not valid safetensors.
    case corrupt(String)
    /// A tensor has a dtype this library does not load.
    case unsupportedDType(name: String, dtype: String)
    /// The model has a tensor the checkpoint lacks.
    case missing(name: String)
    /// The checkpoint has a tensor the model lacks.
    case unexpected(name: String)
    /// A tensor's shape differs between model and checkpoint.
    case shapeMismatch(name: String, expected: [Int], found: [Int])
    /// Anything else, such as an optimizer of another kind.
    case incompatible(String)
    /// A tensor to be saved holds NaN or infinity (with `nonFinite: .refuse`).
    case nonFinite(name: String, index: Int, value: Double)

    public var description: String {
        switch self {
        case .io(let reason): "cannot read checkpoint: \(reason)"
        case .writeFailed(let reason): "cannot write checkpoint: \(reason)"
        case .corrupt(let reason): "corrupt checkpoint: \(reason)"
        case .unsupportedDType(let name, let dtype): "checkpoint tensor \(name) has dtype \(dtype); F64, F32, F16, BF16, I64, I32, I16, I8, U8 and BOOL load"
        case .missing(let name): "checkpoint has no tensor \(name), which the model needs"
        case .unexpected(let name): "checkpoint has tensor \(name), which the model does not have"
        case .shapeMismatch(let name, let expected, let found):
            "checkpoint tensor \(name) has shape \(ShapeRules.describe(found)), the model expects \(ShapeRules.describe(expected))"
        case .incompatible(let reason): "incompatible checkpoint: \(reason)"
        case .nonFinite(let name, let index, let value):
            "checkpoint tensor \(name) holds \(value) at index \(index); nothing was written"
        }
    }

    /// The same error with the file's path in front of its reason.
    func at(_ path: String) -> CheckpointError {
        switch self {
        case .corrupt(let reason): .corrupt("\(path): \(reason)")
        default: self
        }
    }
}

/// Saves and restores a model's parameters and buffers, optionally with an
/// optimizer's state, as one safetensors file.
///
/// Model tensors keep their module names (`0.weight`, `features.3.bias`,
/// `running_mean`), so the file is a PyTorch state dict: one saved from
/// PyTorch with `safetensors.torch.save_file(model.state_dict(), path)`
/// loads into the same architecture here, and back. Files from before
/// ``Sequential`` took PyTorch's names (`layers.0.weight`) load too.
/// Optimizer state is stored as
/// `optimizer.<index>.<key>` with PyTorch's keys (`exp_avg`, `exp_avg_sq`,
/// `max_exp_avg_sq`, `momentum_buffer`, `square_avg`, `grad_avg`, `sum`),
/// each parameter's update count as the float64 scalar
/// `optimizer.<index>.step`, and the optimizer's kind and step count as the
/// metadata `optimizer.kind` and `optimizer.step`. A checkpoint written
/// before per-parameter counts were saved still loads (see
/// ``Optimizer/loadState(_:stepCount:)``).
///
/// ```swift
/// try Checkpoint.save(model, optimizer: optimizer, metadata: ["epoch": "10"], to: "model.safetensors")
/// try Checkpoint.load(into: model, optimizer: optimizer, from: "model.safetensors")
/// ```
public enum Checkpoint {
    /// What ``save(_:optimizer:metadata:to:nonFinite:)`` does with a tensor
    /// holding NaN or infinity (the sign of a diverged run).
    public enum NonFinitePolicy: Sendable {
        /// Save, and print a warning naming the tensor on standard error.
        case warn
        /// Throw ``CheckpointError/nonFinite(name:index:value:)``; nothing is written.
        case refuse
        /// Save without a word.
        case allow
    }

    /// `tensors` with the names of files written before ``Sequential``'s
    /// layers were named by index alone: `layers.0.weight` becomes
    /// `0.weight`, `features.layers.3.bias` becomes `features.3.bias`. Names
    /// already in the new form, and optimizer state, are kept.
    static func renamingSequentialLayers(_ tensors: [String: Tensor]) -> [String: Tensor] {
        var renamed: [String: Tensor] = [:]
        for (name, tensor) in tensors {
            var parts = name.split(separator: ".", omittingEmptySubsequences: false)
            if parts.first != "optimizer" {
                var i = 0
                while i + 1 < parts.count {
                    if parts[i] == "layers", parts[i + 1].allSatisfy(\.isNumber) { parts.remove(at: i) } else { i += 1 }
                }
            }
            let newName = parts.joined(separator: ".")
            renamed[tensors[newName] == nil ? newName : name] = tensor
        }
        return renamed
    }

    /// Writes the model (and optimizer) to `path` atomically. A tensor with
    /// NaN or infinity is saved with a warning, or refused (`nonFinite: .refuse`).
    public static func save(_ model: Module, optimizer: Optimizer? = nil, metadata: [String: String] = [:],
                            to path: String, nonFinite: NonFinitePolicy = .warn) throws(CheckpointError) {
        var tensors: [(String, Tensor)] = model.stateTensors()
        var meta = metadata
        if let optimizer {
            tensors += optimizer.stateTensors().map { ("optimizer." + $0.name, $0.tensor) }
            meta["optimizer.kind"] = optimizer.kind
            meta["optimizer.step"] = String(optimizer.stepCount)
        }
        if nonFinite != .allow {
            for (name, t) in tensors {
                guard let (index, value) = t.firstNonFinite() else { continue }
                if nonFinite == .refuse { throw .nonFinite(name: name, index: index, value: value) }
                FileHandle.standardError.write(Data(
                    "warning: checkpoint tensor \(name) holds \(value) at index \(index) (saved to \(path) anyway)\n".utf8))
            }
        }
        try SafeTensors.save(Dictionary(tensors) { a, _ in a }, metadata: meta, to: path)
    }

    /// Loads `path` into the model (and optimizer), returning the file's
    /// metadata. Every name, shape and dtype is checked before anything is
    /// changed: on error the model and optimizer are untouched.
    @discardableResult
    public static func load(into model: Module, optimizer: Optimizer? = nil, from path: String) throws(CheckpointError) -> [String: String] {
        let (tensors, metadata) = try SafeTensors.load(from: path)
        try load(into: model, optimizer: optimizer, tensors: tensors, metadata: metadata)
        return metadata
    }

    /// Loads tensors and metadata already read with ``SafeTensors/load(from:)``
    /// (for a caller that needed the metadata first, say to build the model),
    /// with the same all-or-nothing checks.
    public static func load(into model: Module, optimizer: Optimizer? = nil, tensors: [String: Tensor],
                            metadata: [String: String]) throws(CheckpointError) {
        let tensors = renamingSequentialLayers(tensors)
        let state = model.stateTensors()
        var assignments: [(Tensor, Tensor)] = []
        for (name, target) in state {
            guard let source = tensors[name] else {
                // Like PyTorch, which added the counter later: files without it load.
                if name == "num_batches_tracked" || name.hasSuffix(".num_batches_tracked") { continue }
                throw .missing(name: name)
            }
            guard source.shape == target.shape else {
                throw .shapeMismatch(name: name, expected: target.shape, found: source.shape)
            }
            assignments.append((target, source.to(target.dtype)))
        }
        let modelNames = Set(state.map(\.name))
        var optimizerState: [String: Tensor] = [:]
        for name in tensors.keys.sorted() where !modelNames.contains(name) {
            guard name.hasPrefix("optimizer.") else { throw .unexpected(name: name) }
            optimizerState[String(name.dropFirst("optimizer.".count))] = tensors[name]!
        }
        if let optimizer {
            if let kind = metadata["optimizer.kind"], kind != optimizer.kind {
                throw .incompatible("it holds \(kind) state but the optimizer is \(optimizer.kind)")
            }
            let step = Int(metadata["optimizer.step"] ?? "0") ?? 0
            try optimizer.loadState(optimizerState, stepCount: step)
        }
        noGrad {
            for (target, source) in assignments { target.assign(source) }
        }
    }
}
