import ArgumentParser
import Autograd
import Foundation

/// `autograd summary`: the table of a model's layers that torchinfo prints,
/// from the library's ``ModelSummary``.
struct Summary: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a model's layers with their output shapes, parameters and FLOPs, and the totals.",
        discussion: """
            The model runs once on a zero input of one sample, so the output shapes are what the layers \
            produce, for a batch of 1 (the first axis). A row's parameters are the layer's own; containers \
            show --. FLOPs are per sample, a multiply-add counting 2: a convolution 2·K·(C/groups)·R·S·P·Q \
            (without bias), Linear 2·in·out, activations 1 per output element, batch norm 2, pooling 1 per \
            input element each window reads (kernel area per output element), dropout and flatten 0. \
            Memory: parameters and buffers, and one sample's activations (the input and every layer's \
            output) in the model's dtype. An input a layer refuses is an error naming the layer and the shapes.
            """)

    @Option(help: "mlp:W1,W2,…, lenet5, alexnet or cnn:C1,C2,… (as 'train --model').")
    var model: ModelSpec

    @Option(name: .customLong("input"), help: "One sample's shape: C×H×W for a convolutional model (1x28x28, 3x224x224), features for an MLP (64; C×H×W is flattened).")
    var inputText: String

    /// `--input`, which ``validate()`` has parsed once already.
    var input: InputShape { try! InputShape(inputText) }

    @Option(parsing: .unconditional, help: "Classes the model outputs.")
    var classes = 10

    /// Set on the child process that does the work (see ``run()``).
    @Flag(help: ArgumentHelp(visibility: .private))
    var inProcess = false

    func validate() throws {
        guard classes >= 1 else { throw ValidationError("--classes must be at least 1, got \(classes)") }
        let input = try InputShape(inputText)
        if model.isConvolutional, input.sizes.count != 3 {
            throw ValidationError("--input for \(model) is C×H×W, such as 1x28x28; got \(input)")
        }
    }

    /// A layer that refuses its input stops the process (a programmer's error
    /// in the library), so the model runs in a child process: its output
    /// passes through, and its fatal message becomes this command's error.
    func run() throws {
        guard inProcess else { throw Self.runChild() }
        let title = "\(model) on \(input) inputs, \(classes) classes"
        switch model {
        case .mlp(let spec):
            let inputs = input.sizes.reduce(1, *)
            try checkMemory(MemoryEstimate(spec: spec, inputs: inputs, classes: classes, batchSize: 1, optimizer: .sgd))
            let network = MLP(spec, inputs: inputs, outputs: classes, activation: .relu)
            print(Self.table(network.summary(inputShape: [inputs]), title: title))
        case .conv(let spec):
            guard let estimate = MemoryEstimate(spec: spec, input: input.sizes, classes: classes, batchSize: 1,
                                                optimizer: .sgd) else {
                // The image is too small for the spec's layers: the network built for its own
                // image size runs on it, so that the layer that refuses the input says why.
                if let network = [28, 224].lazy.compactMap({ spec.build(input: [input.sizes[0], $0, $0], classes: classes) }).first {
                    _ = network.summary(inputShape: input.sizes)
                }
                throw fail("\(spec) does not fit \(input) inputs")
            }
            try checkMemory(estimate)
            print(Self.table(spec.build(input: input.sizes, classes: classes)!.summary(inputShape: input.sizes), title: title))
        }
    }

    /// Stops before building a model whose parameters and one sample's activations
    /// would not fit in the memory available.
    private func checkMemory(_ estimate: MemoryEstimate) throws {
        if let available = MemoryEstimate.available(), estimate.bytes > available {
            throw fail("\(model) on \(input) inputs has \(estimate.parameters) parameters, more than memory holds")
        }
    }

    /// Runs this command again with --in-process and returns how to exit.
    private static func runChild() -> ExitCode {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = Array(CommandLine.arguments.dropFirst()) + ["--in-process"]
        // No crash report for a refused shape: its one-line message is all there is to say.
        process.environment = ProcessInfo.processInfo.environment.merging(["SWIFT_BACKTRACE": "enable=no"]) { $1 }
        let errors = Pipe()
        process.standardError = errors
        do {
            try process.run()
        } catch {
            return fail("cannot run \(process.executableURL!.path): \(error.localizedDescription)")
        }
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        if process.terminationReason == .exit {
            FileHandleWriter.standardError(text)
            return ExitCode(process.terminationStatus)
        }
        let line = text.split(separator: "\n").first { $0.contains("Fatal error: ") }
        return fail(line.map { String($0[$0.range(of: "Fatal error: ")!.upperBound...]) }
                    ?? "the model stopped with signal \(process.terminationStatus)")
    }

    /// The summary as a table, one row per module call indented by nesting,
    /// then the totals.
    static func table(_ summary: ModelSummary, title: String) -> String {
        let rows = summary.layers.map { layer -> [String] in
            let label = layer.name.split(separator: ".").last.map { "\($0): " } ?? ""
            return [String(repeating: "  ", count: layer.depth) + label + layer.description,
                    "[" + layer.outputShape.map(String.init).joined(separator: ", ") + "]",
                    layer.isLeaf ? grouped(layer.parameterCount) : "--",
                    layer.isLeaf ? grouped(layer.flops) : "--"]
        }
        let header = ["Layer", "Output shape", "Params", "FLOPs"]
        let widths = (0..<4).map { c in ([header] + rows).map { $0[c].count }.max()! }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { c, cell in
                let pad = String(repeating: " ", count: widths[c] - cell.count)
                return c < 2 ? cell + pad : pad + cell
            }.joined(separator: "   ")
        }
        let rule = String(repeating: "─", count: widths.reduce(0, +) + 9)
        let mib = { (bytes: Int) in
            let value = Double(bytes) / 1_048_576
            return Fmt.fixed(value, value >= 0.1 ? 2 : 4) + " MiB"
        }
        var lines = [title + " (output shapes for a batch of 1)", rule, line(header), rule]
        lines += rows.map(line)
        lines += [rule,
                  "Total params: \(grouped(summary.parameterCount))",
                  "Trainable params: \(grouped(summary.parameterCount))",
                  "Buffers (not trained): \(grouped(summary.bufferCount))",
                  "Total FLOPs: \(humanFLOPs(summary.flops)) per sample (\(grouped(summary.flops)))",
                  "Parameter memory: \(mib(summary.parameterBytes)) (\(summary.dtype))",
                  "Activation memory: \(mib(summary.activationBytesPerSample)) per sample (forward values)",
                  rule]
        return lines.joined(separator: "\n")
    }

    /// 61706 → "61,706".
    static func grouped(_ n: Int) -> String {
        let digits = String(n.magnitude)
        var out = ""
        for (i, d) in digits.enumerated() {
            if i > 0, (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(d)
        }
        return (n < 0 ? "-" : "") + out
    }

    /// 845852 → "0.85 MFLOPs": the largest of K, M, G, T that leaves at least 0.01.
    static func humanFLOPs(_ n: Int) -> String {
        let value = Double(n)
        for (scale, prefix) in [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")] where value >= scale / 100 {
            return Fmt.fixed(value / scale, 2) + " \(prefix)FLOPs"
        }
        return "\(n) FLOPs"
    }
}

/// `--input`: sizes separated by `x` (or `×`), each at least 1: `1x28x28`, `64`.
struct InputShape: CustomStringConvertible {
    let sizes: [Int]

    init(_ argument: String) throws {
        let fields = argument.split(separator: /x|×/, omittingEmptySubsequences: false)
        let sizes = fields.compactMap { Int($0) }
        guard sizes.count == fields.count, sizes.allSatisfy({ $0 >= 1 }) else {
            throw ValidationError("--input must be sizes of at least 1 separated by x, such as 1x28x28 or 64; got '\(argument)'")
        }
        guard sizes.reduce(1.0, { $0 * Double($1) }) <= Double(1 << 30) else {
            throw ValidationError("--input \(argument) has more than 2^30 values per sample")
        }
        self.sizes = sizes
    }

    var description: String { sizes.map(String.init).joined(separator: "×") }
}
