import Autograd
import Testing

/// The README's example, as written there, with its printed values checked.
@Test func readmeExample() {
    // f(x, y, z) = (x + y) · z
    let x = Tensor(-2.0).requiringGrad()
    let y = Tensor(5.0).requiringGrad()
    let z = Tensor(-4.0).requiringGrad()
    let f = (x + y) * z
    f.backward()
    #expect(f.item() == -12)
    #expect([x.grad!.item(), y.grad!.item(), z.grad!.item()] == [-4, -4, 3])

    let w = Tensor.randn([4, 3]).requiringGrad()
    let b = Tensor.zeros([3]).requiringGrad()
    let inputs = Tensor.randn([8, 4])
    let loss = crossEntropy(logits: matmul(inputs, w) + b, labels: [0, 1, 2, 0, 1, 2, 0, 1])
    loss.backward()
    #expect(w.grad!.shape == [4, 3])
    #expect(b.grad!.shape == [3])

    let (value, slope) = jvp(of: { tanh($0) * $0 }, at: Tensor([0.5]), tangent: Tensor([1.0]))
    #expect(Swift.abs(value.item() - 0.231_058_578_630_004_9) < 1e-6)
    #expect(Swift.abs(slope.item() - 0.855_341_023_3) < 1e-6)
}

/// The README's training example, as written there, writing into a temporary folder.
@Test func readmeTrainingExample() throws {
    let folder = TemporaryFolder()
    manualSeed(0)
    let (train, test) = try Digits.load().split(testFraction: 0.2, seed: 0)

    let model = Sequential {
        Linear(64, 128)
        ReLU()
        Dropout(0.1)
        Linear(128, 10)
    }
    let optimizer = Adam(model.parameters, learningRate: 3e-3)
    let loader = DataLoader(train, batchSize: 32, shuffle: true, seed: 0)

    var accuracy = 0.0
    for _ in 1...10 {
        model.train()
        for batch in loader {
            optimizer.zeroGrad()
            let loss = crossEntropy(logits: model(batch.inputs), labels: batch.labels)
            loss.backward()
            optimizer.step()
        }
        accuracy = Trainer.evaluate(model, test).accuracy
    }
    try Checkpoint.save(model, optimizer: optimizer, to: folder.file("digits.safetensors"))
    #expect(accuracy > 0.9)  // other tests share the default generator, so the exact figure varies (≈ 0.95–0.97)
    #expect(folder.contents() == ["digits.safetensors"])
}

/// The README's `compile` example, as written there (with a small batch):
/// the loss falls and the plan reports its memory.
@Test func readmeCompileExample() {
    var rng = RandomGenerator(seed: 8)
    let x = Tensor.randn([16, 784], using: &rng)
    let y = Tensor(shape: [16], scalars: (0..<16).map { Double($0 % 10) })
    let model = MLP(inputs: 784, hidden: [256, 128], outputs: 10, activation: .relu)
    let optimizer = SGD(model.parameters, learningRate: 0.01, momentum: 0.9)
    let step = compile { (x: Tensor, y: Tensor) -> Tensor in
        optimizer.zeroGrad()
        let loss = crossEntropy(logits: model(x), labels: y)   // y: class indices as a tensor
        loss.backward()
        optimizer.step()
        return loss
    }
    var losses: [Double] = []
    for _ in 0..<100 { losses.append(step(x, y).item()) }  // first call traces, the rest run the plan
    let report = step.memoryReport(for: [x, y])!
    #expect(losses.last! < losses.first! / 10)
    #expect(report.arenaBytes > 0 && report.arenaBytes < report.noReuseBytes)
    #expect(report.description.hasPrefix("arena "))
}
