import ArgumentParser
import Autograd

/// Trains a linear softmax classifier by plain gradient descent on generated
/// data (three Gaussian blobs in 2-D) and prints the loss falling.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a linear classifier on generated data and print the loss as it falls.")

    @Option(help: "Gradient-descent steps.")
    var steps = 200

    @Option(help: "Learning rate.")
    var lr = 0.5

    @Option(help: "Points per class.")
    var points = 100

    @Option(help: "Random seed.")
    var seed: UInt64 = 0

    func validate() throws {
        guard steps > 0 else { throw ValidationError("--steps must be positive") }
        guard points > 0 else { throw ValidationError("--points must be positive") }
        guard lr > 0, lr.isFinite else { throw ValidationError("--lr must be a positive number") }
    }

    func run() throws {
        var rng = RandomGenerator(seed: seed)
        let centers: [(Double, Double)] = [(2, 0), (-1, 1.7), (-1, -1.7)]
        var xs: [Double] = []
        var labels: [Int] = []
        for (label, center) in centers.enumerated() {
            let noise = Tensor.randn([points, 2], dtype: .float64, using: &rng).scalars
            for i in 0..<points {
                xs += [center.0 + 0.8 * noise[2 * i], center.1 + 0.8 * noise[2 * i + 1]]
                labels.append(label)
            }
        }
        let x = Tensor(shape: [labels.count, 2], scalars: xs)
        let w = (Tensor.randn([2, 3], using: &rng) * 0.01).detach().requiringGrad()
        let b = Tensor.zeros([3]).requiringGrad()

        print("training a linear classifier on \(labels.count) points, 3 classes")
        for step in 0...steps {
            let scores = matmul(x, w) + b
            let loss = crossEntropy(logits: scores, labels: labels)
            let value = loss.item()
            guard value.isFinite else {
                throw ValidationError("loss became \(value) at step \(step); try a smaller --lr")
            }
            w.zeroGrad()
            b.zeroGrad()
            loss.backward()
            noGrad {
                w.assign(w - lr * w.grad!)
                b.assign(b - lr * b.grad!)
            }
            if step % 20 == 0 || step == steps {
                let predicted = scores.argmax(alongAxis: 1)
                let correct = zip(predicted, labels).filter { $0 == $1 }.count
                let accuracy = Double(correct) / Double(labels.count)
                print("step \(pad(step, to: String(steps).count))  loss \(format(value))  accuracy \(format(accuracy))")
            }
        }
    }

    private func pad(_ n: Int, to width: Int) -> String {
        let s = String(n)
        return String(repeating: " ", count: max(0, width - s.count)) + s
    }

    private func format(_ v: Double) -> String {
        let scaled = (v * 10000).rounded() / 10000
        var s = String(scaled)
        if let dot = s.firstIndex(of: ".") {
            let decimals = s.distance(from: dot, to: s.endIndex) - 1
            s += String(repeating: "0", count: max(0, 4 - decimals))
        }
        return s
    }
}
