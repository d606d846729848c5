import Autograd
@testable import AutogradNN
import Foundation
import Testing

/// State dicts saved by PyTorch (`Fixtures/make_torch_fixtures.py`) load by
/// name into the same architectures here and give PyTorch's outputs,
/// gradients and running statistics; our state dicts have PyTorch's keys.
@Suite("PyTorch state dicts")
struct PyTorchStateDictTests {
    static func fixture(_ name: String) throws -> [String: Tensor] {
        let url = try #require(Bundle.module.url(forResource: name, withExtension: "safetensors"))
        return try SafeTensors.load(from: url.path).tensors
    }

    /// The Swift twins of the fixture script's models.
    static func zoo() -> Module {
        Sequential {
            Conv2d(2, 4, kernelSize: 3, padding: 1)
            BatchNorm2d(4)
            ReLU()
            MaxPool2d(kernelSize: 2)
            Conv2d(4, 6, kernelSize: 3, padding: 1, groups: 2, bias: false)
            ReLU()
            ConvTranspose2d(6, 4, kernelSize: 2, stride: 2)
            Tanh()
            AdaptiveAvgPool2d(outputSize: 2)
            Flatten()
            Linear(16, 3)
        }
    }

    static func zoo1d() -> Module {
        Sequential {
            Conv1d(3, 4, kernelSize: 3, padding: 1)
            BatchNorm1d(4)
            ReLU()
            Flatten()
            Linear(24, 2)
        }
    }

    @Test(arguments: ["zoo", "zoo1d", "lenet5"])
    func loadsAndMatchesPyTorch(_ name: String) throws {
        let state = try Self.fixture("torch_\(name)")
        let expected = try Self.fixture("torch_\(name)_expected")
        let model = switch name {
        case "zoo": Self.zoo()
        case "zoo1d": Self.zoo1d()
        default: LeNet5() as Module
        }
        #expect(Set(model.stateTensors().map(\.name)) == Set(state.keys), "the same keys as PyTorch's state_dict")
        try Checkpoint.load(into: model, tensors: state, metadata: [:])

        let x = try #require(expected["input"])
        let tolerance = 1e-4
        let evalOutput = model.evaluating { model(x) }
        expectClose(evalOutput.scalars, expected["eval_output"]!.scalars, tolerance: tolerance, "\(name) eval output")

        model.train()
        let input = x.requiringGrad()
        let y = model(input)
        expectClose(y.scalars, expected["train_output"]!.scalars, tolerance: tolerance, "\(name) training output")
        (y * expected["probe"]!).sum().backward()
        expectClose(input.grad!.scalars, expected["grad.input"]!.scalars, tolerance: tolerance, "\(name) input gradient")
        for (key, p) in model.namedParameters() {
            let g = try #require(expected["grad." + key], "PyTorch has a gradient for \(key)")
            expectClose(p.grad!.scalars, g.scalars, tolerance: tolerance, "\(name) gradient of \(key)")
        }
        for (key, b) in model.namedBuffers() {
            let after = try #require(expected["after." + key], "PyTorch has buffer \(key)")
            expectClose(b.scalars, after.scalars, tolerance: tolerance, "\(name) \(key) after a training batch")
        }
    }

    /// What we save is what `model.load_state_dict` expects: the keys, shapes
    /// and (for the int64 counter, by value) the contents round-trip.
    @Test func ourStateDictHasPyTorchsKeysAndShapes() throws {
        let state = try Self.fixture("torch_zoo")
        let model = Self.zoo()
        try Checkpoint.load(into: model, tensors: state, metadata: [:])
        let folder = TemporaryFolder()
        try Checkpoint.save(model, to: folder.file("zoo.safetensors"))
        let saved = try SafeTensors.load(from: folder.file("zoo.safetensors")).tensors
        #expect(Set(saved.keys) == Set(state.keys))
        for (key, t) in state {
            #expect(saved[key]!.shape == t.shape, "\(key)")
            #expect(saved[key]!.scalars == t.scalars, "\(key)")
        }
        #expect(saved["1.num_batches_tracked"]!.item() == 3)

        var withoutCounter = state
        withoutCounter["1.num_batches_tracked"] = nil
        try Checkpoint.load(into: Self.zoo(), tensors: withoutCounter, metadata: [:])
    }

    /// torchvision's AlexNet keys, and the layers' PyTorch shapes.
    @Test func alexNetHasTorchvisionsKeys() {
        let names = AlexNet(classes: 10).namedParameters().map { "\($0.name) \($0.tensor.shape)" }
        #expect(names == [
            "features.0.weight [64, 3, 11, 11]", "features.0.bias [64]",
            "features.3.weight [192, 64, 5, 5]", "features.3.bias [192]",
            "features.6.weight [384, 192, 3, 3]", "features.6.bias [384]",
            "features.8.weight [256, 384, 3, 3]", "features.8.bias [256]",
            "features.10.weight [256, 256, 3, 3]", "features.10.bias [256]",
            "classifier.1.weight [4096, 9216]", "classifier.1.bias [4096]",
            "classifier.4.weight [4096, 4096]", "classifier.4.bias [4096]",
            "classifier.6.weight [10, 4096]", "classifier.6.bias [10]",
        ])
    }

    /// `alexnet` as a spec: the shapes it claims before building are the
    /// built model's, and it needs images of at least 63×63.
    @Test func alexNetSpecPlansWhatItBuilds() throws {
        let spec = try #require(ConvNetSpec("alexnet"))
        #expect(spec.description == "alexnet")
        let shapes = try #require(spec.parameterShapes(input: [3, 224, 224], classes: 10))
        #expect(shapes.map { "\($0.name) \($0.shape)" } == AlexNet(classes: 10).namedParameters().map { "\($0.name) \($0.tensor.shape)" })
        #expect(spec.parameterShapes(input: [1, 28, 28], classes: 10) == nil)
        #expect(spec.parameterShapes(input: [3, 62, 62], classes: 10) == nil)
        let small = try #require(spec.build(input: [1, 63, 63], classes: 4))
        #expect(small.evaluating { small(Tensor.zeros([2, 1, 63, 63])) }.shape == [2, 4])
        #expect(spec.activationCount(input: [3, 224, 224], classes: 10)! > 3 * 224 * 224)
    }

    /// Checkpoints written before Sequential took PyTorch's names still load.
    @Test func filesWithTheOldSequentialNamesLoad() throws {
        let model = MLP(inputs: 3, hidden: [4], outputs: 2)
        var old: [String: Tensor] = [:]
        for (name, t) in model.stateTensors() { old["layers." + name] = t * 2 }
        let fresh = MLP(inputs: 3, hidden: [4], outputs: 2)
        try Checkpoint.load(into: fresh, tensors: old, metadata: [:])
        for ((_, a), (_, b)) in zip(fresh.stateTensors(), model.stateTensors()) {
            #expect(a.scalars == (b * 2).scalars)
        }
        #expect(Checkpoint.renamingSequentialLayers(["features.layers.3.bias": Tensor([1]), "optimizer.layers.0.x": Tensor([1])])
                    .keys.sorted() == ["features.3.bias", "optimizer.layers.0.x"])
    }

    @Test func propertyNamesAreSnakeCase() {
        #expect(["runningMean", "numBatchesTracked", "weightIH", "XMLParser", "conv1", "fc2Layer", "_bias"]
                    .map { Module.propertyName($0) }
                == ["running_mean", "num_batches_tracked", "weight_ih", "xml_parser", "conv1", "fc2_layer", "bias"])
    }
}
