import Autograd
import Testing

@Suite("Modules and layers")
struct NNTests {
    final class Block: Module {
        let inner = Linear(3, 4)
        let norm = BatchNorm1d(4)
        let optional: Linear? = Linear(4, 2, bias: false)
        let heads = [Linear(2, 1), Linear(2, 1)]
        let scale = Tensor([2.0]).requiringGrad()
        override func forward(_ x: Tensor) -> Tensor { optional!(norm(inner(x))) * scale }
    }

    @Test func parametersAreFoundByReflection() {
        let block = Block()
        #expect(block.namedParameters().map(\.name) == [
            "scale", "inner.weight", "inner.bias", "norm.weight", "norm.bias", "optional.weight",
            "heads.0.weight", "heads.0.bias", "heads.1.weight", "heads.1.bias",
        ])
        #expect(block.namedBuffers().map(\.name) == ["norm.running_mean", "norm.running_var", "norm.num_batches_tracked"])
        #expect(block.parameterCount == 1 + 12 + 4 + 4 + 4 + 8 + 3 + 3)
        #expect(block.namedChildren.count == 5)
    }

    @Test func sequentialBuilderAndModes() {
        let useDropout = true
        let model = Sequential {
            Linear(2, 8)
            Tanh()
            if useDropout { Dropout(0.5) }
            for _ in 0..<2 { Linear(8, 8); ReLU() }
            Linear(8, 3)
        }
        #expect(model.layers.count == 8)
        #expect(model.namedParameters().first?.name == "0.weight")
        #expect(model(Tensor.randn([5, 2])).shape == [5, 3])
        model.eval()
        #expect(model.layers.allSatisfy { !$0.isTraining })
        model.train()
        #expect(model.layers.allSatisfy { $0.isTraining })
    }

    @Test func linearComputesXWtPlusB() {
        let layer = Linear(3, 2)
        layer.weight.assign(Tensor([[1, 2, 3], [4, 5, 6]]))
        layer.bias!.assign(Tensor([0.5, -1]))
        #expect(layer(Tensor([[1, 0, -1]])).scalars == [-1.5, -3])
    }

    @Test func layersPassGradientCheck() throws {
        let linear = Linear(3, 2, dtype: .float64)
        let x = Tensor.randn([4, 3], dtype: .float64)
        try gradcheck("Linear", [x, linear.weight, linear.bias!]) { t in
            matmul(t[0], t[1].transposed()) + t[2]
        }
        let bn = BatchNorm1d(3, dtype: .float64)
        try gradcheck("BatchNorm1d", [x]) { bn($0[0]) }
        let ln = LayerNorm(3, dtype: .float64)
        try gradcheck("LayerNorm", [x]) { ln($0[0]) }
    }

    @Test func batchNormNormalisesAndTracksRunningStatistics() {
        let bn = BatchNorm1d(2, momentum: 0.5, dtype: .float64)
        let x = Tensor([[1, 10], [3, 30], [5, 50]], dtype: .float64)
        let y = bn(x)
        expectClose(y.mean(alongAxes: [0]).scalars, [0, 0], tolerance: 1e-12, "batch mean")
        expectClose((y * y).mean(alongAxes: [0]).scalars, [1, 1], tolerance: 1e-4, "batch variance")
        // running = 0.5·old + 0.5·batch; unbiased variance of (1, 3, 5) is 4, of (10, 30, 50) is 400
        expectClose(bn.runningMean.scalars, [1.5, 15], tolerance: 1e-12, "running mean")
        expectClose(bn.runningVar.scalars, [2.5, 200.5], tolerance: 1e-12, "running variance")
        bn.eval()
        let z = bn(Tensor([[1.5, 15]], dtype: .float64))
        expectClose(z.scalars, [0, 0], tolerance: 1e-12, "eval uses running statistics")
    }

    @Test func layerNormNormalisesEachRow() {
        let ln = LayerNorm(4, dtype: .float64)
        let y = ln(Tensor([[1, 2, 3, 4], [10, 0, 10, 0]], dtype: .float64))
        expectClose(y.mean(alongAxes: [1]).scalars, [0, 0], tolerance: 1e-12, "row mean")
        expectClose((y * y).mean(alongAxes: [1]).scalars, [1, 1], tolerance: 1e-4, "row variance")
    }

    @Test func dropoutScalesInTrainingAndIsIdentityInEval() {
        withManualSeed(3) {
            let drop = Dropout(0.25)
            let y = drop(Tensor.ones([10_000])).scalars
            let kept = y.filter { $0 != 0 }
            #expect(Swift.abs(Double(kept.count) / 10_000 - 0.75) < 0.02)
            #expect(kept.allSatisfy { Swift.abs($0 - 1 / 0.75) < 1e-6 })
            drop.eval()
            #expect(drop(Tensor([1, 2, 3])).scalars == [1, 2, 3])
        }
    }

    @Test func embeddingLooksUpRowsAndAddsGradientsOfRepeats() {
        let embed = Embedding(5, 3)
        let out = embed([4, 1, 4])
        #expect(out.shape == [3, 3])
        #expect(Array(out.scalars[0..<3]) == Array(embed.weight.scalars[12..<15]))
        out.sum().backward()
        #expect(embed.weight.grad!.scalars == [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 2, 2, 2])
        #expect(embed(Tensor([[1, 2], [3, 4]])).shape == [2, 2, 3])
        #expect(Flatten()(Tensor.zeros([2, 3, 4])).shape == [2, 12])
    }

    @Test func initializersHaveTheirStatedRanges() {
        var rng = RandomGenerator(seed: 9)
        let glorot = Initializer.glorotUniform.make([100, 300], using: &rng).scalars
        let a = (6.0 / 400).squareRoot()
        #expect(glorot.allSatisfy { Swift.abs($0) <= a } && glorot.contains { Swift.abs($0) > 0.9 * a })
        let he = Initializer.heNormal.make([200, 500], dtype: .float64, using: &rng)
        let std = (he.squared().mean().item()).squareRoot()
        #expect(Swift.abs(std - (2.0 / 500).squareRoot()) < 0.002)
        let heU = Initializer.heUniform.make([64, 50], using: &rng).scalars
        #expect(heU.allSatisfy { Swift.abs($0) <= (6.0 / 50).squareRoot() })
        let gn = Initializer.glorotNormal.make([300, 300], dtype: .float64, using: &rng)
        #expect(Swift.abs(gn.squared().mean().item().squareRoot() - (2.0 / 600).squareRoot()) < 0.002)
        var r1 = RandomGenerator(seed: 1), r2 = RandomGenerator(seed: 1)
        #expect(Initializer.heUniform.make([3, 3], using: &r1).scalars == Initializer.heUniform.make([3, 3], using: &r2).scalars)
    }
}

@Suite("Fused layers")
struct FusedLayerTests {
    @Test func sequentialFusesLinearWithItsActivationAndMatchesTheSeparateOps() {
        withManualSeed(8) {
            let model = Sequential {
                Linear(5, 7, dtype: .float64)
                ReLU()
                Linear(7, 4, dtype: .float64)
                Tanh()
                Linear(4, 3, dtype: .float64)
            }
            let x = Tensor.randn([6, 5], dtype: .float64)
            let fused = model(x)
            let l = model.layers.compactMap { $0 as? Linear }
            let separate = matmul(tanh(matmul(relu(matmul(x, l[0].weight.transposed()) + l[0].bias!), l[1].weight.transposed()) + l[1].bias!),
                                  l[2].weight.transposed()) + l[2].bias!
            expectClose(fused.scalars, separate.scalars, tolerance: 1e-14, "fused vs separate")
            #expect(fused.description.contains("gradFn=<linear>"))
            fused.sum().backward()
            let g1 = l[0].weight.grad!.scalars
            model.zeroGrad()
            separate.sum().backward()
            expectClose(g1, l[0].weight.grad!.scalars, tolerance: 1e-14, "gradients")
        }
    }
}
