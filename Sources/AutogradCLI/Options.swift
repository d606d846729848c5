import ArgumentParser
import Autograd
import Foundation

/// `--dataset`: a bundled or generated set, or files the user names.
enum DatasetSpec: ExpressibleByArgument, CustomStringConvertible {
    case digits
    case playground(Playground)
    case mnist(String)
    /// Fashion-MNIST as Debian's `dataset-fashion-mnist` installs it.
    case fashionMNIST(String)
    case csv(String)

    init?(argument: String) {
        if argument == "digits" {
            self = .digits
        } else if argument == "fashion-mnist" {
            self = .fashionMNIST(MNIST.fashionMNISTDirectory)
        } else if let kind = Playground(rawValue: argument) {
            self = .playground(kind)
        } else if argument.hasPrefix("mnist:"), argument.count > 6 {
            self = .mnist(String(argument.dropFirst(6)))
        } else if argument.hasPrefix("csv:"), argument.count > 4 {
            self = .csv(String(argument.dropFirst(4)))
        } else {
            return nil
        }
    }

    static var allValueStrings: [String] { ["digits", "circle", "xor", "gauss", "spiral", "fashion-mnist", "mnist:PATH", "csv:PATH"] }

    var description: String {
        switch self {
        case .digits: "digits"
        case .playground(let kind): kind.rawValue
        case .mnist(let path): "mnist:" + path
        case .fashionMNIST: "fashion-mnist"
        case .csv(let path): "csv:" + path
        }
    }

    var isTwoDimensional: Bool {
        if case .playground = self { return true }
        return false
    }

    /// Train and test splits: MNIST's own, otherwise a seeded 80/20 split.
    /// With `classes` (a model's class count), every label is checked to be
    /// in 0..<classes first; one that isn't is an error naming the source,
    /// the data row (before the split) and the value.
    /// With `images`, image datasets keep their [N, C, H, W] shape (the
    /// digits become [N, 1, 8, 8]), for convolutional models; others are
    /// then an error.
    func load(samples: Int, noise: Double, seed: UInt64, classes: Int? = nil,
              images: Bool = false) throws(DataError) -> (train: TensorDataset, test: TensorDataset) {
        switch self {
        case .digits:
            let data = try Digits.load()
            try DatasetSpec.check(data, classes, source: description)
            let shaped = images
                ? TensorDataset(features: data.features.reshaped([data.count, 1, 8, 8]), labels: data.labels,
                                classCount: data.classCount)
                : data
            return shaped.split(testFraction: 0.2, seed: seed)
        case .mnist(let directory), .fashionMNIST(let directory):
            // MLPs take the images [N, 1, 28, 28] as rows of 784.
            func shaped(_ d: TensorDataset) -> TensorDataset {
                images ? d : TensorDataset(features: d.features.reshaped([d.count, -1]), labels: d.labels,
                                           classCount: d.classCount)
            }
            let train = try shaped(MNIST.load(directory: directory, split: .train))
            let test = try shaped(MNIST.load(directory: directory, split: .test))
            try DatasetSpec.check(train, classes, source: directory + " (train)")
            try DatasetSpec.check(test, classes, source: directory + " (test)")
            return (train, test)
        case .playground(let kind):
            try refuseImages(images)
            let data = kind.dataset(samples: samples, noise: noise, seed: seed)
            try DatasetSpec.check(data, classes, source: description)
            return data.split(testFraction: 0.2, seed: seed)
        case .csv(let path):
            try refuseImages(images)
            let data = try CSVDataset.load(path)
            guard data.count >= 2 else { throw DataError(path, "needs at least 2 rows to split into train and test") }
            try DatasetSpec.check(data, classes, source: path)
            return data.split(testFraction: 0.2, seed: seed)
        }
    }

    /// Stops a convolutional model on a set that is not images.
    private func refuseImages(_ images: Bool) throws(DataError) {
        if images {
            throw DataError(description, "is not a set of images; convolutional models train on digits, fashion-mnist or mnist:DIR")
        }
    }

    private static func check(_ data: TensorDataset, _ classes: Int?, source: String) throws(DataError) {
        guard let classes else { return }
        for (row, label) in data.labels.enumerated() where label < 0 || label >= classes {
            throw DataError(source, "data row \(row + 1) has label \(label), but the model has \(classes) classes (labels 0..<\(classes))")
        }
    }
}

extension DatasetSpec {
    /// Names for the classes 0..<count, as plots label them: Fashion-MNIST's
    /// garments, otherwise the class numbers (the digits' own names).
    func classNames(_ count: Int) -> [String] {
        if case .fashionMNIST = self, count == MNIST.fashionClassNames.count { return MNIST.fashionClassNames }
        return (0..<count).map(String.init)
    }
}

/// `mlp:128,64`: a multilayer perceptron with those hidden widths (`mlp:`
/// alone is a linear classifier), as `autograd graph --model` takes it.
extension MLP.Spec: ExpressibleByArgument {
    public init?(argument: String) { self.init(argument) }
    public static var allValueStrings: [String] { ["mlp:W1,W2,…"] }
}

/// `--model`: an MLP (`mlp:W1,W2,…`, the library's ``MLP/Spec``) or a
/// convolutional network (`lenet5`, `alexnet`, `cnn:C1,C2,…`, a ``ConvNetSpec``).
enum ModelSpec: ExpressibleByArgument, CustomStringConvertible {
    case mlp(MLP.Spec)
    case conv(ConvNetSpec)

    init?(argument: String) {
        if let spec = MLP.Spec(argument) {
            self = .mlp(spec)
        } else if let spec = ConvNetSpec(argument) {
            self = .conv(spec)
        } else {
            return nil
        }
    }

    static var allValueStrings: [String] { ["mlp:W1,W2,…", "lenet5", "alexnet", "cnn:C1,C2,…"] }

    var description: String {
        switch self {
        case .mlp(let spec): spec.description
        case .conv(let spec): spec.description
        }
    }

    var isConvolutional: Bool {
        if case .conv = self { return true }
        return false
    }
}

extension Activation: ExpressibleByArgument {}

enum OptimizerKind: String, ExpressibleByArgument, CaseIterable {
    case sgd, adam, adamw, rmsprop, adagrad

    func make(_ parameters: [Tensor], learningRate: Double, momentum: Double, weightDecay: Double) -> Optimizer {
        switch self {
        case .sgd: SGD(parameters, learningRate: learningRate, momentum: momentum, weightDecay: weightDecay)
        case .adam: Adam(parameters, learningRate: learningRate, weightDecay: weightDecay)
        case .adamw: AdamW(parameters, learningRate: learningRate, weightDecay: weightDecay)
        case .rmsprop: RMSProp(parameters, learningRate: learningRate, weightDecay: weightDecay, momentum: momentum)
        case .adagrad: AdaGrad(parameters, learningRate: learningRate, weightDecay: weightDecay)
        }
    }
}

extension OptimizerKind {
    /// Tensors of state each parameter gets (momentum, moment estimates, …), at most.
    var statePerParameter: Int {
        switch self {
        case .sgd, .adagrad: 1
        case .adam, .adamw, .rmsprop: 2
        }
    }
}

/// What training a model will take in memory, estimated before anything is
/// allocated: weights, gradients and optimizer state in float32, plus the
/// activations and their gradients of one batch (a few copies of each
/// layer's output).
struct MemoryEstimate {
    let parameters: Int
    let bytes: Double

    /// A convolutional network on images `input` ([C, H, W]): its
    /// parameters, and the values of every layer's output per image.
    init?(spec: ConvNetSpec, input: [Int], classes: Int, batchSize: Int, optimizer: OptimizerKind) {
        guard let shapes = spec.parameterShapes(input: input, classes: classes),
              let values = spec.activationCount(input: input, classes: classes) else { return nil }
        let parameterCount = shapes.reduce(0.0) { $0 + $1.shape.reduce(1.0) { $0 * Double($1) } }
        parameters = parameterCount < Double(Int.max) ? Int(parameterCount) : Int.max
        bytes = 4 * (parameterCount * Double(2 + optimizer.statePerParameter) + 3 * Double(batchSize) * values)
    }

    init(spec: MLP.Spec, inputs: Int, classes: Int, batchSize: Int, optimizer: OptimizerKind) {
        let shapes = spec.parameterShapes(inputs: inputs, outputs: classes)
        // Double: a hostile --model must not overflow the estimate itself.
        let parameterCount = shapes.reduce(0.0) { $0 + $1.shape.reduce(1.0) { $0 * Double($1) } }
        parameters = parameterCount < Double(Int.max) ? Int(parameterCount) : Int.max
        let widths = ([inputs] + spec.hidden + [classes]).reduce(0.0) { $0 + Double($1) }
        let perParameter = Double(2 + optimizer.statePerParameter)
        bytes = 4 * (parameterCount * perParameter + 6 * Double(batchSize) * widths)
    }

    /// Memory the system says is available (MemAvailable in /proc/meminfo), if it can tell.
    static func available() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            let fields = line.split(separator: " ")
            if fields.count >= 2, let kib = Double(fields[1]) { return kib * 1024 }
        }
        return nil
    }
}

enum ScheduleKind: String, ExpressibleByArgument, CaseIterable {
    case constant, step, exponential, cosine

    func make(epochs: Int, warmup: Int) -> any LearningRateSchedule {
        let main: any LearningRateSchedule = switch self {
        case .constant: ConstantLearningRate()
        case .step: StepDecay(stepSize: Swift.max(1, (epochs - warmup) / 3), gamma: 0.1)
        case .exponential: ExponentialDecay(gamma: 0.95)
        case .cosine: CosineAnnealing(periods: Swift.max(1, epochs - warmup))
        }
        return warmup > 0 ? LinearWarmup(steps: warmup, then: main) : main
    }
}

/// Checks `--threads`: from 1 to a bound that keeps the OpenMP runtime sane
/// (a huge count aborts inside it), with the machine's core count in the message.
func validateThreads(_ threads: Int?) throws {
    guard let threads else { return }
    let cores = ProcessInfo.processInfo.activeProcessorCount
    let limit = Swift.max(4 * cores, 64)
    guard threads >= 1, threads <= limit else {
        throw ValidationError("--threads must be between 1 and \(limit) (this machine has \(cores) cores), got \(threads)")
    }
}
