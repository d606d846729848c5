import Autograd
import Testing

/// Compiled functions against eager mode: the same values, the same
/// gradients for every op, the same training trajectory.
@Suite("Compile")
struct CompileTests {
    private func stderr(_ result: ExitTest.Result?) -> String {
        String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
    }

    /// For every op of the gradient-check list: a compiled function returning
    /// the op's output and its gradients (a reverse pass traced into the
    /// graph) gives what eager mode gives, on inputs it was not traced with.
    @Test("compiled gradients equal eager ones", arguments: OpCases.all)
    func gradientsMatchEager(_ op: OpCase) {
        let f = CompiledFunction { xs in
            let leaves = xs.dropLast().map { $0.detach().requiringGrad() }
            let y = op.f(leaves)
            return [y] + grad(of: y, withRespectTo: leaves, seed: xs.last!)
        }
        func arguments(_ seed: UInt64) -> [Tensor] {
            let xs = op.inputs(seed: seed)
            var rng = RandomGenerator(seed: seed + 100)
            let y = op.f(xs)
            return xs + [Tensor.randn(y.shape, dtype: .float64, using: &rng)]
        }
        _ = f(arguments(1))  // traces
        let xs = arguments(2)
        let compiled = f(xs).map(\.scalars)  // runs the plan
        #expect(f.traceCount == 1)
        let leaves = xs.dropLast().map { $0.detach().requiringGrad() }
        let y = op.f(leaves)
        let eager = ([y] + grad(of: y, withRespectTo: leaves, seed: xs.last!)).map(\.scalars)
        #expect(compiled.count == eager.count)
        for (c, e) in zip(compiled, eager) {
            expectClose(c, e, tolerance: 1e-12, op.name + " (compiled)")
        }
    }

    /// One training step — zero the gradients, the loss, backward, update —
    /// as the compiled closures and their eager twins both run it.
    @discardableResult
    static func train(_ optimizer: Optimizer, _ loss: () -> Tensor) -> Tensor {
        optimizer.zeroGrad()
        let value = loss()
        value.backward()
        optimizer.step()
        return value
    }

    private static func batch(_ seed: UInt64, rows: Int, features: Int, classes: Int) -> (Tensor, Tensor) {
        var rng = RandomGenerator(seed: seed)
        let x = Tensor.randn([rows, features], using: &rng)
        let y = Tensor(shape: [rows], scalars: (0..<rows).map { _ in Double(Int.random(in: 0..<classes, using: &rng)) })
        return (x, y)
    }

    /// Two copies of one model, one trained eagerly and one by a compiled
    /// step: the same losses and the same parameters after every step.
    @Test(arguments: ["sgd", "adam"])
    func trainingStepMatchesEager(_ kind: String) {
        withManualSeed(11) {
            let eagerModel = MLP(inputs: 6, hidden: [16, 8], outputs: 3, activation: .relu)
            let compiledModel = MLP(inputs: 6, hidden: [16, 8], outputs: 3, activation: .relu)
            for (a, b) in zip(compiledModel.parameters, eagerModel.parameters) { a.assign(b) }
            func optimizer(_ m: Module) -> Optimizer {
                kind == "sgd" ? SGD(m.parameters, learningRate: 0.05, momentum: 0.9) : Adam(m.parameters, learningRate: 0.01)
            }
            let eagerOptimizer = optimizer(eagerModel), compiledOptimizer = optimizer(compiledModel)
            let step = compile { (x: Tensor, y: Tensor) -> Tensor in
                CompileTests.train(compiledOptimizer) { crossEntropy(logits: compiledModel(x), labels: y) }
            }
            for i in 0..<5 {
                let (x, y) = CompileTests.batch(UInt64(i), rows: 10, features: 6, classes: 3)
                let compiledLoss = step(x, y).item()
                let eagerLoss = CompileTests.train(eagerOptimizer) { crossEntropy(logits: eagerModel(x), labels: y) }
                #expect(Swift.abs(compiledLoss - eagerLoss.item()) <= 1e-6 * Swift.abs(eagerLoss.item()), "step \(i)")
                for (a, b) in zip(compiledModel.parameters, eagerModel.parameters) {
                    expectClose(a.scalars, b.scalars, tolerance: 1e-6, "\(kind) parameters after step \(i)")
                }
            }
            #expect(step.traceCount == 1)
            #expect(compiledOptimizer.stepCount == 5)
            #expect(compiledModel.parameters.allSatisfy { $0.grad == nil }, "gradients live in the arena")
        }
    }

    /// Random models, optimizers and compile options: every compiled plan
    /// (with and without memory reuse, with and without checkpointing) trains
    /// exactly like eager mode.
    @Test(arguments: 0..<12)
    func randomModelsTrainLikeEager(_ seed: Int) {
        var rng = RandomGenerator(seed: UInt64(seed) + 40)
        let depth = Int.random(in: 1...6, using: &rng)
        let hidden = (0..<depth).map { _ in Int.random(in: 1...24, using: &rng) }
        let activations = Activation.allCases
        let activation = activations[Int.random(in: 0..<activations.count, using: &rng)]
        let (features, classes, rows) = (Int.random(in: 1...9, using: &rng), Int.random(in: 2...5, using: &rng),
                                         Int.random(in: 1...17, using: &rng))
        let options = [CompileOptions(), CompileOptions(reusesMemory: false), CompileOptions(checkpointing: .sqrt),
                       CompileOptions(checkpointing: .every(2), fusesElementwise: false)][seed % 4]
        withManualSeed(UInt64(seed)) {
            let eagerModel = MLP(inputs: features, hidden: hidden, outputs: classes, activation: activation)
            let compiledModel = MLP(inputs: features, hidden: hidden, outputs: classes, activation: activation)
            for (a, b) in zip(compiledModel.parameters, eagerModel.parameters) { a.assign(b) }
            func optimizer(_ m: Module) -> Optimizer {
                switch seed % 5 {
                case 0: SGD(m.parameters, learningRate: 0.05, momentum: 0.9, nesterov: true)
                case 1: Adam(m.parameters, learningRate: 0.01)
                case 2: AdamW(m.parameters, learningRate: 0.01)
                case 3: RMSProp(m.parameters, learningRate: 0.01, momentum: 0.5)
                default: AdaGrad(m.parameters, learningRate: 0.05)
                }
            }
            let eagerOptimizer = optimizer(eagerModel), compiledOptimizer = optimizer(compiledModel)
            let step = compile(options: options) { (x: Tensor, y: Tensor) -> Tensor in
                CompileTests.train(compiledOptimizer) { crossEntropy(logits: compiledModel(x), labels: y, labelSmoothing: 0.1) }
            }
            let context = "seed \(seed): \(features)-\(hidden)-\(classes) \(activation), batch \(rows)"
            for i in 0..<3 {
                let (x, y) = CompileTests.batch(UInt64(seed * 10 + i), rows: rows, features: features, classes: classes)
                let compiledLoss = step(x, y).item()
                let eagerLoss = CompileTests.train(eagerOptimizer) { crossEntropy(logits: eagerModel(x), labels: y, labelSmoothing: 0.1) }
                #expect(Swift.abs(compiledLoss - eagerLoss.item()) <= 1e-6 * Swift.max(1, Swift.abs(eagerLoss.item())),
                        "\(context), step \(i)")
                for (a, b) in zip(compiledModel.parameters, eagerModel.parameters) {
                    expectClose(a.scalars, b.scalars, tolerance: 1e-5, "\(context), parameters after step \(i)")
                }
            }
            #expect(step.traceCount == 1)
        }
    }

    /// Batch norm's running statistics are `assign`ed inside the step: the
    /// compiled plan updates them in place each call, like eager mode, and
    /// layer norm and an embedding-free custom loss go through too.
    @Test func normalizationLayersAndTheirRunningStatistics() {
        func model() -> Sequential {
            Sequential {
                Linear(5, 8)
                BatchNorm1d(8)
                ReLU()
                LayerNorm(8)
                Linear(8, 3)
            }
        }
        let eagerModel = model(), compiledModel = model()
        for (a, b) in zip(compiledModel.parameters, eagerModel.parameters) { a.assign(b) }
        let eagerOptimizer = Adam(eagerModel.parameters, learningRate: 0.01)
        let compiledOptimizer = Adam(compiledModel.parameters, learningRate: 0.01)
        let step = compile { (x: Tensor, y: Tensor) -> Tensor in
            CompileTests.train(compiledOptimizer) { crossEntropy(logits: compiledModel(x), labels: y) + compiledModel(x).squared().mean() * 0.01 }
        }
        for i in 0..<4 {
            let (x, y) = CompileTests.batch(UInt64(70 + i), rows: 6, features: 5, classes: 3)
            let compiledLoss = step(x, y).item()
            let loss = CompileTests.train(eagerOptimizer) { crossEntropy(logits: eagerModel(x), labels: y) + eagerModel(x).squared().mean() * 0.01 }
            #expect(Swift.abs(compiledLoss - loss.item()) <= 1e-6 * Swift.abs(loss.item()), "step \(i)")
        }
        for ((name, a), (_, b)) in zip(compiledModel.namedBuffers(), eagerModel.namedBuffers()) {
            expectClose(a.scalars, b.scalars, tolerance: 1e-6, name)
        }
        for (a, b) in zip(compiledModel.parameters, eagerModel.parameters) {
            expectClose(a.scalars, b.scalars, tolerance: 1e-5, "parameters")
        }
    }

    @Test func newShapesTraceAgainAndOldOnesStillRun() {
        let w = Tensor.randn([4, 3])
        let f = compile { (x: Tensor) in tanh(matmul(x, w.to(x.dtype))).sum(alongAxes: [1]) }
        let a = Tensor.randn([2, 4]), b = Tensor.randn([5, 4])
        _ = f(a)
        #expect(f(a).shape == [2])
        #expect(f(b).shape == [5])
        expectClose(f(b).scalars, tanh(matmul(b, w)).sum(alongAxes: [1]).scalars, tolerance: 1e-6, "retraced")
        expectClose(f(a).scalars, tanh(matmul(a, w)).sum(alongAxes: [1]).scalars, tolerance: 1e-6, "first plan")
        #expect(f.traceCount == 2)
        _ = f(Tensor.randn([2, 4], dtype: .float64))
        #expect(f.traceCount == 3, "a new dtype traces again")
    }

    /// Inputs are read where they are (a non-contiguous one through a copy)
    /// and never written, even by ops that could work in place.
    @Test func inputsAreReadInPlaceAndLeftAlone() {
        let f = compile(options: CompileOptions(fusesElementwise: false)) { (x: Tensor) in exp(-x) * 3 }
        let x = Tensor.randn([4, 3])
        let before = x.scalars
        _ = f(x)
        expectClose(f(x).scalars, (exp(-x) * 3).scalars, tolerance: 1e-6, "contiguous input")
        #expect(x.scalars == before)
        let t = Tensor.randn([3, 4]).transposed()
        expectClose(f(t).scalars, (exp(-t) * 3).scalars, tolerance: 1e-6, "transposed input")
        #expect(f.traceCount == 1)
    }

    @Test func aCompiledFunctionCalledWhileTracingIsTracedInline() {
        let inner = compile { (x: Tensor) in tanh(x) * 2 }
        let x = Tensor.randn([5])
        _ = inner(x)  // inner has a plan of its own
        let outer = compile { (x: Tensor) in inner(x) + 1 }
        _ = outer(x)
        let y = Tensor.randn([5])
        expectClose(outer(y).scalars, (tanh(y) * 2 + 1).scalars, tolerance: 1e-6, "nested")
    }

    /// A gradient that arrives as a view (the expanded seed of a sum) is
    /// copied into `.grad` by an op the trace records, so the compiled update
    /// reads the current step's gradient.
    @Test func aGradientArrivingAsAViewIsCopiedInTheGraph() {
        let w = Tensor([1.0, 2.0, 3.0]).requiringGrad()
        let optimizer = SGD([w], learningRate: 0.5)
        let step = compile { (x: Tensor) -> Tensor in
            CompileTests.train(optimizer) { w.sum() * x.sum() }  // d/dw = x.sum() in every entry, via an expand
        }
        _ = step(Tensor([1.0]))  // w ← w − 0.5
        _ = step(Tensor([2.0]))  // w ← w − 1
        #expect(w.scalars == [-0.5, 0.5, 1.5])
    }

    @Test func eagerCodeSeesParametersUpdatedInPlace() {
        let w = Tensor([1.0, 2.0]).requiringGrad()
        let optimizer = SGD([w], learningRate: 0.5)
        let step = compile { (x: Tensor) -> Tensor in
            CompileTests.train(optimizer) { (w * x).sum() }
        }
        _ = step(Tensor([1.0, 1.0]))  // w ← w − 0.5·x = [0.5, 1.5]
        let loss = step(Tensor([2.0, 0.0])).item()  // reads [0.5, 1.5], then w ← [-0.5, 1.5]
        #expect(loss == 1.0)
        #expect(w.scalars == [-0.5, 1.5])
    }

    /// The planner on a deep MLP's training step: memory shared between
    /// buffers, and checkpointing trades recomputation for less.
    @Test func memoryPlanReusesAndCheckpointingShrinksIt() {
        // Tests share the default generator: every model starts from one reference's values.
        let reference = MLP(inputs: 32, hidden: Array(repeating: 32, count: 12), outputs: 4, activation: .relu)
        func report(_ options: CompileOptions) -> (MemoryReport, [Double]) {
            let model = MLP(inputs: 32, hidden: Array(repeating: 32, count: 12), outputs: 4, activation: .relu)
            for (a, b) in zip(model.parameters, reference.parameters) { a.assign(b) }
            let optimizer = SGD(model.parameters, learningRate: 0.01, momentum: 0.9)
            let step = compile(options: options) { (x: Tensor, y: Tensor) -> Tensor in
                CompileTests.train(optimizer) { crossEntropy(logits: model(x), labels: y) }
            }
            var losses: [Double] = []
            for i in 0..<3 {
                let (x, y) = CompileTests.batch(UInt64(i), rows: 64, features: 32, classes: 4)
                losses.append(step(x, y).item())
            }
            let (x, y) = CompileTests.batch(0, rows: 64, features: 32, classes: 4)
            return (step.memoryReport(for: [x, y])!, losses)
        }
        let (plain, plainLosses) = report(CompileOptions())
        let (none, noneLosses) = report(CompileOptions(reusesMemory: false))
        let (ckpt, ckptLosses) = report(CompileOptions(checkpointing: .sqrt))
        #expect(none.arenaBytes == none.noReuseBytes)
        #expect(plain.arenaBytes * 2 <= plain.noReuseBytes, "\(plain)")
        #expect(plain.arenaBytes >= plain.peakLiveBytes)
        #expect(ckpt.arenaBytes < plain.arenaBytes, "\(ckpt) vs \(plain)")
        #expect(plainLosses == noneLosses)
        #expect(plainLosses == ckptLosses)
    }

    @Test func commonSubexpressionsMergeAndDeadNodesGo() {
        let f = compile { (x: Tensor) -> Tensor in
            let unused = exp(x) * 3
            _ = unused
            return tanh(x) + tanh(x)
        }
        let x = Tensor.randn([8])
        _ = f(x)
        let report = f.memoryReport(for: [x])!
        #expect(report.mergedNodes == 1)
        #expect(report.nodes == 2, "tanh and add; exp and mul are dead: \(report)")
        expectClose(f(x).scalars, (tanh(x) * 2).scalars, tolerance: 1e-6, "merged")
    }

    /// An elementwise chain becomes one fused node over tiles: the same
    /// values, and no buffers for the chain's intermediates. Large enough
    /// (3 tiles) that the tiling is exercised.
    @Test func elementwiseChainsFuse() {
        let body = { (x: Tensor, y: Tensor) -> Tensor in (tanh(x * y + 1) - y).squared() * 0.5 }
        let fused = compile(body)
        let unfused = compile(options: CompileOptions(fusesElementwise: false), body)
        var rng = RandomGenerator(seed: 9)
        let x = Tensor.randn([3 << 16], using: &rng), y = Tensor.randn([3 << 16], using: &rng)
        _ = fused(y, x)
        _ = unfused(y, x)
        let got = fused(x, y).scalars
        #expect(got == unfused(x, y).scalars)
        expectClose(got, body(x, y).scalars, tolerance: 1e-6, "fused chain")
        let report = fused.memoryReport(for: [x, y])!, plain = unfused.memoryReport(for: [x, y])!
        #expect(report.fusedNodes == 5, "\(report)")
        #expect(report.nodes == 1)
        #expect(report.noReuseBytes < plain.noReuseBytes)
        #expect(fused.dot(for: [x, y])!.contains("fused(mul→affine→tanh→sub→square→affine)"))
    }

    /// A hand-written layer, `act(matmul(x, w) + b)`, becomes one GEMM with
    /// a bias-and-activation epilogue; in a training step too, with the
    /// eager trajectory.
    @Test(arguments: Activation.allCases.map(Optional.some) + [nil])
    func handWrittenLayersBecomeGemmEpilogues(_ activation: Activation?) {
        func act(_ z: Tensor) -> Tensor { activation?(z) ?? z }
        var rng = RandomGenerator(seed: 21)
        let w = Tensor.randn([6, 4], using: &rng), b = Tensor.randn([4], using: &rng)
        let infer = compile { (x: Tensor) in act(matmul(x, w) + b) }
        let x = Tensor.randn([5, 6], using: &rng)
        _ = infer(Tensor.randn([5, 6], using: &rng))
        expectClose(infer(x).scalars, act(matmul(x, w) + b).scalars, tolerance: 1e-6, "inference")
        let report = infer.memoryReport(for: [x])!
        #expect(report.nodes == 1 && report.fusedNodes == (activation == nil ? 1 : 2), "\(report)")
        #expect(infer.dot(for: [x])!.contains("matmul+bias"))

        func copy(_ t: Tensor) -> Tensor { Tensor(shape: t.shape, scalars: t.scalars).requiringGrad() }
        let (w1, b1, w2, b2) = (copy(w), copy(b), copy(w), copy(b))
        let opt1 = SGD([w1, b1], learningRate: 0.1, momentum: 0.5), opt2 = SGD([w2, b2], learningRate: 0.1, momentum: 0.5)
        let step = compile { (x: Tensor, y: Tensor) -> Tensor in
            CompileTests.train(opt1) { crossEntropy(logits: act(matmul(x, w1) + b1), labels: y) }
        }
        for i in 0..<3 {
            let (x, y) = CompileTests.batch(UInt64(90 + i), rows: 5, features: 6, classes: 4)
            let compiled = step(x, y).item()
            let loss = CompileTests.train(opt2) { crossEntropy(logits: act(matmul(x, w2) + b2), labels: y) }
            #expect(Swift.abs(compiled - loss.item()) <= 1e-6 * Swift.abs(loss.item()), "step \(i)")
        }
        expectClose(w1.scalars, w2.scalars, tolerance: 1e-6, "weights")
        expectClose(b1.scalars, b2.scalars, tolerance: 1e-6, "biases")
    }

    /// An mse regression step: its forward and reverse chains fuse, and the
    /// trajectory is still the eager one.
    @Test func fusedTrainingStepMatchesEager() {
        withManualSeed(12) {
            let a = Linear(4, 1), b = Linear(4, 1)
            b.weight.assign(a.weight)
            b.bias!.assign(a.bias!)
            let optA = SGD(a.parameters, learningRate: 0.1), optB = SGD(b.parameters, learningRate: 0.1)
            let step = compile { (x: Tensor, t: Tensor) -> Tensor in
                CompileTests.train(optA) { mse(tanh(a(x)) * 2, t) }
            }
            var rng = RandomGenerator(seed: 2)
            for i in 0..<4 {
                let x = Tensor.randn([8, 4], using: &rng), t = Tensor.randn([8, 1], using: &rng)
                let compiled = step(x, t).item()
                let loss = CompileTests.train(optB) { mse(tanh(b(x)) * 2, t) }
                #expect(Swift.abs(compiled - loss.item()) <= 1e-6 * Swift.abs(loss.item()), "step \(i)")
            }
            expectClose(a.weight.scalars, b.weight.scalars, tolerance: 1e-6, "weights")
            let x = Tensor.randn([8, 4], using: &rng), t = Tensor.randn([8, 1], using: &rng)
            _ = step(x, t)
            #expect(step.memoryReport(for: [x, t])!.fusedNodes > 0)
        }
    }

    @Test func dotExportNamesOpsShapesAndSlots() {
        let model = MLP(inputs: 4, hidden: [3], outputs: 2, activation: .tanh)
        let optimizer = SGD(model.parameters, learningRate: 0.1)
        let step = compile { (x: Tensor, y: Tensor) -> Tensor in
            CompileTests.train(optimizer) { crossEntropy(logits: model(x), labels: y) }
        }
        let (x, y) = CompileTests.batch(1, rows: 5, features: 4, classes: 2)
        _ = step(x, y)
        let dot = step.dot(for: [x, y])!
        #expect(dot.hasPrefix("digraph"))
        for needle in ["linear+tanh", "crossEntropyBackward", "sgd.update[0]", "[5, 3]", "@", "output 0"] {
            #expect(dot.contains(needle), "\(needle)")
        }
        let eager = crossEntropy(logits: model(x), labels: y).recordedGraphDOT()
        #expect(eager.contains("crossEntropy") && eager.contains("parameter"))
    }

    @Test func readingATracedValueStopsNamingTheOp() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let f = compile { (x: Tensor) -> Tensor in
                let s = tanh(x).sum()
                return s.item() > 0 ? s : -s
            }
            _ = f(Tensor([1.0, 2.0]))
        }
        #expect(stderr(result).contains("compile: item() reads the values of a traced tensor (shape [], computed by sum)"))
    }

    @Test func randomDrawsWhileTracingStop() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let drop = Dropout(0.5)
            let f = compile { (x: Tensor) -> Tensor in drop(x) }
            _ = f(Tensor([1.0, 2.0]))
        }
        #expect(stderr(result).contains("compile: Tensor.uniform draws random numbers while tracing"))
    }

    @Test func wrongNumberOfArgumentsStops() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let f = compile { (x: Tensor, y: Tensor) -> Tensor in x + y }
            _ = f(Tensor([1.0]))
        }
        #expect(stderr(result).contains("compiled function: called with 1 tensors; it takes 2"))
    }
}
