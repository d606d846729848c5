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
        let saved: MLPCheckpoint
        do {
            // Reads the architecture and checks every parameter it implies
            // against the tensors in the file before anything is built.
            saved = try MLPCheckpoint(metadata: metadata)
            try saved.check(tensors)
        } catch {
            throw fail("\(checkpoint): \(error)")
        }
        let spec = saved.spec, activation = saved.activation, inputs = saved.inputs, classes = saved.classes
        guard let data = dataset ?? metadata[MLPCheckpoint.Key.dataset].flatMap(DatasetSpec.init(argument:)) else {
            throw fail("the checkpoint does not name its dataset; pass --dataset")
        }
        let splitSeed = seed ?? metadata[MLPCheckpoint.Key.seed].flatMap(UInt64.init) ?? 0
        let samples = metadata[MLPCheckpoint.Key.samples].flatMap(Int.init) ?? 500
        let noise = metadata[MLPCheckpoint.Key.noise].flatMap(Double.init) ?? 0

        let test: TensorDataset
        do {
            test = try data.load(samples: samples, noise: noise, seed: splitSeed, classes: classes).test
        } catch {
            throw fail(error.description)
        }
        guard test.featureShape.reduce(1, *) == inputs else {
            throw fail("the checkpoint's model takes \(inputs) features but \(data) has \(test.featureShape.reduce(1, *))")
        }
        let network: MLP
        do {
            network = try saved.restore(tensors: tensors, metadata: metadata)
        } catch {
            throw fail(error.description)
        }
        let result = Trainer.evaluate(network, test, batchSize: batchSize)
        print("evaluated \(spec) (\(activation.rawValue)) from \(checkpoint) on \(test.count) test examples of \(data)")
        print("test loss: \(Fmt.fixed(result.loss, 4))")
        print("test accuracy: \(Fmt.fixed(result.accuracy, 4))")
    }
}
