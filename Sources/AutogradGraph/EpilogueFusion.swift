import AutogradNN
import AutogradOps
import AutogradTensor
import CKernels

/// `act(a · b + bias)` as one GEMM and one pass that adds the bias and
/// applies the activation — the GEMM epilogue — made by the compiler from a
/// traced `matmul`, a row-bias `+` and optionally an activation row of the
/// op table (the hand-written form of what ``linear(_:weight:bias:activation:)``
/// does). Exists only in compiled plans: the ops it replaced carry the derivatives.
struct GemmEpilogue: PlanOnlyPrimitive {
    /// nil for none.
    let activation: UnaryOp?

    var name: String { "matmul+bias" + (activation.map { "+" + $0.name } ?? "") }

    var identity: OpIdentity? { OpIdentity(self, [activation?.identity]) }

    func outputShape(_ inputs: [[Int]]) -> [Int] { [inputs[0][0], inputs[1][1]] }

    func forward(_ inputs: [Tensor], shape: [Int]) -> Tensor {
        let out = Tensor(uninitializedShape: shape, dtype: inputs[0].dtype)
        if !forward(inputs, into: out) {
            MatMul().forward(Array(inputs[0...1]), shape: shape).copyValues(into: out)
            epilogue(inputs[2].contiguousValues(), out)
        }
        return out
    }

    func forward(_ inputs: [Tensor], into output: Tensor) -> Bool {
        let bias = inputs[2]
        guard bias.isContiguous, MatMul().forward(Array(inputs[0...1]), into: output) else { return false }
        epilogue(bias, output)
        return true
    }

    private func epilogue(_ bias: Tensor, _ y: Tensor) {
        let act = activation ?? UnaryOp.affineRow
        ag_bias_activation(y.dtype.c, y.shape[0], y.shape[1], y.pointer, bias.pointer, act.kernel, act.p0, act.p1)
    }
}

extension Graph {
    /// Folds `matmul(a, b) + bias` (bias [n] or [1, n] on an [m, n] product)
    /// and, when the sum has no other reader, a following activation row,
    /// into one ``GemmEpilogue`` node. Returns how many nodes were folded away.
    mutating func fuseGemmEpilogues() -> Int {
        let soleReader = soleReaders()

        var folded = 0
        for m in nodes.indices {
            guard case .op(let op) = nodes[m].kind, op is MatMul, let mOut = nodes[m].output,
                  values[mOut].shape.count == 2, values[mOut].isContiguous, values[mOut].offset == 0,
                  nodes[m].inputs.allSatisfy({ values[$0].shape.count == 2 }),
                  let a = soleReader[m], case .op(let add) = nodes[a].kind,
                  case .binary(AG_ADD) = FusedElementwise.kernel(of: add),
                  let aOut = nodes[a].output, values[aOut].shape == values[mOut].shape, values[aOut].isContiguous
            else { continue }
            let n = values[mOut].shape[1]
            guard let bias = nodes[a].inputs.first(where: { $0 != mOut }),
                  nodes[a].inputs.contains(mOut), values[bias].shape == [n] || values[bias].shape == [1, n]
            else { continue }

            var tail = a
            var activation: UnaryOp?
            if let r = soleReader[a], case .op(let op) = nodes[r].kind,
               case .unary(let u) = FusedElementwise.kernel(of: op), u.fusesAsEpilogue {
                tail = r
                activation = u
            }
            let members = tail == a ? [m, a] : [m, a, tail]
            fold(members, into: tail, op: GemmEpilogue(activation: activation), inputs: nodes[m].inputs + [bias])
            folded += members.count - 1
        }
        return folded
    }
}
