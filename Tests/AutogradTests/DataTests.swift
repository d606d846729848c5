import Autograd
import Testing

@Suite("Data")
struct DataTests {
    let data = TensorDataset(features: Tensor.arange(0, 20).reshaped([10, 2]), labels: Array(0..<10).map { $0 % 3 })

    @Test func loaderCoversEveryExampleOncePerEpoch() {
        let loader = DataLoader(data, batchSize: 4, shuffle: true, seed: 1)
        #expect(loader.batchCount == 3)
        var seen: [Double] = []
        for batch in loader {
            #expect(batch.inputs.shape[1] == 2)
            #expect(batch.labels.count == batch.inputs.shape[0])
            seen += batch.inputs.sliced(axis: 1, 0..<1).scalars
        }
        #expect(seen.sorted() == stride(from: 0.0, to: 20, by: 2).map { $0 })
        #expect(seen != seen.sorted(), "shuffled")
    }

    @Test func shufflingRepeatsPerSeedAndChangesPerEpoch() {
        func orders(seed: UInt64) -> [[Int]] {
            let loader = DataLoader(data, batchSize: 10, shuffle: true, seed: seed)
            return (0..<2).map { _ in loader.map(\.labels).flatMap { $0 } }
        }
        let a = orders(seed: 5), b = orders(seed: 5)
        #expect(a == b)
        #expect(a[0] != a[1])
        #expect(orders(seed: 6)[0] != a[0])
    }

    @Test func batchLabelsAsATensor() {
        let batch = Batch(inputs: Tensor.zeros([3, 2]), labels: [2, 0, 1])
        let t = batch.labelTensor()
        #expect(t.shape == [3] && t.dtype == .float32 && t.scalars == [2, 0, 1])
        #expect(batch.labelTensor(dtype: .float64).dtype == .float64)
    }

    @Test func dropLastAndSplit() {
        let loader = DataLoader(data, batchSize: 4, dropLast: true)
        #expect(loader.map(\.labels.count) == [4, 4])
        let (train, test) = data.split(testFraction: 0.3, seed: 2)
        #expect(train.count == 7 && test.count == 3)
        let all = (train.features.scalars + test.features.scalars).sorted()
        #expect(all == Tensor.arange(0, 20).scalars)
        #expect(data.split(testFraction: 0.3, seed: 2).test.labels == test.labels)
    }

    @Test(arguments: Playground.allCases)
    func playgroundDatasets(_ kind: Playground) {
        let d = kind.dataset(samples: 200, noise: 0.1, seed: 4)
        #expect(d.count == 200 && d.featureShape == [2] && d.classCount == 2)
        let positives = d.labels.filter { $0 == 1 }.count
        #expect(positives > 60 && positives < 140, "both classes present: \(positives)")
        #expect(d.features.scalars.allSatisfy { Swift.abs($0) < 12 })
        #expect(kind.dataset(samples: 200, noise: 0.1, seed: 4).features.scalars == d.features.scalars)
    }

    @Test func playgroundLabelsFollowTheirRule() {
        // Without noise: circle labels inside radius 2.5, xor labels by quadrant sign.
        let circle = Playground.circle.dataset(samples: 100, seed: 1)
        let c = circle.features.scalars
        for (i, label) in circle.labels.enumerated() {
            let r = (c[2 * i] * c[2 * i] + c[2 * i + 1] * c[2 * i + 1]).squareRoot()
            #expect((r < 2.5) == (label == 1))
        }
        let xor = Playground.xor.dataset(samples: 100, seed: 1)
        let x = xor.features.scalars
        for (i, label) in xor.labels.enumerated() {
            #expect((x[2 * i] * x[2 * i + 1] >= 0) == (label == 1))
        }
    }

    @Test func digitsAreBundled() throws {
        let digits = try Digits.load()
        #expect(digits.count == 1797)
        #expect(digits.featureShape == [64])
        #expect(digits.classCount == 10)
        let values = digits.features.scalars
        #expect(values.allSatisfy { $0 >= 0 && $0 <= 1 })
        #expect(Set(digits.labels) == Set(0..<10))
        #expect(digits.labels.prefix(10) == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    }

    @Test func mnistFromIDXFiles() throws {
        let folder = TemporaryFolder()
        // Two 2×3 images and their labels, in the IDX layout.
        func idx(_ dims: [UInt8], _ data: [UInt8]) -> [UInt8] {
            [0, 0, 8, UInt8(dims.count)] + dims.flatMap { [0, 0, 0, $0] } + data
        }
        folder.write("t10k-images-idx3-ubyte", idx([2, 2, 3], [0, 255, 51, 0, 0, 0, 102, 0, 0, 0, 0, 255]))
        folder.write("t10k-labels-idx1-ubyte", idx([2], [7, 3]))
        let test = try MNIST.load(directory: folder.path, split: .test)
        #expect(test.count == 2 && test.featureShape == [1, 2, 3] && test.labels == [7, 3])
        expectClose(test.features.scalars, [0, 1, 0.2, 0, 0, 0, 0.4, 0, 0, 0, 0, 1], tolerance: 1e-7, "pixels")

        func failure(_ images: [UInt8], _ labels: [UInt8]) -> String {
            folder.write("train-images-idx3-ubyte", images)
            folder.write("train-labels-idx1-ubyte", labels)
            do {
                _ = try MNIST.load(directory: folder.path, split: .train)
                return "no error"
            } catch {
                return error.description
            }
        }
        let labels = idx([2], [1, 2])
        #expect(failure(Array(idx([2, 2, 3], Array(repeating: 0, count: 12)).dropLast()), labels).contains("need 12 data bytes, the file has 11"))
        #expect(failure([1, 2, 3, 4, 5], labels).contains("bad magic number"))
        #expect(failure([0x1f, 0x8b, 8, 0, 0], labels).contains("truncated gzip data"))
        #expect(failure([0, 0, 8], labels).contains("too short"))
        #expect(failure([0, 0, 0x0d, 1, 0, 0, 0, 0], labels).contains("not supported"))
        #expect(failure(idx([3, 2, 3], Array(repeating: 0, count: 18)), labels).contains("3 images but 2 labels"))
        // Found by the IDX fuzz target: huge sizes times a zero size claimed no data, then overflowed.
        let huge: [UInt8] = [0, 0, 8, 4] + [UInt8](repeating: 0xff, count: 12) + [0, 0, 0, 0]
        #expect(failure(huge, labels).contains("hold more values than can be counted"))
        #expect(failure(idx([2, 2, 3], Array(repeating: 0, count: 12)), idx([2], [1, 12])).contains("label 12"))
        #expect(failure(idx([2, 2, 3], Array(repeating: 0, count: 12)), idx([2, 1], [1, 2])).contains("expected 1 dimension"))
        do {
            _ = try MNIST.load(directory: folder.path + "/missing", split: .train)
            Issue.record("a missing folder loaded")
        } catch {
            #expect(error.description.contains("no such file, nor"))
        }
    }

    @Test func csvWithAndWithoutHeader() throws {
        let folder = TemporaryFolder()
        let withHeader = folder.write("a.csv", "x,y,label\n1,2,0\n3.5,-4,2\r\n\n5,6,1\n")
        let a = try CSVDataset.load(withHeader)
        #expect(a.count == 3 && a.featureShape == [2] && a.labels == [0, 2, 1] && a.classCount == 3)
        #expect(a.features.scalars == [1, 2, 3.5, -4, 5, 6])
        let noHeader = folder.write("b.csv", "0,1,1\n1,0,0\n")
        #expect(try CSVDataset.load(noHeader, labelColumn: 0).labels == [0, 1])

        func failure(_ text: String) -> String {
            let path = folder.write("bad.csv", text)
            do {
                _ = try CSVDataset.load(path)
                return "no error"
            } catch {
                return error.description
            }
        }
        #expect(failure("1,2,0\n3,oops,1\n").contains("line 2, column 2: 'oops' is not a number"))
        #expect(failure("1,2,0\n3,1\n").contains("line 2 has 2 fields, expected 3"))
        #expect(failure("1,2,0.5\n").contains("label 0.5 is not a class number"))
        #expect(failure("1,2,-1\n").contains("label -1.0 is not a class number"))
        #expect(failure("a,b\n").contains("no data rows"))
        #expect(failure("1,inf,1\n").contains("is not finite"))
        #expect(failure("").contains("no data rows"))
        #expect(failure("1,2,0\r3,4,1\r5,x,0\r").contains("line 3, column 2: 'x' is not a number"), "\\r ends a line")
        #expect(failure("1,2,0\n1, ,0\n").contains("line 2, column 2: '' is not a number"))
        let long = String(repeating: "7", count: 100)
        #expect(failure("1,2,0\n1,\(long),0\n").contains("column 2: '\(long.prefix(40))' is not a number"),
                "a field too long for a number is named, shortened")
        do {
            _ = try CSVDataset.load(folder.file("nope.csv"))
            Issue.record("a missing file loaded")
        } catch {
            #expect(error.description == folder.file("nope.csv") + ": No such file or directory")
        }
    }

    @Test func npyRoundTripsAndReadsNumPyLayouts() throws {
        let folder = TemporaryFolder()
        for dtype in [DType.float32, .float64] {
            let x = Tensor.randn([3, 4], dtype: dtype)
            try NPY.save(x, to: folder.file("x.npy"))
            let y = try NPY.load(folder.file("x.npy"))
            #expect(y.dtype == dtype && y.shape == [3, 4] && y.scalars == x.scalars)
        }
        // Bytes as NumPy writes them: np.array([[1, 2, 3], [4, 5, 6]], dtype='<i8', order='F').
        func npy(_ header: String, _ data: [UInt8]) -> [UInt8] {
            var h = header
            while (10 + h.utf8.count + 1) % 64 != 0 { h += " " }
            h += "\n"
            return [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(h.utf8.count), 0] + Array(h.utf8) + data
        }
        let column: [Int64] = [1, 4, 2, 5, 3, 6]
        let bytes = column.flatMap { v in withUnsafeBytes(of: v.littleEndian) { Array($0) } }
        let f = folder.write("f.npy", npy("{'descr': '<i8', 'fortran_order': True, 'shape': (2, 3), }", bytes))
        let t = try NPY.load(f)
        #expect(t.shape == [2, 3] && t.scalars == [1, 2, 3, 4, 5, 6])
        let u8 = folder.write("u.npy", npy("{'descr': '|u1', 'fortran_order': False, 'shape': (4,), }", [0, 1, 128, 255]))
        #expect(try NPY.load(u8).scalars == [0, 1, 128, 255])

        func failure(_ bytes: [UInt8]) -> String {
            do {
                _ = try NPY.load(folder.write("bad.npy", bytes))
                return "no error"
            } catch {
                return error.description
            }
        }
        #expect(failure(Array("not numpy".utf8)).contains("bad magic"))
        #expect(failure(npy("{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }", Array(repeating: 0, count: 16))).contains("'<c16' is not supported"))
        #expect(failure(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", [0, 0, 0, 0])).contains("needs 12 data bytes, the file has 4"))
        #expect(failure(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999999), }", [])).contains("larger than the file"))
        #expect(failure(Array(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", [0, 0, 0, 0]).prefix(20))).contains("truncated"))
    }

    /// Found by the fuzz targets: a zero size made the count 0, so huge
    /// sizes beside it passed the readers' checks and overflowed later (in
    /// strides or in a caller's product). Each reader now refuses them.
    @Test func aZeroSizeCannotHideHugeOnes() throws {
        let npyHeader = "{'descr': '<i4', 'fortran_order': True, 'shape': (0, 8, 4444444444444444440), }"
        let npy: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(npyHeader.utf8.count), 0] + Array(npyHeader.utf8)
        #expect(throws: DataError.self) { try NPY.decode(npy) }

        let idx: [UInt8] = [0, 0, 8, 4] + [UInt8](repeating: 0xff, count: 12) + [0, 0, 0, 0]
        #expect(throws: DataError.self) { try IDX.decode(idx) }

        let json = #"{"t":{"dtype":"F32","shape":[0,1099511627776,1099511627776],"data_offsets":[0,0]}}"#
        let length = UInt64(json.utf8.count)
        let safetensors = (0..<8).map { UInt8(truncatingIfNeeded: length >> (8 * $0)) } + Array(json.utf8)
        #expect(throws: CheckpointError.self) { try SafeTensors.decode(safetensors) }

        // An empty tensor whose other sizes are modest still loads.
        let fine = #"{"t":{"dtype":"F32","shape":[0,3],"data_offsets":[0,0]}}"#
        let fineLength = UInt64(fine.utf8.count)
        let (tensors, _) = try SafeTensors.decode((0..<8).map { UInt8(truncatingIfNeeded: fineLength >> (8 * $0)) } + Array(fine.utf8))
        #expect(tensors["t"]?.shape == [0, 3])
    }
}
