import Autograd
import CKernels

/// The convolutional workloads of `autograd bench`: each convolution shape
/// of the performance targets in its three passes, max pooling, and LeNet-5
/// training steps.
extension Workloads {
    /// A convolution's shape: input [n, c, h, w], k output channels, r×s kernel.
    struct ConvShape {
        let label: String
        let n: Int, c: Int, h: Int, w: Int, k: Int, r: Int, s: Int
        var stride = 1, padding = 0, groups = 1

        var outSize: (Int, Int) {
            ((h + 2 * padding - r) / stride + 1, (w + 2 * padding - s) / stride + 1)
        }
        /// 2·N·K·(C/groups)·R·S·P·Q, the same for all three passes.
        var flops: Double {
            let (p, q) = outSize
            return 2 * Double(n * k * (c / groups) * r * s * p * q)
        }
    }

    static let convShapes: [ConvShape] = [
        ConvShape(label: "lenet1", n: 64, c: 1, h: 28, w: 28, k: 6, r: 5, s: 5, padding: 2),
        ConvShape(label: "lenet2", n: 64, c: 6, h: 14, w: 14, k: 16, r: 5, s: 5),
        ConvShape(label: "vgg64", n: 8, c: 64, h: 56, w: 56, k: 64, r: 3, s: 3, padding: 1),
        ConvShape(label: "alex1", n: 16, c: 3, h: 224, w: 224, k: 64, r: 11, s: 11, stride: 4, padding: 2),
        ConvShape(label: "dw128", n: 8, c: 128, h: 56, w: 56, k: 128, r: 3, s: 3, padding: 1, groups: 128),
    ]

    static func convolutions(_ machine: Machine) -> [Workload] {
        convShapes.flatMap { shape -> [Workload] in
            ["fwd", "bwd_data", "bwd_weight"].map { pass in
                Workload(name: "conv2d_f32_\(pass)_\(shape.label)", unit: "GFLOP/s") { reps in
                    var rng = RandomGenerator(seed: 7)
                    let x = Tensor.randn([shape.n, shape.c, shape.h, shape.w], using: &rng)
                    let w = Tensor.randn([shape.k, shape.c / shape.groups, shape.r, shape.s], using: &rng)
                    let (p, q) = shape.outSize
                    let g = Tensor.randn([shape.n, shape.k, p, q], using: &rng)
                    let conv = { (x: Tensor, w: Tensor) in
                        conv2d(x, weight: w, stride: IntOrPair(shape.stride), padding: .explicit(IntOrPair(shape.padding)),
                               groups: shape.groups)
                    }
                    let t: Double
                    switch pass {
                    case "fwd":
                        t = Timer.median(repetitions: reps) { _ = conv(x, w) }
                    case "bwd_data":
                        t = Timer.median(repetitions: reps) {
                            _ = conv2dInputGradient(inputShape: x.shape, weight: w, outputGradient: g,
                                                    stride: IntOrPair(shape.stride),
                                                    padding: .explicit(IntOrPair(shape.padding)), groups: shape.groups)
                        }
                    default:
                        t = Timer.median(repetitions: reps) {
                            _ = conv2dWeightGradient(x, weightShape: w.shape, outputGradient: g,
                                                     stride: IntOrPair(shape.stride),
                                                     padding: .explicit(IntOrPair(shape.padding)), groups: shape.groups)
                        }
                    }
                    let flops = shape.flops / t
                    return (flops / 1e9, flops / machine.peakFlops)
                }
            }
        } + [maxPool(backward: false), maxPool(backward: true), lenet5Training(compiled: false),
           lenet5Training(compiled: true), lenet5Allocations(), alexNetTraining(),
           peakRSS("peak_rss_alexnet_b16", workload: "alexnet", steps: 3)]
    }

    /// Max pooling, kernel 3, stride 2, padding 1, over [8, 64, 56, 56] (Gelem/s of input).
    static func maxPool(backward: Bool) -> Workload {
        Workload(name: backward ? "maxpool2d_f32_bwd_8x64x56x56" : "maxpool2d_f32_8x64x56x56", unit: "Gelem/s") { reps in
            var rng = RandomGenerator(seed: 8)
            let x = Tensor.randn([8, 64, 56, 56], using: &rng)
            let t: Double
            if backward {
                let xv = x.requiringGrad()
                let y = maxPool2d(xv, kernelSize: 3, stride: 2, padding: 1)
                let g = Tensor.randn(y.shape, using: &rng)
                t = Timer.median(repetitions: reps) { _ = grad(of: y, withRespectTo: [xv], seed: g, retainGraph: true) }
            } else {
                t = Timer.median(repetitions: reps) { _ = maxPool2d(x, kernelSize: 3, stride: 2, padding: 1) }
            }
            return (Double(x.scalarCount) / t / 1e9, nil)
        }
    }

    /// A LeNet-5 training step: batch 64 of 1×28×28, cross-entropy, SGD lr 0.01 momentum 0.9.
    static func lenet5Step(compiled: Bool) -> TrainingStep {
        manualSeed(9)
        return TrainingStep(model: LeNet5(), input: [1, 28, 28], classes: 10, batch: 64, compiled: compiled)
    }

    static func lenet5Training(compiled: Bool) -> Workload {
        Workload(name: compiled ? "train_lenet5_compiled" : "train_lenet5", unit: "samples/s") { reps in
            let step = lenet5Step(compiled: compiled)
            return (64 / Timer.median(repetitions: reps) { step.run() }, nil)
        }
    }

    /// An AlexNet training step: batch 16 of 3×224×224, 1000 classes, SGD lr 0.01 momentum 0.9.
    static func alexNetStep() -> TrainingStep {
        manualSeed(10)
        return TrainingStep(model: AlexNet(classes: 1000), input: [3, 224, 224], classes: 1000, batch: 16)
    }

    static func alexNetTraining() -> Workload {
        Workload(name: "train_alexnet_b16", unit: "samples/s") { reps in
            let step = alexNetStep()
            return (16 / Timer.median(repetitions: reps) { step.run() }, nil)
        }
    }

    /// Heap allocations of one compiled LeNet-5 step after warm-up.
    static func lenet5Allocations() -> Workload {
        allocations("allocs_per_step_lenet5_compiled") { lenet5Step(compiled: true) }
    }
}
