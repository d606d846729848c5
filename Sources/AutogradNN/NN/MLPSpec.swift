import AutogradOps

extension MLP {
    /// An MLP's hidden widths as `autograd train --model` spells them:
    /// `mlp:128,64` is two hidden layers, `mlp:` alone a linear model.
    ///
    /// ```swift
    /// let spec = MLP.Spec("mlp:128,64")!
    /// let model = MLP(spec, inputs: 64, outputs: 10, activation: .relu)
    /// ```
    public struct Spec: Sendable, Hashable, CustomStringConvertible {
        /// The width of each hidden layer, all positive.
        public var hidden: [Int]

        public init(hidden: [Int]) {
            precondition(hidden.allSatisfy { $0 > 0 }, "MLP.Spec: hidden widths must be positive, got \(hidden)")
            self.hidden = hidden
        }

        /// Parses `mlp:W1,W2,…`; nil unless every width is a positive integer.
        public init?(_ text: String) {
            guard text.hasPrefix("mlp:") else { return nil }
            let widths = text.dropFirst(4).split(separator: ",", omittingEmptySubsequences: false)
            if widths == [""] {
                hidden = []
                return
            }
            var parsed: [Int] = []
            for w in widths {
                guard let n = Int(w), n > 0 else { return nil }
                parsed.append(n)
            }
            hidden = parsed
        }

        public var description: String { "mlp:" + hidden.map(String.init).joined(separator: ",") }

        /// The names and shapes of the parameters of an ``MLP`` built from
        /// this spec (`<2i>.weight` [out, in] and `<2i>.bias` [out]),
        /// known before anything is allocated.
        public func parameterShapes(inputs: Int, outputs: Int) -> [(name: String, shape: [Int])] {
            let widths: [Int] = [inputs] + hidden + [outputs]
            var shapes: [(name: String, shape: [Int])] = []
            for i in 0..<(widths.count - 1) {
                shapes.append((name: "\(2 * i).weight", shape: [widths[i + 1], widths[i]]))
                shapes.append((name: "\(2 * i).bias", shape: [widths[i + 1]]))
            }
            return shapes
        }
    }

    /// An MLP with the hidden layers of `spec`.
    public convenience init(_ spec: Spec, inputs: Int, outputs: Int, activation: Activation = .relu) {
        self.init(inputs: inputs, hidden: spec.hidden, outputs: outputs, activation: activation)
    }
}
