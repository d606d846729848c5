import AutogradNN
import AutogradOps
import AutogradTensor
import CKernels

/// A chain of elementwise ops run as one pass over memory: the output is
/// computed tile by tile, every op of the chain applied to a tile while it
/// is in cache, and the chain's intermediate values never get buffers of
/// their own. Made by the compiler from traced nodes; it exists only in
/// compiled plans (the eager ops it replaces carry the derivatives).
struct FusedElementwise: PlanOnlyPrimitive {
    /// Where an op of the chain reads an operand.
    enum Operand: Equatable {
        /// The running value: the previous op's output tile.
        case chain
        /// Input `index` of the fused node (full-sized, or one element broadcast).
        case input(Int)
    }

    struct Step {
        let kernel: ElementwiseKernel
        let operands: [Operand]
        let name: String
    }

    let steps: [Step]
    /// Elements per tile: big enough that each kernel call still splits over
    /// threads, small enough that a tile and its operands stay in L2.
    static let tile = 1 << 16

    var name: String { "fused(" + steps.map(\.name).joined(separator: "→") + ")" }

    /// The kernel of a traced op that can join a chain.
    static func kernel(of op: any Primitive) -> ElementwiseKernel? {
        (op as? any ElementwisePrimitive)?.elementwiseKernel
    }

    func outputShape(_ inputs: [[Int]]) -> [Int] { inputs[0] }

    func forward(_ inputs: [Tensor], shape: [Int]) -> Tensor {
        let out = Tensor(uninitializedShape: shape, dtype: inputs[0].dtype)
        _ = forward(inputs, into: out)
        return out
    }

    func forward(_ inputs: [Tensor], into output: Tensor) -> Bool {
        let n = output.scalarCount, size = output.dtype.byteSize, dt = output.dtype.c
        var begin = 0
        while begin < n {
            let count = Swift.min(FusedElementwise.tile, n - begin)
            let out = output.pointer + begin * size
            func pointer(_ operand: Operand) -> (UnsafeMutableRawPointer, Int64) {
                switch operand {
                case .chain: return (out, 1)
                case .input(let i):
                    let t = inputs[i]
                    return t.scalarCount == 1 ? (t.pointer, 0) : (t.pointer + begin * size, 1)
                }
            }
            for step in steps {
                switch step.kernel {
                case .unary(let u):
                    // (A one-element operand means a one-element output: same count.)
                    ag_unary(u.kernel, dt, count, pointer(step.operands[0]).0, out, u.p0, u.p1)
                case .binary(let k):
                    let (a, sa) = pointer(step.operands[0]), (b, sb) = pointer(step.operands[1])
                    var c = Int64(count), strideA = sa, strideB = sb
                    ag_binary(k, dt, 1, &c, a, &strideA, b, &strideB, out)
                case .unaryBackward(let u):
                    let (a, _) = pointer(step.operands[0]), (g, _) = pointer(step.operands[1])
                    ag_unary_backward(u.kernel, dt, count, a, g, out, u.p0, u.p1)
                }
            }
            begin += count
        }
        return true
    }
}

extension Graph {
    /// Fuses chains of elementwise ops: an op whose only reader is the next
    /// elementwise op of the same shape joins that op's chain (its output
    /// then never gets a buffer). Returns how many nodes were fused away.
    mutating func fuseElementwiseChains() -> Int {
        let soleReader = soleReaders()

        /// True when node `n` is an elementwise op over full, contiguous values of its output's shape.
        func fusable(_ n: Int) -> Bool {
            guard case .op(let op) = nodes[n].kind, FusedElementwise.kernel(of: op) != nil,
                  let out = nodes[n].output else { return false }
            let o = values[out]
            guard o.offset == 0, o.isContiguous, ShapeRules.count(o.shape) == buffers[o.buffer].elements else { return false }
            return nodes[n].inputs.allSatisfy { v in
                let x = values[v]
                return x.dtype == o.dtype && ((x.shape == o.shape && x.isContiguous) || ShapeRules.count(x.shape) == 1)
            }
        }

        // chainOf[n]: the nodes (in order) whose values node n's chain computes.
        var chainOf = [Int: [Int]]()
        var fusedAway = Set<Int>()
        for n in nodes.indices where fusable(n) {
            var chain = [n]
            let out = values[nodes[n].output!]
            for v in nodes[n].inputs {
                let b = values[v].buffer
                guard let p = buffers[b].producer, p != n, fusable(p), !fusedAway.contains(p),
                      soleReader[p] == n, values[v].shape == out.shape,
                      nodes[n].inputs.filter({ values[$0].buffer == b }).count == 1 else { continue }
                chain = (chainOf[p] ?? [p]) + [n]
                fusedAway.insert(p)
                chainOf[p] = nil
                break
            }
            if chain.count > 1 { chainOf[n] = chain }
        }

        for (tail, chain) in chainOf {
            var inputs: [Int] = []
            var steps: [FusedElementwise.Step] = []
            var previousOutput: Int?
            for n in chain {
                let op = nodes[n].kind.primitive!
                var operands: [FusedElementwise.Operand] = []
                for v in nodes[n].inputs {
                    if let p = previousOutput, v == p {
                        operands.append(.chain)
                    } else {
                        if let i = inputs.firstIndex(of: v) {
                            operands.append(.input(i))
                        } else {
                            inputs.append(v)
                            operands.append(.input(inputs.count - 1))
                        }
                    }
                }
                steps.append(FusedElementwise.Step(kernel: FusedElementwise.kernel(of: op)!, operands: operands, name: op.name))
                previousOutput = nodes[n].output
            }
            fold(chain, into: tail, op: FusedElementwise(steps: steps), inputs: inputs)
        }
        return fusedAway.count
    }
}
