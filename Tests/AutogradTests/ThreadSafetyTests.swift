import Autograd
import Foundation
import Testing

/// Separate models may train on separate threads at once: the buffer pool,
/// the op tables' caches and the kernels' thread pool are shared by every
/// thread, and none of them may let one model's work reach the other's.
/// `make test-tsan` runs this suite under ThreadSanitizer.
@Suite("Threads")
struct ThreadSafetyTests {
    /// A model with its optimizer and data, handed to one thread at a time.
    final class Run: @unchecked Sendable {
        let model: MLP
        let optimizer: Optimizer
        let data: TensorDataset

        /// A new model, with the initial weights of `start` when given (other
        /// suites draw from the shared generator meanwhile, so a seed alone
        /// would not repeat them).
        init(data: TensorDataset, start: Run? = nil) throws {
            model = MLP(inputs: 64, hidden: [512, 256], outputs: 10, activation: .tanh)
            if let start {
                try Checkpoint.load(into: model, tensors: Dictionary(uniqueKeysWithValues: start.model.stateTensors()),
                                    metadata: [:])
            }
            optimizer = Adam(model.parameters, learningRate: 1e-2)
            self.data = data
        }

        /// Three epochs of shuffled mini-batches (no dropout: nothing draws
        /// from the shared generator once training starts).
        func train() {
            let loader = DataLoader(data, batchSize: 128, shuffle: true, seed: 7)
            for _ in 0..<3 {
                for batch in loader {
                    optimizer.zeroGrad()
                    let loss = crossEntropy(logits: model(batch.inputs), labels: batch.labels)
                    loss.backward()
                    optimizer.step()
                }
            }
        }

        var parameters: [[Double]] { model.parameters.map(\.scalars) }
    }

    @Test func twoThreadsTrainingTwoModelsMatchOneAtATime() throws {
        let digits = try Digits.load().subset(Array(0..<384))
        let alone = [try Run(data: digits), try Run(data: digits)]
        let together = try alone.map { try Run(data: digits, start: $0) }
        for run in alone { run.train() }

        let done = DispatchGroup()
        for run in together {
            done.enter()
            Thread {
                run.train()
                done.leave()
            }.start()
        }
        done.wait()
        for (i, (a, b)) in zip(alone, together).enumerated() {
            let same = a.parameters == b.parameters  // a Bool: #expect would print 400K numbers
            #expect(same, "model \(i) trained differently beside another")
        }
        let differ = together[0].parameters != together[1].parameters
        #expect(differ, "the two models differ, so the test can fail")
    }
}
