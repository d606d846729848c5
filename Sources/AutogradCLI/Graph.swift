import ArgumentParser
import Autograd
import Foundation

/// `autograd graph`: draws the compiled training step of an MLP (forward,
/// loss, reverse pass, optimizer updates) with each op's shapes and arena
/// slot, as Graphviz DOT or, through `dot`, SVG.
struct GraphCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graph",
        abstract: "Export the compiled training step of a model as a Graphviz DOT or SVG picture.",
        discussion: "The file's extension picks the format: .dot writes DOT text; .svg runs Graphviz's `dot` (apt install graphviz).")

    @Option(help: "The model: mlp:W1,W2,… (hidden widths).") var model = MLP.Spec("mlp:16,16")!
    @Option(parsing: .unconditional, help: "Input features.") var inputs = 2
    @Option(parsing: .unconditional, help: "Classes.") var classes = 2
    @Option(parsing: .unconditional, help: "Batch size the step is traced with.") var batch = 10
    @Option(help: "Hidden activation: \(Activation.allCases.map(\.rawValue).joined(separator: ", ")).")
    var activation: Activation = .relu
    @Flag(help: "Plan with √n gradient checkpointing.") var checkpointing = false
    @Flag(help: "Draw the eager tape of one forward pass instead of the compiled step.") var eager = false
    @Option(help: "Where to write the picture (.dot or .svg).") var out: String

    func validate() throws {
        guard inputs > 0, classes > 1, batch > 0 else {
            throw ValidationError("--inputs and --batch must be positive and --classes at least 2")
        }
        guard out.hasSuffix(".dot") || out.hasSuffix(".svg") else {
            throw ValidationError("--out must end in .dot or .svg, got \(out)")
        }
    }

    func run() throws {
        manualSeed(0)
        let network = MLP(model, inputs: inputs, outputs: classes, activation: activation)
        let optimizer = SGD(network.parameters, learningRate: 0.01, momentum: 0.9)
        var rng = RandomGenerator(seed: 1)
        let x = Tensor.randn([batch, inputs], using: &rng)
        let y = Tensor(shape: [batch], scalars: (0..<batch).map { Double($0 % classes) })
        let title = "\(model) (\(activation.rawValue)), batch \(batch)"
        let text: String
        var summary = ""
        if eager {
            text = crossEntropy(logits: network(x), labels: y).recordedGraphDOT(title: title + ", eager tape")
        } else {
            let options = CompileOptions(checkpointing: checkpointing ? .sqrt : .none)
            let step = compile(options: options) { (x: Tensor, y: Tensor) -> Tensor in
                optimizer.zeroGrad()
                let loss = crossEntropy(logits: network(x), labels: y)
                loss.backward()
                optimizer.step()
                return loss
            }
            _ = step(x, y)
            text = step.dot(for: [x, y], title: title + ", compiled training step")!
            summary = step.memoryReport(for: [x, y])!.description
        }
        if out.hasSuffix(".svg") {
            try AtomicFile.write(try GraphCommand.svg(fromDOT: text), to: out)
        } else {
            try AtomicFile.write(text, to: out)
        }
        print("wrote \(out)" + (summary.isEmpty ? "" : ": \(summary)"))
    }

    /// Runs Graphviz's `dot -Tsvg` on `text`.
    static func svg(fromDOT text: String) throws -> String {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
            .map { "\($0)/dot" }.first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let path else {
            throw ValidationError("Graphviz's `dot` is not installed (apt install graphviz); write a .dot file instead")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["-Tsvg"]
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        // Read while writing would be safer for huge graphs; DOT of a model is small next to the pipe buffers' drain below.
        let writer = Thread { input.fileHandleForWriting.write(Data(text.utf8)); try? input.fileHandleForWriting.close() }
        writer.start()
        let svg = output.fileHandleForReading.readDataToEndOfFile()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ValidationError("dot failed: \(String(decoding: message, as: UTF8.self))")
        }
        return String(decoding: svg, as: UTF8.self)
    }
}
