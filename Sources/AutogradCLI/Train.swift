import ArgumentParser
import Autograd
import Foundation

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a classifier and write metrics, plots and a checkpoint.",
        discussion: """
            Writes to --out: metrics.csv (one row per epoch), curves.svg (loss and accuracy), \
            boundary.svg for 2-D datasets (the decision boundary over the data), for convolutional \
            models filters.svg (the first convolution's filters, each input channel a grey tile \
            scaled from the filter's minimum to its maximum) and confusion.svg (the test set's \
            confusion matrix: rows true classes, columns predictions), and checkpoint.safetensors, \
            saved after every epoch. The last line printed is 'test accuracy: 0.XXXX'.
            """)

    @Option(help: "digits (bundled 8×8 digits), circle, xor, gauss, spiral (generated 2-D sets), fashion-mnist, mnist:DIR or csv:FILE.")
    var dataset: DatasetSpec = .digits

    @Option(help: "mlp:W1,W2,… (hidden widths; mlp: alone is a linear classifier), lenet5, alexnet (images of at least 63×63), or cnn:C1,C2,… (3×3 convolutions with batch norm, a 2×2 max pool after every second).")
    var model = ModelSpec(argument: "mlp:128,64")!

    @Option(help: "Activation between an MLP's layers: \(Activation.allCases.map(\.rawValue).joined(separator: ", ")) (convolutional models use relu).")
    var activation: Activation = .relu

    @Option(help: "Optimizer: \(OptimizerKind.allCases.map(\.rawValue).joined(separator: ", ")).")
    var optimizer: OptimizerKind = .adam

    @Option(parsing: .unconditional, help: "Learning rate.")
    var lr = 0.01

    @Option(parsing: .unconditional, help: "Momentum, for sgd and rmsprop.")
    var momentum = 0.9

    @Option(parsing: .unconditional, help: "Weight decay (decoupled for adamw, L2 otherwise).")
    var weightDecay = 0.0

    @Option(help: "Learning-rate schedule over epochs: \(ScheduleKind.allCases.map(\.rawValue).joined(separator: ", ")).")
    var schedule: ScheduleKind = .cosine

    @Option(parsing: .unconditional, help: "Epochs of linear learning-rate warm-up.")
    var warmup = 0

    @Option(parsing: .unconditional, help: "Clip the global gradient norm to this value.")
    var clipNorm: Double?

    @Option(parsing: .unconditional, help: "Label smoothing for the cross-entropy loss, in [0, 1].")
    var labelSmoothing = 0.0

    @Option(parsing: .unconditional, help: "Examples per mini-batch.")
    var batchSize = 32

    @Option(parsing: .unconditional, help: "Passes over the training data (default: 30 for digits, 200 for the 2-D sets, 10 for mnist, 50 for csv).")
    var epochs: Int?

    @Option(parsing: .unconditional, help: "Points generated for circle, xor, gauss and spiral.")
    var samples = 500

    @Option(parsing: .unconditional, help: "Noise of the generated 2-D datasets, 0 to 0.5.")
    var noise = 0.0

    @Option(parsing: .unconditional, help: "Random seed for data splits, initial weights and shuffling.")
    var seed: UInt64 = 0

    @Option(parsing: .unconditional, help: "Threads for the kernels (default: all cores).")
    var threads: Int?

    @Option(help: "Folder for metrics, plots and the checkpoint.")
    var out = "out"

    @Option(parsing: .unconditional,
            help: "Refuse a model whose estimated training memory exceeds this many GB (default: the memory available).")
    var memoryLimit: Double?

    func validate() throws {
        guard lr > 0, lr.isFinite else { throw ValidationError("--lr must be a positive number, got \(lr)") }
        guard momentum >= 0, momentum.isFinite else { throw ValidationError("--momentum must be a number ≥ 0, got \(momentum)") }
        guard weightDecay >= 0, weightDecay.isFinite else {
            throw ValidationError("--weight-decay must be a number ≥ 0, got \(weightDecay)")
        }
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive") }
        if let epochs { guard epochs > 0 else { throw ValidationError("--epochs must be positive") } }
        guard samples >= 10 else { throw ValidationError("--samples must be at least 10") }
        guard noise >= 0, noise <= 0.5 else { throw ValidationError("--noise must be between 0 and 0.5") }
        guard labelSmoothing >= 0, labelSmoothing <= 1 else { throw ValidationError("--label-smoothing must be between 0 and 1") }
        guard warmup >= 0, warmup < epochCount else { throw ValidationError("--warmup must be between 0 and --epochs - 1") }
        if let clipNorm { guard clipNorm > 0 else { throw ValidationError("--clip-norm must be positive") } }
        try validateThreads(threads)
        if let memoryLimit {
            guard memoryLimit > 0, memoryLimit.isFinite else { throw ValidationError("--memory-limit must be a positive number of GB") }
        }
    }

    /// --epochs, or the dataset's default.
    var epochCount: Int {
        if let epochs { return epochs }
        switch dataset {
        case .digits: return 30
        case .playground: return 200
        case .mnist, .fashionMNIST: return 10
        case .csv: return 50
        }
    }

    func run() throws {
        if let threads { Kernels.threadCount = threads }
        let epochs = epochCount
        manualSeed(seed)
        let (train, test): (TensorDataset, TensorDataset)
        do {
            (train, test) = try dataset.load(samples: samples, noise: noise, seed: seed, images: model.isConvolutional)
        } catch {
            throw fail(error.description)
        }
        let inputs = train.featureShape.reduce(1, *)
        let classes = Swift.max(train.classCount, test.classCount)
        let estimate: MemoryEstimate
        switch model {
        case .mlp(let spec):
            estimate = MemoryEstimate(spec: spec, inputs: inputs, classes: classes, batchSize: batchSize, optimizer: optimizer)
        case .conv(let spec):
            guard let e = MemoryEstimate(spec: spec, input: train.featureShape, classes: classes, batchSize: batchSize,
                                         optimizer: optimizer) else {
                throw fail("\(spec) does not fit \(dataset)'s \(train.featureShape.map(String.init).joined(separator: "×")) images")
            }
            estimate = e
        }
        if let limit = memoryLimit.map({ $0 * 1e9 }) ?? MemoryEstimate.available(), estimate.bytes > limit {
            let gb = { (b: Double) in b >= 1e9 ? Fmt.fixed(b / 1e9, 1) + " GB" : Fmt.fixed(b / 1e6, 1) + " MB" }
            throw fail("\(model) on \(inputs) inputs and \(classes) classes needs about \(gb(estimate.bytes)) to train "
                       + "(\(estimate.parameters) parameters with gradients and \(optimizer.rawValue) state), more than "
                       + (memoryLimit == nil ? "the \(gb(limit)) available" : "--memory-limit \(gb(limit))"))
        }
        let network: Module
        switch model {
        case .mlp(let spec): network = MLP(spec, inputs: inputs, outputs: classes, activation: activation)
        case .conv(let spec): network = spec.build(input: train.featureShape, classes: classes)!
        }
        let activationName = model.isConvolutional ? "relu" : activation.rawValue
        let opt = optimizer.make(network.parameters, learningRate: lr, momentum: momentum, weightDecay: weightDecay)
        let lrSchedule = schedule.make(epochs: epochs, warmup: warmup)
        let trainer = Trainer(model: network, optimizer: opt, labelSmoothing: labelSmoothing, clipNorm: clipNorm)
        let loader = DataLoader(train, batchSize: batchSize, shuffle: true, seed: seed)
        do {
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        } catch {
            throw fail("cannot create output folder \(out): \(error.localizedDescription)")
        }
        let checkpointPath = out + "/checkpoint.safetensors"
        Interruption.install(out: out)

        print("training \(model) (\(activationName)) on \(dataset): \(train.count) train / \(test.count) test examples, "
              + "\(classes) classes, \(network.parameterCount) parameters, \(optimizer.rawValue) lr \(lr), \(schedule.rawValue) schedule")
        fflush(nil)
        let bar = ProgressBar(batchSize: batchSize)
        var history: [EpochRecord] = []
        var lastCheckpoint: Int?
        let width = String(epochs).count
        for epoch in 1...epochs {
            opt.learningRate = lrSchedule.learningRate(at: epoch - 1, base: lr)
            let started = ContinuousClock.now
            let fit: Evaluation
            bar.beginEpoch()
            do {
                fit = try trainer.trainEpoch(loader, epoch: epoch) { step, steps, loss in
                    bar.update(epoch: epoch, of: epochs, step: step, of: steps, loss: loss)
                }
            } catch {
                bar.clear()
                let kept = lastCheckpoint.map { "the last good checkpoint (epoch \($0)) is \(checkpointPath)" }
                    ?? "no checkpoint was written"
                throw fail("\(error.description); stopped, \(kept)")
            }
            let check = trainer.evaluate(test)
            let elapsed = (ContinuousClock.now - started).components
            let seconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
            bar.clear()
            let record = EpochRecord(epoch: epoch, train: fit, test: check, learningRate: opt.learningRate, seconds: seconds)
            history.append(record)
            print("epoch \(String(repeating: " ", count: width - String(epoch).count))\(epoch)/\(epochs)  "
                  + "train loss \(Fmt.fixed(fit.loss, 4))  acc \(Fmt.fixed(fit.accuracy, 4))  "
                  + "test loss \(Fmt.fixed(check.loss, 4))  acc \(Fmt.fixed(check.accuracy, 4))  "
                  + "(\(Fmt.fixed(seconds, 2)) s)")
            fflush(nil)  // into a pipe or file too, each epoch's line as it ends
            do {
                try Checkpoint.save(network, optimizer: opt,
                                    metadata: metadata(input: train.featureShape, classes: classes, epoch: epoch),
                                    to: checkpointPath)
                try AtomicFile.write(EpochRecord.csv(history), to: out + "/metrics.csv")
                // After every epoch, so an interrupted run's plot matches its metrics.
                try AtomicFile.write(Plots.curves(history, title: "\(model) (\(activationName)) on \(dataset)"),
                                     to: out + "/curves.svg")
            } catch {
                throw fail("\(error)")
            }
            lastCheckpoint = epoch
        }
        let firstConv = model.isConvolutional ? network.firstConv2d : nil
        do {
            if dataset.isTwoDimensional {
                try AtomicFile.write(Plots.decisionBoundary(network, train: train, test: test,
                                                            title: "\(dataset): \(model) (\(activation.rawValue))"),
                                     to: out + "/boundary.svg")
            }
            if let conv = firstConv {
                try AtomicFile.write(ImagePlots.filters(conv, title: "\(model) on \(dataset): first convolution, \(conv.summary)"),
                                     to: out + "/filters.svg")
            }
            if model.isConvolutional {
                let matrix = trainer.confusionMatrix(test, classes: classes)
                try AtomicFile.write(ImagePlots.confusion(matrix, classNames: dataset.classNames(classes),
                                                          title: "\(model) on \(dataset): test confusion matrix"),
                                     to: out + "/confusion.svg")
            }
        } catch {
            throw fail("\(error)")
        }
        let images = (firstConv == nil ? [] : ["filters.svg"]) + (model.isConvolutional ? ["confusion.svg"] : [])
        let files = ["metrics.csv", "curves.svg"] + (dataset.isTwoDimensional ? ["boundary.svg"] : []) + images
            + ["checkpoint.safetensors"]
        print("wrote " + files.map { out + "/" + $0 }.joined(separator: ", "))
        print("test accuracy: \(Fmt.fixed(history.last!.test.accuracy, 4))")
    }

    private func metadata(input: [Int], classes: Int, epoch: Int) -> [String: String] {
        let architecture = switch model {
        case .mlp(let spec):
            MLPCheckpoint(spec: spec, activation: activation, inputs: input.reduce(1, *), classes: classes).metadata
        case .conv(let spec): ConvNetCheckpoint(spec: spec, input: input, classes: classes).metadata
        }
        return architecture.merging([
            MLPCheckpoint.Key.dataset: dataset.description,
            MLPCheckpoint.Key.seed: String(seed),
            MLPCheckpoint.Key.samples: String(samples),
            MLPCheckpoint.Key.noise: String(noise),
            MLPCheckpoint.Key.epoch: String(epoch),
        ]) { $1 }
    }
}

/// One epoch's figures, as printed and as written to metrics.csv.
struct EpochRecord {
    let epoch: Int
    let train: Evaluation
    let test: Evaluation
    let learningRate: Double
    let seconds: Double

    static func csv(_ records: [EpochRecord]) -> String {
        var text = "epoch,train_loss,train_accuracy,test_loss,test_accuracy,learning_rate,seconds\n"
        for r in records {
            text += "\(r.epoch),\(r.train.loss),\(r.train.accuracy),\(r.test.loss),\(r.test.accuracy),\(r.learningRate),\(r.seconds)\n"
        }
        return text
    }
}
