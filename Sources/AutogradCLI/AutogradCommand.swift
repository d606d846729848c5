import ArgumentParser
import Autograd

@main
struct AutogradCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "autograd",
        abstract: "Autograd: tensors, reverse- and forward-mode differentiation, and training on the CPU.",
        subcommands: [Demo.self],
        defaultSubcommand: Demo.self
    )
}
