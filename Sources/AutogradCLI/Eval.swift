import ArgumentParser
import Autograd

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a checkpoint written by 'train' on a dataset's test split.",
        discussion: "The model is rebuilt from the checkpoint's metadata. The last line printed is 'test accuracy: 0.XXXX'.")

    @Option(help: "A checkpoint.safetensors written by 'autograd train'.")
    var checkpoint: String

    @Option(help: "Dataset to evaluate on (default: the one it was trained on).")
    var dataset: DatasetSpec?

    @Option(parsing: .unconditional, help: "Seed for the train/test split and generated data (default: the training seed).")
    var seed: UInt64?

    @Option(parsing: .unconditional, help: "Examples per batch.")
    var batchSize = 256

    @Option(parsing: .unconditional, help: "Threads for the kernels (default: all cores).")
    var threads: Int?

    func validate() throws {
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive") }
        try validateThreads(threads)
    }

    func run() throws {
        if let threads { Kernels.threadCount = threads }
        let tensors: [String: Tensor], metadata: [String: String]
        do {
            (tensors, metadata) = try SafeTensors.load(from: checkpoint)
        } catch {
            throw fail(error.description)
        }
        /// A metadata value: missing or unreadable is an error naming the key and the value.
        func read<T>(_ key: String, _ parse: (String) -> T?) throws -> T {
            guard let text = metadata[key] else {
                throw fail("\(checkpoint) has no '\(key)' in its metadata; was it written by 'autograd train'?")
            }
            guard let value = parse(text) else { throw fail("\(checkpoint): metadata '\(key)' has a bad value: '\(text)'") }
            return value
        }
        let spec = try read(MetadataKey.model, ModelSpec.init(argument:))
        let activation = try read(MetadataKey.activation, Activation.init(rawValue:))
        let inputs = try read(MetadataKey.inputs) { Int($0).flatMap { $0 > 0 ? $0 : nil } }
        let classes = try read(MetadataKey.classes) { Int($0).flatMap { $0 >= 2 ? $0 : nil } }
        // The model is built only once every parameter it would allocate is
        // in the file with that shape: the metadata cannot make us allocate
        // more than the file holds.
        for (name, shape) in spec.parameterShapes(inputs: inputs, classes: classes) {
            guard let tensor = tensors[name] else {
                throw fail("\(checkpoint): metadata \(spec) with \(inputs) inputs and \(classes) classes needs tensor '\(name)', which is not in the file")
            }
            guard tensor.shape == shape else {
                throw fail("\(checkpoint): metadata \(spec) with \(inputs) inputs and \(classes) classes needs '\(name)' of shape \(shape), the file has \(tensor.shape)")
            }
        }
        guard let data = dataset ?? metadata[MetadataKey.dataset].flatMap(DatasetSpec.init(argument:)) else {
            throw fail("the checkpoint does not name its dataset; pass --dataset")
        }
        let splitSeed = seed ?? metadata[MetadataKey.seed].flatMap(UInt64.init) ?? 0
        let samples = metadata[MetadataKey.samples].flatMap(Int.init) ?? 500
        let noise = metadata[MetadataKey.noise].flatMap(Double.init) ?? 0

        let test: TensorDataset
        do {
            test = try data.load(samples: samples, noise: noise, seed: splitSeed, classes: classes).test
        } catch {
            throw fail(error.description)
        }
        guard test.featureShape.reduce(1, *) == inputs else {
            throw fail("the checkpoint's model takes \(inputs) features but \(data) has \(test.featureShape.reduce(1, *))")
        }
        let network = spec.build(inputs: inputs, classes: classes, activation: activation)
        do {
            try Checkpoint.load(into: network, tensors: tensors, metadata: metadata)
        } catch {
            throw fail(error.description)
        }
        let result = Trainer.evaluate(network, test, batchSize: batchSize)
        print("evaluated \(spec) (\(activation.rawValue)) from \(checkpoint) on \(test.count) test examples of \(data)")
        print("test loss: \(Fmt.fixed(result.loss, 4))")
        print("test accuracy: \(Fmt.fixed(result.accuracy, 4))")
    }
}
