import Autograd
@testable import AutogradTensor
import CKernels
import Testing

@Suite("Tensor")
struct TensorTests {
    @Test func nestedLiteralsGiveShapeAndValues() {
        let m: Tensor = [[1, 2, 3], [4, 5, 6]]
        #expect(m.shape == [2, 3])
        #expect(m.dtype == .float32)
        #expect(m.scalars == [1, 2, 3, 4, 5, 6])
        let d = Tensor([[1.5], [2.5]], dtype: .float64)
        #expect(d.shape == [2, 1] && d.dtype == .float64)
        #expect(Tensor(3.0).shape == [])
        #expect(Tensor(3.0).item() == 3)
        #expect(Tensor([Float(1), 2]).scalars(as: Float.self) == [1, 2])
        #expect(m[scalarAt: 1, 2] == 6)
        #expect(m[scalarAt: -1, 0] == 4)
    }

    @Test func creationFunctions() {
        #expect(Tensor.zeros([2, 2]).scalars == [0, 0, 0, 0])
        #expect(Tensor.ones([3], dtype: .float64).scalars == [1, 1, 1])
        #expect(Tensor.full([2], 7).scalars == [7, 7])
        #expect(Tensor.arange(0, 5).scalars == [0, 1, 2, 3, 4])
        #expect(Tensor.arange(1, 2, 0.25).scalars == [1, 1.25, 1.5, 1.75])
        #expect(Tensor.eye(3).scalars == [1, 0, 0, 0, 1, 0, 0, 0, 1])
        let x = Tensor(shape: [2, 2], scalars: [1, 2, 3, 4], dtype: .float64)
        #expect(Tensor.zeros(like: x).dtype == .float64)
    }

    @Test func seededRandomRepeats() {
        var a = RandomGenerator(seed: 42), b = RandomGenerator(seed: 42), c = RandomGenerator(seed: 43)
        let x = Tensor.randn([100], using: &a), y = Tensor.randn([100], using: &b)
        let z = Tensor.randn([100], using: &c)
        #expect(x.scalars == y.scalars)
        #expect(x.scalars != z.scalars)
        let n = Tensor.randn([20_000], dtype: .float64, using: &a)
        let mean = n.mean().item(), variance = (n - mean).squared().mean().item()
        #expect(Swift.abs(mean) < 0.03 && Swift.abs(variance - 1) < 0.05)
        let u = Tensor.uniform([10_000], low: -2, high: 3, using: &a).scalars
        #expect(u.allSatisfy { $0 >= -2 && $0 < 3 })
        withManualSeed(7) {
            let p = Tensor.randn([5])
            manualSeed(7)
            #expect(Tensor.randn([5]).scalars == p.scalars)
        }
    }

    /// A scoped seed repeats its draws and leaves the process-wide generator where it was.
    @Test func scopedSeedsNeitherReadNorAdvanceTheDefaultGenerator() {
        let first = withManualSeed(9) { Tensor.randn([4]).scalars }
        #expect(withManualSeed(9) { Tensor.randn([4]).scalars } == first)
        #expect(withManualSeed(10) { Tensor.randn([4]).scalars } != first)
        let nested = withManualSeed(9) { () -> [Double] in
            _ = withManualSeed(1) { Tensor.randn([100]) }
            return Tensor.randn([4]).scalars
        }
        #expect(nested == first, "an inner scope must not advance the outer one")
    }

    @Test func viewsShareStorage() {
        let x = Tensor.arange(0, 6).reshaped([2, 3])
        let t = x.transposed()
        #expect(t.shape == [3, 2] && !t.isContiguous)
        #expect(t.scalars == [0, 3, 1, 4, 2, 5])
        let s = x.sliced(axis: 1, 1..<3)
        #expect(s.scalars == [1, 2, 4, 5])
        let e = Tensor([1, 2, 3]).expanded(to: [2, 3])
        #expect(e.strides == [0, 1] && e.scalars == [1, 2, 3, 1, 2, 3])
        x.assign(Tensor.full([2, 3], 9))
        #expect(t.scalars == [9, 9, 9, 9, 9, 9])  // the view sees the write
        #expect(t.contiguous().isContiguous)
        #expect(x.permuted([1, 0]).scalars == t.scalars)
        #expect(Tensor.arange(0, 6).reshaped([3, -1]).shape == [3, 2])
    }

    @Test func concatAndStack() {
        let a: Tensor = [[1, 2]], b: Tensor = [[3, 4], [5, 6]]
        #expect(Tensor.concat([a, b]).scalars == [1, 2, 3, 4, 5, 6])
        #expect(Tensor.concat([b, b], axis: 1).shape == [2, 4])
        #expect(Tensor.stack([Tensor([1, 2]), Tensor([3, 4])], axis: 1).scalars == [1, 3, 2, 4])
    }

    @Test func printsLikePyTorch() {
        let m: Tensor = [[1, 2], [3, 4]]
        #expect(m.description == "tensor([[1., 2.],\n        [3., 4.]], shape=[2, 2], dtype=float32)")
        let v = Tensor([0.5, -1.25], dtype: .float64).requiringGrad()
        #expect(v.description == "tensor([ 0.5000, -1.2500], shape=[2], dtype=float64, requiresGrad=true)")
        #expect((v * v).description.hasSuffix("gradFn=<mul>)"))
        #expect(Tensor(2.5).description == "tensor(2.5000, shape=[], dtype=float32)")
        let big = Tensor.arange(0, 2000).reshaped([40, 50]).description
        #expect(big.contains("..."))
        #expect(big.contains("[   0.,    1.,    2., ...,   47.,   48.,   49.]"))
        #expect(big.hasSuffix("shape=[40, 50], dtype=float32)"))
        #expect(big.split(separator: "\n").count == 7)
    }

    @Test func comparisonsGiveMasks() {
        let x = Tensor([-1, 0, 2])
        #expect((x .> 0).scalars == [0, 0, 1])
        #expect((x .<= 0).scalars == [1, 1, 0])
        #expect((x .== Tensor([-1, 1, 2])).scalars == [1, 0, 1])
        #expect(Tensor.where(x .> 0, x, Tensor([7])).scalars == [7, 7, 2])
        #expect(Tensor([[1, 5, 2], [7, 0, 3]]).argmax(alongAxis: 1) == [1, 0])
        #expect(Tensor([[1, 5, 2], [7, 0, 3]]).argmax(alongAxis: 0) == [1, 0, 1])
    }

    @Test func knownValues() {
        let x = Tensor([0, 1, -1], dtype: .float64)
        expectClose(sigmoid(x).scalars, [0.5, 0.731_058_578_630_004_9, 0.268_941_421_369_995_1], tolerance: 1e-15, "sigmoid")
        expectClose(gelu(x).scalars, [0, 0.841_344_746_068_542_9, -0.158_655_253_931_457_05], tolerance: 1e-15, "gelu")
        expectClose(softplus(Tensor([0, 100, -100], dtype: .float64)).scalars,
                    [0.693_147_180_559_945_3, 100, 3.720_075_976_020_836e-44], tolerance: 1e-15, "softplus")
        #expect(sigmoid(Tensor([-1000, 1000])).scalars == [0, 1])
        expectClose(softmax(Tensor([[1, 2, 3]], dtype: .float64)).scalars,
                    [0.090_030_573_170_380_46, 0.244_728_471_054_797_64, 0.665_240_955_774_821_9], tolerance: 1e-15, "softmax")
        #expect(softmax(Tensor([[1000, 1000]])).scalars == [0.5, 0.5])
        let ce = crossEntropy(logits: Tensor([[1, 2, 3], [1, 1, 1]], dtype: .float64), labels: [2, 0]).item()
        #expect(Swift.abs(ce - (0.407_605_964_444_380_1 + 1.098_612_288_668_109_8) / 2) < 1e-14)
        #expect(mse(Tensor([1, 2]), Tensor([3, 2])).item() == 2)
        #expect(Tensor([[1, 2], [3, 4]]).max(alongAxes: [0]).scalars == [3, 4])
        #expect(Tensor([[1, 2], [3, 4]]).mean(alongAxes: [1]).scalars == [1.5, 3.5])
        #expect(matmul(Tensor([[1, 2], [3, 4]]), Tensor.eye(2)).scalars == [1, 2, 3, 4])
    }
}

@Suite("Buffer pool")
struct BufferPoolTests {
    @Test func sizeClassesHoldTheirSizesWithLittleSlack() {
        var lastIndex = -1
        var lastClass = 0
        for bytes in [1, 63, 64, 65, 1000, 1024, 1025, 1300, 1536, 2048, 2049, 4096, 100_000, 1 << 20, (1 << 20) + 1, 3 << 30] {
            let size = BufferPool.sizeClass(bytes)
            #expect(size >= bytes && size % 64 == 0)
            #expect(Double(size) <= Swift.max(64, Double(bytes) * 1.25 + 64), "\(bytes) → \(size)")
            let index = BufferPool.classIndex(size)
            #expect(index >= 0 && index < 16 + 4 * 64)
            if size > lastClass { #expect(index > lastIndex, "indices grow with classes") }
            lastIndex = index
            lastClass = size
        }
        // Every class from 64 bytes to 1 GiB has its own index.
        var seen = Set<Int>()
        var size = 64
        while size <= 1 << 30 {
            let c = BufferPool.sizeClass(size)
            #expect(seen.insert(BufferPool.classIndex(c)).inserted || BufferPool.sizeClass(size - 1) == c)
            size = c + 1
        }
    }

    @Test func aFreedBufferIsTheNextOneOfItsClass() {
        let pool = BufferPool.shared
        // A class no other test uses (tests run in parallel): 100 MiB + 1 byte,
        // never touched beyond the first page.
        let bytes = (100 << 20) + 1
        let (first, capacity) = pool.take(bytes: bytes)
        let (second, _) = pool.take(bytes: bytes)
        #expect(first != second)
        pool.give(first, capacity: capacity)
        pool.give(second, capacity: capacity)
        // Last in, first out; each once.
        let (a, _) = pool.take(bytes: bytes)
        let (b, _) = pool.take(bytes: bytes)
        #expect(a == second && b == first)
        pool.give(a, capacity: capacity)
        pool.give(b, capacity: capacity)
    }
}

@Suite("Shape rules")
struct ShapeRuleTests {
    @Test func axesAreNormalisedSortedAndUnique() {
        #expect(ShapeRules.axes([2, -3, 0, 2, -1], rank: 3, op: "t") == [0, 2])
        #expect(ShapeRules.axes([1, 0], rank: 2, op: "t") == [0, 1])
        #expect(ShapeRules.axes(nil, rank: 3, op: "t") == [0, 1, 2])
        #expect(ShapeRules.axes([], rank: 3, op: "t") == [])
    }

    @Test func permutationsAreRecognised() {
        #expect(ShapeRules.isPermutation([]))
        #expect(ShapeRules.isPermutation([2, 0, 1]))
        #expect(!ShapeRules.isPermutation([0, 0, 1]))
        #expect(!ShapeRules.isPermutation([0, 3, 1]))
        #expect(!ShapeRules.isPermutation([-1, 0]))
    }
}
