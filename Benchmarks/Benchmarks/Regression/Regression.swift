// The regression suite: a few workloads of `autograd bench` whose wall clock
// and heap allocations are checked against the static thresholds committed
// in `Benchmarks/Thresholds/` (`make bench-check`; `make bench-thresholds`
// records new ones after a deliberate change).
//
// Allocation counts are deterministic and checked exactly (the compiled
// step's is 0): one malloc more or fewer fails the check. Wall clock is only
// guarded against collapses (2.5× the recorded p90): this 2-core VM's speed
// moves by up to 1.8× between runs. Names have no spaces: the threshold files
// are named after them.

import Autograd
import Benchmark

/// A training step of the `train_mlp_*` workloads: Linear layers with bias and
/// ReLU, cross-entropy on random labels, SGD with learning rate 0.01 and
/// momentum 0.9; eagerly or through ``compile(options:_:)``.
final class TrainingStep: @unchecked Sendable {
    private let model: Module
    private let optimizer: SGD
    private let inputs: Tensor
    private let labels: Tensor
    private let compiled: CompiledFunction?

    convenience init(widths: [Int], batch: Int, compiled: Bool) {
        manualSeed(5)
        let model = MLP(inputs: widths[0], hidden: Array(widths.dropFirst().dropLast()),
                        outputs: widths.last!, activation: .relu)
        self.init(model: model, input: [widths[0]], classes: widths.last!, batch: batch, compiled: compiled)
    }

    /// `model` on random inputs [batch] + `input` and labels in 0..<classes.
    init(model: Module, input: [Int], classes: Int, batch: Int, compiled: Bool) {
        let optimizer = SGD(model.parameters, learningRate: 0.01, momentum: 0.9)
        var rng = RandomGenerator(seed: 6)
        inputs = Tensor.randn([batch] + input, using: &rng)
        labels = Tensor(shape: [batch], scalars: (0..<batch).map { _ in Double(Int.random(in: 0..<classes, using: &rng)) })
        self.model = model
        self.optimizer = optimizer
        self.compiled = compiled ? compile { (x: Tensor, y: Tensor) -> Tensor in
            optimizer.zeroGrad()
            let loss = crossEntropy(logits: model(x), labels: y)
            loss.backward()
            optimizer.step()
            return loss
        } : nil
    }

    /// One step, with the loss read back.
    func run() -> Double {
        if let compiled { return compiled(inputs, labels).item() }
        optimizer.zeroGrad()
        let loss = crossEntropy(logits: model(inputs), labels: labels)
        loss.backward()
        optimizer.step()
        return loss.item()
    }
}

/// Tensors made once, outside the measured closures.
final class Operands: @unchecked Sendable {
    let square256: Tensor
    let vector256K: Tensor
    let small: Tensor

    init() {
        var rng = RandomGenerator(seed: 2)
        square256 = Tensor.randn([256, 256], using: &rng)
        vector256K = Tensor.randn([256 << 10], using: &rng)
        small = Tensor.randn([16], using: &rng).requiringGrad()
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal],
        warmupIterations: 3,
        maxDuration: .seconds(2),
        maxIterations: 1_000,
        thresholds: [
            .wallClock: .init(relative: [.p90: 150]),
            .mallocCountTotal: .init(absolute: [.p90: 0]),
        ])

    let operands = Operands()
    let mnist = TrainingStep(widths: [784, 256, 128, 10], batch: 64, compiled: false)
    let mnistCompiled = TrainingStep(widths: [784, 256, 128, 10], batch: 64, compiled: true)
    let tiny = TrainingStep(widths: [2, 16, 16, 2], batch: 10, compiled: false)
    manualSeed(9)
    let lenet5Compiled = TrainingStep(model: LeNet5(), input: [1, 28, 28], classes: 10, batch: 64, compiled: true)

    Benchmark("train_mlp_mnist_step") { _ in blackHole(mnist.run()) }
    Benchmark("train_mlp_mnist_compiled_step") { _ in blackHole(mnistCompiled.run()) }
    Benchmark("train_mlp_tiny_step") { _ in blackHole(tiny.run()) }
    Benchmark("train_lenet5_compiled_step") { _ in blackHole(lenet5Compiled.run()) }

    // 100 recorded ops and their reverse pass, as `eager_overhead`.
    Benchmark("eager_overhead_100_ops") { _ in
        var h = operands.small
        for _ in 0..<50 { h = tanh(h) * 1.01 }
        h.sum().backward()
        operands.small.zeroGrad()
    }

    Benchmark("gemm_f32_256") { _ in blackHole(matmul(operands.square256, operands.square256)) }
    Benchmark("sigmoid_f32_256K") { _ in blackHole(sigmoid(operands.vector256K)) }
}
