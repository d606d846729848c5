import ArgumentParser
import Autograd
import Foundation

/// Runs a training workload (`--workload mlp`: the mnist MLP at batch 64;
/// `alexnet`: AlexNet at batch 16 on 3×224×224, 1000 classes; `lenet5`,
/// `lenet5-compiled`: the LeNet-5 step of the bench) and prints the
/// process's peak resident memory in KiB; `autograd bench` runs it as a
/// child process. The figure is
/// VmHWM from /proc/self/status, the high-water mark of this process image:
/// getrusage's ru_maxrss would also count the parent's pages from before exec.
struct BenchProbe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-probe", abstract: "Internal: peak memory of one benchmark workload.",
        shouldDisplay: false)

    @Option var workload = "mlp"
    @Option var steps = 20
    @Option var threads: Int?

    func run() throws {
        if let threads { Kernels.threadCount = threads }
        let step: Workloads.TrainingStep
        switch workload {
        case "mlp": step = Workloads.TrainingStep(widths: [784, 256, 128, 10], batch: 64)
        case "alexnet": step = Workloads.alexNetStep()
        case "lenet5": step = Workloads.lenet5Step(compiled: false)
        case "lenet5-compiled": step = Workloads.lenet5Step(compiled: true)
        default: throw ValidationError("unknown workload '\(workload)'; expected mlp, alexnet, lenet5 or lenet5-compiled")
        }
        for _ in 0..<steps { step.run() }
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kib = line.split(separator: " ").compactMap({ Int($0) }).first
        else {
            throw ExitCode.failure
        }
        print(kib)
    }
}
