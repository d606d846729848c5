import Autograd
import Testing

/// Programmer errors stop the process with a message that says exactly what
/// is wrong. Each case runs in a child process (an exit test).
@Suite("Errors")
struct ErrorTests {
    private func stderr(_ result: ExitTest.Result?) -> String {
        String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
    }

    @Test func broadcastMismatchNamesOpAndShapes() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor.zeros([2, 3]) + Tensor.zeros([4])
        }
        #expect(stderr(result).contains("add: shapes [2, 3] and [4] are not broadcastable"))
    }

    @Test func matmulMismatchNamesOpAndShapes() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = matmul(Tensor.zeros([2, 3]), Tensor.zeros([4, 5]))
        }
        #expect(stderr(result).contains("matmul: shapes [2, 3] and [4, 5] don't multiply"))
    }

    @Test func linearLayerMismatchNamesBothShapes() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Linear(5, 4)(Tensor.zeros([2, 3]))
        }
        #expect(stderr(result).contains("linear: input shape [2, 3] and weight shape [4, 5] don't fit"))
    }

    @Test func scalarCountMismatch() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor(shape: [2, 3], scalars: [1, 2, 3] as [Double])
        }
        #expect(stderr(result).contains("shape [2, 3] needs 6 scalars, got 3"))
    }

    @Test func backwardOnNonScalarNeedsASeed() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let x = Tensor([1, 2]).requiringGrad()
            (x * 2).backward()
        }
        #expect(stderr(result).contains("a seed gradient is needed for a non-scalar output of shape [2]"))
    }

    @Test func dtypeMismatch() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor([1, 2]) * Tensor([1, 2], dtype: .float64)
        }
        #expect(stderr(result).contains("mul: dtypes float32 and float64 differ"))
    }

    @Test func reshapeCountMismatch() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor.zeros([2, 3]).reshaped([4, 2])
        }
        #expect(stderr(result).contains("reshape: cannot reshape [2, 3] (6 elements) into [4, 2] (8 elements)"))
    }

    @Test func crossEntropyLabelOutOfRange() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = crossEntropy(logits: Tensor.zeros([2, 3]), labels: [0, 3])
        }
        #expect(stderr(result).contains("crossEntropy: label 3 at row 1 is out of range 0..<3"))
    }

    @Test func secondBackwardWithoutRetainGraph() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let x = Tensor([1.0]).requiringGrad()
            let y = (x * x).sum()
            y.backward()
            y.backward()
        }
        #expect(stderr(result).contains("trying to go through the graph a second time"))
    }

    @Test func inPlaceWriteToASavedTensor() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let x = Tensor([1.0]).requiringGrad()
            let h = x * 2
            let y = (h * h).sum()
            h.assign(Tensor([5.0]))
            y.backward()
        }
        #expect(stderr(result).contains("was modified in place after it was saved"))
    }
}
