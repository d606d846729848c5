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
        // Reads the architecture and checks every parameter it implies
        // against the tensors in the file before anything is built.
        let convolutional = ConvNetCheckpoint.describesConvNet(metadata)
        let classes: Int, described: String, build: () throws(CheckpointError) -> Module
        let fits: (TensorDataset) -> String?
        do {
            if convolutional {
                let saved = try ConvNetCheckpoint(metadata: metadata)
                try saved.check(tensors)
                classes = saved.classes
                described = saved.spec.description
                build = { () throws(CheckpointError) in try saved.restore(tensors: tensors, metadata: metadata) }
                fits = { $0.featureShape == saved.input ? nil
                    : "the checkpoint's model takes \(saved.input) images but the data has \($0.featureShape)" }
            } else {
                let saved = try MLPCheckpoint(metadata: metadata)
                try saved.check(tensors)
                classes = saved.classes
                described = "\(saved.spec) (\(saved.activation.rawValue))"
                build = { () throws(CheckpointError) in try saved.restore(tensors: tensors, metadata: metadata) }
                fits = { $0.featureShape.reduce(1, *) == saved.inputs ? nil
                    : "the checkpoint's model takes \(saved.inputs) features but the data has \($0.featureShape.reduce(1, *))" }
            }
        } catch {
            throw fail("\(checkpoint): \(error)")
        }
        guard let data = dataset ?? metadata[MLPCheckpoint.Key.dataset].flatMap(DatasetSpec.init(argument:)) else {
            throw fail("the checkpoint does not name its dataset; pass --dataset")
        }
        let splitSeed = seed ?? metadata[MLPCheckpoint.Key.seed].flatMap(UInt64.init) ?? 0
        let samples = metadata[MLPCheckpoint.Key.samples].flatMap(Int.init) ?? 500
        let noise = metadata[MLPCheckpoint.Key.noise].flatMap(Double.init) ?? 0

        let test: TensorDataset
        do {
            test = try data.load(samples: samples, noise: noise, seed: splitSeed, classes: classes,
                                 images: convolutional).test
        } catch {
            throw fail(error.description)
        }
        if let mismatch = fits(test) { throw fail(mismatch + " (\(data))") }
        let network: Module
        do {
            network = try build()
        } catch {
            throw fail(error.description)
        }
        let result = Trainer.evaluate(network, test, batchSize: batchSize)
        print("evaluated \(described) from \(checkpoint) on \(test.count) test examples of \(data)")
        print("test loss: \(Fmt.fixed(result.loss, 4))")
        print("test accuracy: \(Fmt.fixed(result.accuracy, 4))")
    }
}
