import AutogradOps
import AutogradTensor

/// LeNet-5 for 1×28×28 images (as for MNIST, with the first convolution
/// padded to keep 28×28): two 5×5 convolutions (6 and 16 channels), each
/// followed by ReLU and 2×2 max pooling, then fully connected layers of
/// 120, 84 and `classes` outputs (``ConvNetSpec/lenet5``).
///
/// ```swift
/// let model = LeNet5()
/// let logits = model(Tensor.randn([64, 1, 28, 28]))   // [64, 10]
/// ```
public final class LeNet5: ConvNet {
    public init(classes: Int = 10, dtype: DType = .float32) {
        let net = ConvNetSpec.lenet5.build(input: [1, 28, 28], classes: classes, dtype: dtype)!
        super.init(features: net.features, classifier: net.classifier)
    }
}

/// AlexNet in torchvision's layout for 3×224×224 images: five convolutions
/// of 64, 192, 384, 256 and 256 channels with ReLU and three 3×3 max pools
/// of stride 2, an adaptive average pool to 6×6, and a classifier of two
/// 4096-wide layers with dropout (``ConvNetSpec/alexnet``). Parameters
/// have torchvision's names (`features.0.weight` … `classifier.6.bias`);
/// the average pool is the last layer of `features`, where it holds nothing.
///
/// ```swift
/// let model = AlexNet(classes: 1000)
/// let logits = model(Tensor.randn([2, 3, 224, 224]))   // [2, 1000]
/// ```
public final class AlexNet: ConvNet {
    public init(classes: Int = 1000, dropout: Double = 0.5, dtype: DType = .float32) {
        let net = ConvNetSpec.alexnet.build(input: [3, 224, 224], classes: classes, dropout: dropout, dtype: dtype)!
        super.init(features: net.features, classifier: net.classifier)
    }
}
