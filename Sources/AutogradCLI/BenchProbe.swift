import ArgumentParser
import Autograd
import Foundation

/// Runs the mnist training workload and prints the process's peak resident
/// memory in KiB; `autograd bench` runs it as a child process.
struct BenchProbe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-probe", abstract: "Internal: peak memory of one benchmark workload.",
        shouldDisplay: false)

    @Option var steps = 20
    @Option var threads: Int?

    func run() throws {
        if let threads { Kernels.threadCount = threads }
        let step = Workloads.TrainingStep(widths: [784, 256, 128, 10], batch: 64)
        for _ in 0..<steps { step.run() }
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        print(usage.ru_maxrss)
    }
}
