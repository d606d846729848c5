import ArgumentParser
import Autograd

@main
struct AutogradCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "autograd",
        abstract: "Train and evaluate neural networks on the CPU with Autograd.",
        subcommands: [Train.self, Eval.self, Summary.self, Bench.self, GraphCommand.self, BenchProbe.self]
    )
}

/// Prints a one-line error to standard error and exits non-zero.
func fail(_ message: String) -> ExitCode {
    var stderr = StandardError()
    print("error: \(message)", to: &stderr)
    return ExitCode.failure
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        FileHandleWriter.standardError(string)
    }
}
