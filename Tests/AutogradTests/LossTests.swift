import Autograd
import Foundation
import Testing

@Suite("Losses")
struct LossTests {
    let logits = Tensor([[2, 1, 0.1], [0.5, 2.5, -1]], dtype: .float64)
    let labels = [0, 1]

    /// −log softmax(row)[label], by hand.
    func nll(_ row: [Double], _ label: Int) -> Double {
        let m = row.max()!
        let logSum = Foundation.log(row.map { Foundation.exp($0 - m) }.reduce(0, +)) + m
        return logSum - row[label]
    }

    @Test func crossEntropyAndNLL() {
        let expected = (nll([2, 1, 0.1], 0) + nll([0.5, 2.5, -1], 1)) / 2
        #expect(Swift.abs(crossEntropy(logits: logits, labels: labels).item() - expected) < 1e-14)
        #expect(Swift.abs(nllLoss(logProbabilities: logSoftmax(logits, axis: 1), labels: labels).item() - expected) < 1e-14)
    }

    @Test func labelSmoothingMixesInTheUniformTarget() {
        let eps = 0.1
        var expected = 0.0
        for (row, label) in [([2.0, 1, 0.1], 0), ([0.5, 2.5, -1], 1)] {
            let all = (0..<3).map { nll(row, $0) }
            expected += (1 - eps) * all[label] + eps * all.reduce(0, +) / 3
        }
        let got = crossEntropy(logits: logits, labels: labels, labelSmoothing: eps).item()
        #expect(Swift.abs(got - expected / 2) < 1e-12)
    }

    @Test func regressionAndBinaryLosses() {
        let p = Tensor([1, -2, 3], dtype: .float64), t = Tensor([0, 0, 1], dtype: .float64)
        #expect(Swift.abs(mse(p, t).item() - (1 + 4 + 4) / 3.0) < 1e-15)
        #expect(Swift.abs(l1Loss(p, t).item() - (1 + 2 + 2) / 3.0) < 1e-15)
        // BCE: −[y log σ(x) + (1 − y) log(1 − σ(x))]
        let expected = [(1.0, 0.0), (-2, 0), (3, 1)].map { x, y -> Double in
            let s = 1 / (1 + Foundation.exp(-x))
            return -(y * Foundation.log(s) + (1 - y) * Foundation.log(1 - s))
        }.reduce(0, +) / 3
        #expect(Swift.abs(binaryCrossEntropy(logits: p, targets: t).item() - expected) < 1e-14)
    }

    @Test func hingeLossMatchesTheLectureExample() {
        // Three images, three classes; scores per column in the lecture, rows here.
        let scores = Tensor([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]], dtype: .float64)
        // L = max(0, 5.1 − 3.2 + 1) + max(0, −1.7 − 3.2 + 1) = 2.9;  0;  max(0, 2.2 + 3.1 + 1) + max(0, 2.5 + 3.1 + 1) = 12.9
        let loss = hingeLoss(scores: scores, labels: [0, 1, 2]).item()
        #expect(Swift.abs(loss - (2.9 + 0 + 12.9) / 3) < 1e-12)
    }

    @Test func lossesPassGradientCheck() throws {
        var rng = RandomGenerator(seed: 21)
        let x = Tensor.randn([3, 4], dtype: .float64, using: &rng)
        let y = Tensor.randn([3, 4], dtype: .float64, using: &rng)
        let targets = Tensor.uniform([3, 4], dtype: .float64, using: &rng)
        try gradcheck("crossEntropy smoothed", [x]) { crossEntropy(logits: $0[0], labels: [1, 3, 0], labelSmoothing: 0.2) }
        try gradcheck("nllLoss", [x]) { nllLoss(logProbabilities: logSoftmax($0[0], axis: 1), labels: [2, 2, 0]) }
        try gradcheck("l1Loss", [x, y]) { l1Loss($0[0], $0[1]) }
        try gradcheck("binaryCrossEntropy", [x]) { binaryCrossEntropy(logits: $0[0], targets: targets) }
        try gradcheck("hingeLoss", [x]) { hingeLoss(scores: $0[0], labels: [0, 1, 2], margin: 0.5) }
        try gradgradcheck("crossEntropy smoothed", [x]) { crossEntropy(logits: $0[0], labels: [1, 3, 0], labelSmoothing: 0.2) }
    }
}
