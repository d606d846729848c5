import AutogradOps
import AutogradTensor
import Foundation

/// Loss and accuracy over a dataset.
public struct Evaluation: Sendable {
    public let loss: Double
    public let accuracy: Double
}

/// Training stopped because the loss stopped being a number.
public struct NonFiniteLossError: Error, CustomStringConvertible {
    /// Epoch (from 1) and step within it (from 1) where the loss went bad.
    public let epoch: Int
    public let step: Int
    public let loss: Double
    public var description: String {
        "loss became \(loss.isNaN ? "nan" : String(loss)) at epoch \(epoch), step \(step)"
    }
}

/// The classification training loop: one step is zero grads, forward,
/// cross-entropy loss, backward, optional gradient clipping, optimizer step,
/// with the loss read back and checked.
///
/// ```swift
/// let trainer = Trainer(model: model, optimizer: Adam(model.parameters, learningRate: 1e-3))
/// let loader = DataLoader(train, batchSize: 32, shuffle: true, seed: 0)
/// for epoch in 1...10 {
///     let fit = try trainer.trainEpoch(loader, epoch: epoch)
///     let check = trainer.evaluate(test)
///     print(epoch, fit.loss, check.accuracy)
/// }
/// ```
public final class Trainer {
    public let model: Module
    public let optimizer: Optimizer
    public var labelSmoothing: Double
    /// Clip the global gradient norm to this before each step, when set.
    public var clipNorm: Double?

    public init(model: Module, optimizer: Optimizer, labelSmoothing: Double = 0, clipNorm: Double? = nil) {
        self.model = model
        self.optimizer = optimizer
        self.labelSmoothing = labelSmoothing
        self.clipNorm = clipNorm
    }

    /// One training step on a batch; returns the loss and the number of
    /// correct predictions. Throws when the loss is NaN or infinite, before
    /// the parameters are touched.
    public func step(_ batch: Batch, epoch: Int, step: Int) throws(NonFiniteLossError) -> (loss: Double, correct: Int) {
        optimizer.zeroGrad()
        let logits = model(batch.inputs)
        let loss = crossEntropy(logits: logits, labels: batch.labels, labelSmoothing: labelSmoothing)
        let value = loss.item()
        guard value.isFinite else { throw NonFiniteLossError(epoch: epoch, step: step, loss: value) }
        loss.backward()
        if let clipNorm { clipGradientNorm(optimizer.parameters, maxNorm: clipNorm) }
        optimizer.step()
        let correct = zip(logits.argmax(alongAxis: 1), batch.labels).filter { $0 == $1 }.count
        return (value, correct)
    }

    /// One pass over `loader` in training mode; `progress` hears after each
    /// step (step from 1, steps in the epoch, running mean loss).
    public func trainEpoch<D: Dataset>(_ loader: DataLoader<D>, epoch: Int,
                                       progress: (Int, Int, Double) -> Void = { _, _, _ in }) throws(NonFiniteLossError) -> Evaluation {
        model.train()
        let steps = loader.batchCount
        var totalLoss = 0.0, correct = 0, seen = 0
        for (i, batch) in loader.enumerated() {
            let (loss, right) = try step(batch, epoch: epoch, step: i + 1)
            totalLoss += loss * Double(batch.labels.count)
            correct += right
            seen += batch.labels.count
            progress(i + 1, steps, totalLoss / Double(seen))
        }
        return Evaluation(loss: totalLoss / Double(Swift.max(seen, 1)), accuracy: Double(correct) / Double(Swift.max(seen, 1)))
    }

    /// Loss and accuracy over `dataset` in evaluation mode, without recording.
    public func evaluate<D: Dataset>(_ dataset: D, batchSize: Int = 256) -> Evaluation {
        Trainer.evaluate(model, dataset, batchSize: batchSize)
    }

    /// Loss and accuracy of `model` over `dataset` in evaluation mode, without recording.
    public static func evaluate<D: Dataset>(_ model: Module, _ dataset: D, batchSize: Int = 256) -> Evaluation {
        var totalLoss = 0.0, correct = 0
        model.evaluating {
            for batch in DataLoader(dataset, batchSize: batchSize) {
                let logits = model(batch.inputs)
                totalLoss += crossEntropy(logits: logits, labels: batch.labels).item() * Double(batch.labels.count)
                correct += zip(logits.argmax(alongAxis: 1), batch.labels).filter { $0 == $1 }.count
            }
        }
        let n = Double(Swift.max(dataset.count, 1))
        return Evaluation(loss: totalLoss / n, accuracy: Double(correct) / n)
    }

    /// The confusion matrix of the model over `dataset`; see
    /// ``confusionMatrix(_:_:classes:batchSize:)``.
    public func confusionMatrix<D: Dataset>(_ dataset: D, classes: Int, batchSize: Int = 256) -> [[Int]] {
        Trainer.confusionMatrix(model, dataset, classes: classes, batchSize: batchSize)
    }

    /// The confusion matrix of `model` over `dataset`, in evaluation mode
    /// without recording: `matrix[t][p]` counts the examples of true class
    /// `t` that the model predicts as class `p` (its largest logit, the
    /// first on ties, as ``evaluate(_:_:batchSize:)`` counts them). Row `t`
    /// sums to the number of examples labelled `t`, and the diagonal's sum
    /// over `dataset.count` is the accuracy. Labels and predictions must lie
    /// in `0..<classes`.
    ///
    /// ```swift
    /// let matrix = Trainer.confusionMatrix(model, test, classes: 10)
    /// let correct = (0..<10).reduce(0) { $0 + matrix[$1][$1] }
    /// print(Double(correct) / Double(test.count))   // evaluate's accuracy
    /// ```
    public static func confusionMatrix<D: Dataset>(_ model: Module, _ dataset: D, classes: Int,
                                                   batchSize: Int = 256) -> [[Int]] {
        var matrix = [[Int]](repeating: [Int](repeating: 0, count: classes), count: classes)
        model.evaluating {
            for batch in DataLoader(dataset, batchSize: batchSize) {
                for (predicted, label) in zip(model(batch.inputs).argmax(alongAxis: 1), batch.labels) {
                    precondition((0..<classes).contains(label) && (0..<classes).contains(predicted),
                                 "confusionMatrix: label \(label) or prediction \(predicted) is not in 0..<\(classes)")
                    matrix[label][predicted] += 1
                }
            }
        }
        return matrix
    }
}
