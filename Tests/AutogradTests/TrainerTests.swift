import Autograd
import Testing

@Suite("Trainer")
struct TrainerTests {
    @Test func learnsXorAndEvaluates() throws {
        try withManualSeed(4) {
            let data = Playground.xor.dataset(samples: 200, seed: 4)
            let model = MLP(inputs: 2, hidden: [8], outputs: 2, activation: .tanh)
            let trainer = Trainer(model: model, optimizer: Adam(model.parameters, learningRate: 0.05), clipNorm: 5)
            let loader = DataLoader(data, batchSize: 20, shuffle: true, seed: 4)
            var first: Evaluation?
            for epoch in 1...30 {
                let fit = try trainer.trainEpoch(loader, epoch: epoch)
                if first == nil { first = fit }
            }
            let result = trainer.evaluate(data)
            #expect(result.loss < first!.loss / 3)
            #expect(result.accuracy > 0.95)
            #expect(model.isTraining, "evaluate restores the mode")
        }
    }

    @Test func nonFiniteLossThrowsBeforeTheParametersChange() {
        let model = Linear(2, 2)
        let trainer = Trainer(model: model, optimizer: SGD(model.parameters, learningRate: 0.1))
        let before = model.weight.scalars
        let batch = Batch(inputs: Tensor(shape: [2, 2], scalars: [.infinity, 1, 1, 1] as [Double]), labels: [0, 1])
        let error = #expect(throws: NonFiniteLossError.self) { try trainer.step(batch, epoch: 3, step: 7) }
        #expect(error?.epoch == 3 && error?.step == 7 && error?.loss.isFinite == false)
        #expect(error?.description.hasPrefix("loss became") == true)
        #expect(error?.description.hasSuffix("at epoch 3, step 7") == true)
        #expect(model.weight.scalars == before)
    }

    /// Row t of the confusion matrix counts the examples labelled t, and the
    /// diagonal over the total is the accuracy evaluate reports.
    @Test func confusionMatrixAgreesWithTheLabelsAndEvaluate() throws {
        try withManualSeed(3) {
            let (train, test) = try Digits.load().split(testFraction: 0.2, seed: 3)
            let model = MLP(inputs: 64, hidden: [16], outputs: 10)
            let trainer = Trainer(model: model, optimizer: Adam(model.parameters, learningRate: 0.01))
            _ = try trainer.trainEpoch(DataLoader(train, batchSize: 32, shuffle: true, seed: 3), epoch: 1)
            let matrix = trainer.confusionMatrix(test, classes: 10, batchSize: 50)
            #expect(matrix.count == 10 && matrix.allSatisfy { $0.count == 10 })
            for t in 0..<10 {
                #expect(matrix[t].reduce(0, +) == test.labels.filter { $0 == t }.count, "class \(t)")
            }
            let correct = (0..<10).reduce(0) { $0 + matrix[$1][$1] }
            let accuracy = trainer.evaluate(test).accuracy
            #expect(Double(correct) / Double(test.count) == accuracy)
            #expect(accuracy > 0.5 && accuracy < 1, "a partly trained model, so the matrix has both kinds of cell")
            #expect(model.isTraining, "the matrix restores the mode")
        }
    }
}
