import Autograd
import Testing

@Suite("ModelSummary")
struct ModelSummaryTests {
    /// Every module call gets a row, nested as the model is; output shapes
    /// are what the layers produced for a batch of one.
    @Test func lenet5RowsShapesAndTotals() {
        let model = LeNet5()
        let summary = model.summary(inputShape: [1, 28, 28])
        #expect(summary.layers.map(\.depth) == [0, 1] + Array(repeating: 2, count: 6) + [1] + Array(repeating: 2, count: 5))
        #expect(summary.layers[2].name == "features.0" && summary.layers[2].description == "Conv2d(1→6, 5×5, padding 2)")
        #expect(summary.layers[2].outputShape == [1, 6, 28, 28] && summary.layers[2].flops == 2 * 6 * 25 * 28 * 28)
        #expect(summary.layers.last?.outputShape == [1, 10])
        #expect(summary.parameterCount == model.parameterCount)
        #expect(summary.layers.filter(\.isLeaf).reduce(0) { $0 + $1.parameterCount } == model.parameterCount)
        #expect(summary.parameterBytes == 4 * model.parameterCount)
        #expect(model.isTraining, "the summary restores training mode")
    }

    /// Linear and the activation after it get a row each (they are fused
    /// outside a summary); FLOPs follow the documented conventions.
    @Test func mlpRowsAreNotFused() {
        let summary = MLP(inputs: 64, hidden: [32], outputs: 10).summary(inputShape: [64])
        #expect(summary.layers.map(\.description) == ["MLP", "Linear(64→32)", "ActivationLayer(relu)", "Linear(32→10)"])
        #expect(summary.flops == 2 * 64 * 32 + 32 + 2 * 32 * 10)
        #expect(summary.activationBytesPerSample == 4 * (64 + 32 + 32 + 10))
    }

    @Test func buffersAreCountedApartFromParameters() {
        let summary = Sequential([Conv2d(3, 4, kernelSize: 3, bias: false), BatchNorm2d(4)]).summary(inputShape: [3, 6, 6])
        #expect(summary.parameterCount == 4 * 3 * 9 + 2 * 4 && summary.bufferCount == 2 * 4 + 1, "running statistics and the batch counter")
        #expect(summary.layers[2].flops == 2 * 4 * 4 * 4)
        #expect(summary.layers[1].outputShape == [1, 4, 4, 4])
    }
}
