import AllocationCounter
import Autograd
import CKernels
import Foundation

/// The workloads of `autograd bench`, by the names the performance targets use.
enum Workloads {
    static let gemmSizes = [32, 64, 128, 256, 512, 1024]
    static let elementwiseSizes: [(String, Int)] = [("4K", 4 << 10), ("256K", 256 << 10), ("16M", 16 << 20)]

    static func all(machine: Machine) -> [Workload] {
        var list: [Workload] = []
        for n in gemmSizes {
            list.append(gemmTensor(n, machine))
            list.append(gemmRaw(n, machine))
        }
        list.append(gemmTensor(1024, machine, dtype: .float64))
        list.append(gemmRaw(1024, machine, dtype: .float64))
        list.append(gemmTensor(1024, machine, threads: 1))
        list.append(gemmRaw(1024, machine, threads: 1))
        list.append(batchedGemm(batch: 64, n: 32, machine))
        list.append(Workload(name: "memcpy_16M", unit: "GB/s") { _ in (machine.memcpyBytesPerSecond / 1e9, nil) })
        list.append(Workload(name: "copy_16M_all_threads", unit: "GB/s") { _ in (machine.copyBytesPerSecond / 1e9, nil) })
        list.append(Workload(name: "read_16M_all_threads", unit: "GB/s") { _ in (machine.readBytesPerSecond / 1e9, nil) })
        for op in elementwiseOps {
            for (label, size) in elementwiseSizes {
                list.append(elementwise(op, label, size, machine))
            }
        }
        list.append(softmaxCrossEntropy())
        list.append(eagerOverhead())
        list.append(training("train_mlp_tiny", widths: [2, 16, 16, 2], batch: 10))
        list.append(training("train_mlp_mnist", widths: [784, 256, 128, 10], batch: 64))
        list.append(training("train_mlp_wide", widths: [1024, 1024, 1024, 1024, 10], batch: 256))
        list.append(allocationsPerStep())
        list.append(peakRSS("peak_rss_mlp_mnist", workload: "mlp", steps: 20))
        list.append(training("train_mlp_tiny_compiled", widths: [2, 16, 16, 2], batch: 10, compiled: true))
        list.append(training("train_mlp_mnist_compiled", widths: [784, 256, 128, 10], batch: 64, compiled: true))
        list.append(training("train_mlp_wide_compiled", widths: [1024, 1024, 1024, 1024, 10], batch: 256, compiled: true))
        list.append(allocationsPerStep(compiled: true))
        list.append(contentsOf: deepPlan())
        list.append(contentsOf: convolutions(machine))
        return list
    }

    /// `matmul` of two n×n tensors; `_1t` names run on one thread. The note
    /// says which implementation ran (ours with its micro-kernel, or OpenBLAS).
    static func gemmTensor(_ n: Int, _ machine: Machine, dtype: DType = .float32, threads: Int? = nil) -> Workload {
        let type = dtype == .float32 ? "f32" : "f64"
        let dt = dtype == .float32 ? AG_F32 : AG_F64
        let note = String(cString: ag_gemm_describe(dt, Int64(n), Int64(n), Int64(n)))
        return Workload(name: "gemm_\(type)_\(n)" + (threads == 1 ? "_1t" : ""), unit: "GFLOP/s", note: note) { reps in
            var rng = RandomGenerator(seed: 1)
            let a = Tensor.randn([n, n], dtype: dtype, using: &rng), b = Tensor.randn([n, n], dtype: dtype, using: &rng)
            let t = Kernels.withThreadCount(threads ?? Kernels.threadCount) {
                Timer.median(repetitions: reps) { _ = matmul(a, b) }
            }
            let flops = 2 * Double(n * n * n) / t
            let peak = machine.peakFlops / Double(machine.threads) * Double(threads ?? machine.threads)
            return (flops / 1e9, flops / (dtype == .float32 ? peak : peak / 2))
        }
    }

    /// `matmul` of two [batch, n, n] tensors: products too small to split,
    /// spread over the threads whole (as batched matmuls and convolutions need).
    static func batchedGemm(batch: Int, n: Int, _ machine: Machine) -> Workload {
        Workload(name: "bmm_f32_\(batch)x\(n)", unit: "GFLOP/s",
                 note: String(cString: ag_gemm_describe(AG_F32, Int64(n), Int64(n), Int64(n)))) { reps in
            var rng = RandomGenerator(seed: 2)
            let a = Tensor.randn([batch, n, n], using: &rng), b = Tensor.randn([batch, n, n], using: &rng)
            let t = Timer.median(repetitions: reps) { _ = matmul(a, b) }
            let flops = 2 * Double(batch * n * n * n) / t
            return (flops / 1e9, flops / machine.peakFlops)
        }
    }

    /// Raw `cblas_sgemm`/`cblas_dgemm` with OpenBLAS's own threading at the same
    /// thread count (the library keeps OpenBLAS on one thread and splits GEMMs itself).
    ///
    /// OpenBLAS's workers keep spinning for about 2^28 cycles (~0.1 s here)
    /// after a call, and ours for 20 ms: on 2 cores, a spinning pool halves
    /// whatever runs next. So this workload starts once our pool is asleep
    /// and ends once OpenBLAS's is, outside the timed region.
    static func gemmRaw(_ n: Int, _ machine: Machine, dtype: DType = .float32, threads: Int? = nil) -> Workload {
        let name = (dtype == .float32 ? "cblas_sgemm_" : "cblas_dgemm_") + "\(n)" + (threads == 1 ? "_1t" : "")
        return Workload(name: name, unit: "GFLOP/s", note: "OpenBLAS") { reps in
            usleep(50_000)
            let count = threads ?? Kernels.threadCount
            openblas_set_num_threads(Int32(count))
            defer {
                openblas_set_num_threads(1)
                usleep(300_000)
            }
            let t: Double
            if dtype == .float32 {
                let a = [Float](repeating: 0.5, count: n * n), b = [Float](repeating: 0.25, count: n * n)
                var c = [Float](repeating: 0, count: n * n)
                t = Timer.median(repetitions: reps) {
                    c.withUnsafeMutableBufferPointer { cp in
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n), 1,
                                    a, Int32(n), b, Int32(n), 0, cp.baseAddress, Int32(n))
                    }
                }
            } else {
                let a = [Double](repeating: 0.5, count: n * n), b = [Double](repeating: 0.25, count: n * n)
                var c = [Double](repeating: 0, count: n * n)
                t = Timer.median(repetitions: reps) {
                    c.withUnsafeMutableBufferPointer { cp in
                        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n), 1,
                                    a, Int32(n), b, Int32(n), 0, cp.baseAddress, Int32(n))
                    }
                }
            }
            let flops = 2 * Double(n * n * n) / t
            let peak = machine.peakFlops / Double(machine.threads) * Double(count)
            return (flops / 1e9, flops / (dtype == .float32 ? peak : peak / 2))
        }
    }

    /// An elementwise workload: its name and the op, of one or two inputs.
    struct ElementwiseOp {
        let name: String
        let arity: Int
        let f: (Tensor, Tensor) -> Tensor
    }

    /// add, mul, exp and every activation of the op table (a new row gets
    /// its workloads here without edits).
    static var elementwiseOps: [ElementwiseOp] {
        [ElementwiseOp(name: "add", arity: 2) { $0 + $1 },
         ElementwiseOp(name: "mul", arity: 2) { $0 * $1 },
         ElementwiseOp(name: "exp", arity: 1) { a, _ in exp(a) }]
            + Activation.allCases.map { act in ElementwiseOp(name: act.name, arity: 1) { a, _ in act(a) } }
    }

    static func elementwise(_ op: ElementwiseOp, _ label: String, _ size: Int, _ machine: Machine) -> Workload {
        Workload(name: "\(op.name)_f32_\(label)", unit: "Gelem/s", comparison: .timesCopy) { reps in
            var rng = RandomGenerator(seed: 2)
            let a = Tensor.randn([size], using: &rng), b = Tensor.randn([size], using: &rng)
            let t = Timer.median(repetitions: reps) { _ = op.f(a, b) }
            let rate = Double(size) / t
            // Memory-bound sizes are compared with the all-thread copy: 12 bytes
            // per element for a binary op, 8 for a unary one.
            let bytes = op.arity == 2 ? 12.0 : 8.0
            return (rate / 1e9, size >= 16 << 20 ? rate * bytes / machine.copyBytesPerSecond : nil)
        }
    }

    static func softmaxCrossEntropy() -> Workload {
        Workload(name: "softmax_xent_f32_64x1000", unit: "Gelem/s") { reps in
            var rng = RandomGenerator(seed: 3)
            let logits = Tensor.randn([64, 1000], using: &rng).requiringGrad()
            let labels = (0..<64).map { _ in Int.random(in: 0..<1000, using: &rng) }
            let t = Timer.median(repetitions: reps) {
                crossEntropy(logits: logits, labels: labels).backward()
                logits.zeroGrad()
            }
            return (64_000 / t / 1e9, nil)
        }
    }

    static func eagerOverhead() -> Workload {
        Workload(name: "eager_overhead", unit: "µs/op") { reps in
            let x = Tensor.randn([16]).requiringGrad()
            let t = Timer.median(repetitions: reps) {
                var h = x
                for _ in 0..<50 { h = tanh(h) * 1.01 }
                h.sum().backward()
                x.zeroGrad()
            }
            return (t / 100 * 1e6, nil)
        }
    }

    /// The training workloads: Linear layers with bias and ReLU, cross-entropy on
    /// random labels, SGD with learning rate 0.01 and momentum 0.9.
    final class TrainingStep {
        let model: Module
        let optimizer: SGD
        let inputs: Tensor
        let labels: [Int]
        let labelTensor: Tensor
        /// The same step through ``compile(options:_:)``, when asked for.
        private var compiled: CompiledFunction?

        /// An MLP of these widths (inputs, hidden…, classes).
        convenience init(widths: [Int], batch: Int, compiled: Bool = false, options: CompileOptions = CompileOptions()) {
            manualSeed(5)
            let mlp = MLP(inputs: widths[0], hidden: Array(widths.dropFirst().dropLast()), outputs: widths.last!,
                          activation: .relu)
            self.init(model: mlp, input: [widths[0]], classes: widths.last!, batch: batch, compiled: compiled,
                      options: options)
        }

        /// `model` on random inputs of shape [batch] + `input` and labels in 0..<classes.
        init(model: Module, input: [Int], classes: Int, batch: Int, compiled: Bool = false,
             options: CompileOptions = CompileOptions()) {
            self.model = model
            optimizer = SGD(model.parameters, learningRate: 0.01, momentum: 0.9)
            var rng = RandomGenerator(seed: 6)
            inputs = Tensor.randn([batch] + input, using: &rng)
            labels = (0..<batch).map { _ in Int.random(in: 0..<classes, using: &rng) }
            labelTensor = Tensor(shape: [batch], scalars: labels.map(Double.init))
            if compiled {
                let (model, optimizer) = (model, optimizer)
                self.compiled = compile(options: options) { (x: Tensor, y: Tensor) -> Tensor in
                    optimizer.zeroGrad()
                    let loss = crossEntropy(logits: model(x), labels: y)
                    loss.backward()
                    optimizer.step()
                    return loss
                }
            }
        }

        @discardableResult
        func run() -> Double {
            if let compiled { return compiled(inputs, labelTensor).item() }
            optimizer.zeroGrad()
            let loss = crossEntropy(logits: model(inputs), labels: labels)
            loss.backward()
            optimizer.step()
            return loss.item()
        }

        var memoryReport: MemoryReport? { compiled?.memoryReport(for: [inputs, labelTensor]) }
    }

    static func training(_ name: String, widths: [Int], batch: Int, compiled: Bool = false) -> Workload {
        Workload(name: name, unit: "samples/s") { reps in
            let step = TrainingStep(widths: widths, batch: batch, compiled: compiled)
            let t = Timer.median(repetitions: reps) { step.run() }
            return (Double(batch) / t, nil)
        }
    }

    /// The memory planner on an MLP of 20 hidden layers of width 512 at batch
    /// 128 (inputs 512, 10 classes): the arena with and without reuse, with
    /// √n checkpointing, and the step time of each plan.
    static func deepPlan() -> [Workload] {
        final class Plans: @unchecked Sendable {
            let widths = [512] + Array(repeating: 512, count: 20) + [10]
            lazy var plain = TrainingStep(widths: widths, batch: 128, compiled: true)
            lazy var noReuse = TrainingStep(widths: widths, batch: 128, compiled: true,
                                            options: CompileOptions(reusesMemory: false))
            lazy var checkpointed = TrainingStep(widths: widths, batch: 128, compiled: true,
                                                 options: CompileOptions(checkpointing: .sqrt))
        }
        let plans = Plans()
        func mib(_ step: TrainingStep, _ bytes: (MemoryReport) -> Int) -> (Double, Double?) {
            step.run()
            return (Double(bytes(step.memoryReport!)) / 1_048_576, nil)
        }
        return [
            Workload(name: "plan_mlp_deep_arena_mib", unit: "MiB") { _ in mib(plans.plain) { $0.arenaBytes } },
            Workload(name: "plan_mlp_deep_noreuse_mib", unit: "MiB") { _ in mib(plans.plain) { $0.noReuseBytes } },
            Workload(name: "plan_mlp_deep_ckpt_arena_mib", unit: "MiB") { _ in mib(plans.checkpointed) { $0.arenaBytes } },
            Workload(name: "plan_mlp_deep_step_ms", unit: "ms") { reps in
                (Timer.median(repetitions: reps) { plans.plain.run() } * 1e3, nil)
            },
            Workload(name: "plan_mlp_deep_ckpt_step_ms", unit: "ms") { reps in
                (Timer.median(repetitions: reps) { plans.checkpointed.run() } * 1e3, nil)
            },
            Workload(name: "plan_mlp_deep_noreuse_step_ms", unit: "ms") { reps in
                (Timer.median(repetitions: reps) { plans.noReuse.run() } * 1e3, nil)
            },
        ]
    }

    static func allocationsPerStep(compiled: Bool = false) -> Workload {
        allocations(compiled ? "allocs_per_step_mlp_mnist_compiled" : "allocs_per_step_mlp_mnist") {
            TrainingStep(widths: [784, 256, 128, 10], batch: 64, compiled: compiled)
        }
    }

    /// Heap allocations of one step of `make()`'s training step after three of warm-up.
    static func allocations(_ name: String, _ make: @escaping () -> TrainingStep) -> Workload {
        Workload(name: name, unit: "count") { _ in
            guard ag_allocation_counter_available() != 0 else { return (.nan, nil) }
            let step = make()
            for _ in 0..<3 { step.run() }
            let before = ag_allocation_count()
            ag_allocation_counting(1)
            step.run()
            ag_allocation_counting(0)
            return (Double(ag_allocation_count() - before), nil)
        }
    }

    /// Peak resident memory of `steps` steps of a training workload
    /// (`autograd bench-probe --workload`), measured in a child process so
    /// that nothing else this run did counts.
    static func peakRSS(_ name: String, workload: String, steps: Int) -> Workload {
        Workload(name: name, unit: "MiB") { _ in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
            process.arguments = ["bench-probe", "--workload", workload, "--steps", String(steps)]
                + (Kernels.threadCount > 0 ? ["--threads", String(Kernels.threadCount)] : [])
            let out = Pipe()
            process.standardOutput = out
            guard (try? process.run()) != nil else { return (.nan, nil) }
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            guard process.terminationStatus == 0, let kib = Double(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                return (.nan, nil)
            }
            return (kib / 1024, nil)
        }
    }
}
