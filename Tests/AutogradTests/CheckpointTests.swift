import Autograd
import Foundation
import Testing

@Suite("Checkpoints")
struct CheckpointTests {
    /// A file laid out by hand from the format's description: header length
    /// (u64 little-endian), JSON header padded with spaces to 8 bytes, data.
    @Test func encodingMatchesTheSpecByteForByte() {
        let header = #"{"__metadata__":{"k":"v"},"a":{"dtype":"F64","shape":[],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}"#
        var headerBytes = Array(header.utf8)
        while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }
        #expect(headerBytes.count == 136)
        var expected: [UInt8] = [136, 0, 0, 0, 0, 0, 0, 0] + headerBytes
        expected += [0, 0, 0, 0, 0, 0, 0xE0, 0x3F]                  // 0.5 as float64
        expected += [0, 0, 0x80, 0x3F] + [0, 0, 0, 0x40]              // 1.0 and 2.0 as float32
        let bytes = SafeTensors.encode(["b": Tensor([1, 2]), "a": Tensor(0.5, dtype: .float64)], metadata: ["k": "v"])
        #expect(bytes == expected)
    }

    @Test func roundTripKeepsValuesShapesAndDtypes() throws {
        let folder = TemporaryFolder()
        let tensors = ["w": Tensor.randn([3, 4]), "b": Tensor.randn([4], dtype: .float64), "s": Tensor(7.0),
                       "empty": Tensor.zeros([0, 3]), "view": Tensor.randn([4, 3]).transposed()]
        try SafeTensors.save(tensors, metadata: ["epoch": "3", "quote\"d": "line\nbreak"], to: folder.file("x.safetensors"))
        let (loaded, metadata) = try SafeTensors.load(from: folder.file("x.safetensors"))
        #expect(metadata == ["epoch": "3", "quote\"d": "line\nbreak"])
        #expect(Set(loaded.keys) == Set(tensors.keys))
        for (name, t) in tensors {
            #expect(loaded[name]!.shape == t.shape && loaded[name]!.dtype == t.dtype && loaded[name]!.scalars == t.scalars, "\(name)")
        }
        #expect(folder.contents() == ["x.safetensors"], "no temporary file left behind")
    }

    @Test func loadsAFileWrittenByPythonSafetensors() throws {
        let url = try #require(Bundle.module.url(forResource: "from_python", withExtension: "safetensors"))
        let (tensors, metadata) = try SafeTensors.load(from: url.path)
        #expect(metadata == ["written_by": "safetensors-python"])
        #expect(tensors["layer.weight"]!.shape == [2, 3] && tensors["layer.weight"]!.dtype == .float32)
        #expect(tensors["layer.weight"]!.scalars == [0, 0.25, 0.5, 0.75, 1, 1.25])
        #expect(tensors["layer.bias"]!.scalars == [-1.5, 2.25])
        #expect(tensors["scale"]!.shape == [] && tensors["scale"]!.dtype == .float64 && tensors["scale"]!.item() == 3)
        expectClose(tensors["table"]!.scalars, (0..<8).map { Double($0) / 7 }, tolerance: 1e-15, "table")
    }

    /// Half floats widen to float32; PyTorch's integer and bool tensors become float64.
    @Test func halfAndIntegerDTypesConvert() throws {
        func le<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
            values.flatMap { v in withUnsafeBytes(of: v.littleEndian) { Array($0) } }
        }
        let parts: [(name: String, tag: String, bytes: [UInt8], count: Int)] = [
            ("f16", "F16", le([UInt16(0x3E00), 0xC000]), 2),           // 1.5, -2
            ("bf16", "BF16", le([UInt16(0x3FC0), 0xC000]), 2),         // 1.5, -2
            ("i64", "I64", le([Int64(-3), 1 << 40]), 2),
            ("i32", "I32", le([Int32(-7)]), 1),
            ("i16", "I16", le([Int16(-300)]), 1),
            ("i8", "I8", le([Int8(-128)]), 1),
            ("u8", "U8", [255], 1),
            ("bool", "BOOL", [0, 2], 2),
        ]
        var entries: [String] = [], data: [UInt8] = []
        for p in parts {
            entries.append(#""\#(p.name)":{"dtype":"\#(p.tag)","shape":[\#(p.count)],"data_offsets":[\#(data.count),\#(data.count + p.bytes.count)]}"#)
            data += p.bytes
        }
        let (tensors, _) = try SafeTensors.decode(file(header: "{" + entries.joined(separator: ",") + "}", data: data))
        #expect(tensors["f16"]!.dtype == .float32 && tensors["f16"]!.scalars == [1.5, -2])
        #expect(tensors["bf16"]!.dtype == .float32 && tensors["bf16"]!.scalars == [1.5, -2])
        #expect(tensors["i64"]!.dtype == .float64 && tensors["i64"]!.scalars == [-3, 0x1p40])
        #expect(tensors["i32"]!.scalars == [-7] && tensors["i16"]!.scalars == [-300] && tensors["i8"]!.scalars == [-128])
        #expect(tensors["u8"]!.scalars == [255] && tensors["bool"]!.scalars == [0, 1])
    }

    static let pythonHasSafetensors: Bool = {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", "import safetensors, numpy"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }()

    @Test("a file written here loads in Python's safetensors", .enabled(if: pythonHasSafetensors))
    func pythonLoadsOurFile() throws {
        let folder = TemporaryFolder()
        try SafeTensors.save(["w": Tensor([[1, 2], [3, 4.5]]), "d": Tensor([0.125, -8], dtype: .float64)],
                             metadata: ["k": "v"], to: folder.file("ours.safetensors"))
        let p = Process()
        let out = Pipe()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", """
            from safetensors.numpy import load_file
            from safetensors import safe_open
            t = load_file('\(folder.file("ours.safetensors"))')
            with safe_open('\(folder.file("ours.safetensors"))', 'np') as f: m = f.metadata()
            print(t['w'].dtype, t['w'].shape, t['w'].ravel().tolist(), t['d'].dtype, t['d'].tolist(), m)
            """]
        p.standardOutput = out
        try p.run()
        p.waitUntilExit()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(p.terminationStatus == 0)
        #expect(text.trimmingCharacters(in: .whitespacesAndNewlines)
                == "float32 (2, 2) [1.0, 2.0, 3.0, 4.5] float64 [0.125, -8.0] {'k': 'v'}")
    }

    /// A file with this header text (padded) and `data` bytes after it.
    func file(header: String, data: [UInt8], length: UInt64? = nil) -> [UInt8] {
        var h = Array(header.utf8)
        while h.count % 8 != 0 { h.append(0x20) }
        let n = length ?? UInt64(h.count)
        return withUnsafeBytes(of: n.littleEndian) { Array($0) } + h + data
    }

    func decodeError(_ bytes: [UInt8]) -> String {
        do {
            _ = try SafeTensors.decode(bytes)
            return "no error"
        } catch {
            return error.description
        }
    }

    @Test func hostileAndBrokenFilesThrow() {
        let ok = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
        let eight = [UInt8](repeating: 0, count: 8)
        #expect(decodeError(file(header: ok, data: eight)) == "no error")
        #expect(decodeError([1, 2, 3]).contains("shorter than the 8-byte header length"))
        #expect(decodeError(file(header: ok, data: eight, length: UInt64.max)).contains("exceeds the limit"))
        #expect(decodeError(file(header: ok, data: eight, length: 50_000_000)).contains("runs past the end"))
        #expect(decodeError(file(header: "{not json", data: [])).contains("not a JSON object"))
        #expect(decodeError(file(header: "[1,2]", data: [])).contains("not a JSON object"))
        #expect(decodeError(file(header: ok, data: Array(eight.prefix(5)))).contains("ends at byte 8 of a 5-byte data section"))
        #expect(decodeError(file(header: ok, data: eight + [0, 0, 0, 0])).contains("data section is 12 bytes but the tensors cover 8"))
        #expect(decodeError(file(header: #"{"a":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}}"#, data: eight))
                .contains("has dtype C64; F64, F32, F16, BF16, I64, I32, I16, I8, U8 and BOOL load"))
        #expect(decodeError(file(header: #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: eight))
                .contains("needs 12 bytes but its offsets span 8"))
        #expect(decodeError(file(header: #"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,8]}}"#, data: eight))
                .contains("bad dimension"))
        #expect(decodeError(file(header: #"{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}"#, data: eight))
                .contains("larger than the file"))
        #expect(decodeError(file(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}"#, data: eight))
                .contains("bad data_offsets"))
        #expect(decodeError(file(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: eight))
                .contains("gap or overlap"))
        #expect(decodeError(file(header: #"{"a":{"shape":[2],"data_offsets":[0,8]}}"#, data: eight)).contains("has no dtype"))
        #expect(decodeError(file(header: #"{"__metadata__":{"k":1}}"#, data: [])).contains("is not a string"))
        // Every truncation of a valid file fails cleanly.
        let whole = SafeTensors.encode(["w": Tensor.randn([3, 3]), "b": Tensor.randn([3])], metadata: ["x": "y"])
        for cut in 0..<whole.count {
            #expect(decodeError(Array(whole.prefix(cut))) != "no error", "truncated at \(cut)")
        }
    }

    final class Net: Module {
        let hidden: Linear
        let norm: BatchNorm1d
        let output: Linear
        init(width: Int = 4) {
            hidden = Linear(3, width)
            norm = BatchNorm1d(width)
            output = Linear(width, 2)
        }
        override func forward(_ x: Tensor) -> Tensor { output(relu(norm(hidden(x)))) }
    }

    /// Trains `net` for `steps` steps on fixed random data.
    func train(_ net: Net, _ optimizer: Optimizer, steps: Int, seed: UInt64) {
        var rng = RandomGenerator(seed: seed)
        for _ in 0..<steps {
            let x = Tensor.randn([8, 3], using: &rng)
            optimizer.zeroGrad()
            crossEntropy(logits: net(x), labels: [0, 1, 1, 0, 1, 0, 0, 1]).backward()
            optimizer.step()
        }
    }

    @Test func modelAndOptimizerStateResumeExactly() throws {
        let folder = TemporaryFolder()
        try withManualSeed(1) {
            let a = Net()
            let optA = Adam(a.parameters, learningRate: 0.01)
            train(a, optA, steps: 3, seed: 10)
            try Checkpoint.save(a, optimizer: optA, metadata: ["note": "halfway"], to: folder.file("ckpt.safetensors"))
            train(a, optA, steps: 3, seed: 11)

            manualSeed(2)
            let b = Net()
            let optB = Adam(b.parameters, learningRate: 0.01)
            let metadata = try Checkpoint.load(into: b, optimizer: optB, from: folder.file("ckpt.safetensors"))
            #expect(metadata["note"] == "halfway" && metadata["optimizer.kind"] == "adam" && metadata["optimizer.step"] == "3")
            #expect(optB.stepCount == 3)
            train(b, optB, steps: 3, seed: 11)
            for ((name, x), (_, y)) in zip(a.stateTensors(), b.stateTensors()) {
                #expect(x.scalars == y.scalars, "\(name) differs after resuming")
            }
        }
    }

    /// Trains like ``train(_:_:steps:seed:)``, but parameter `frozen` has no
    /// gradient in steps where `frozenAt(step)` (counted from 0).
    func train(_ net: Net, _ optimizer: Optimizer, steps: Int, seed: UInt64, frozen: Int, frozenAt: (Int) -> Bool) {
        var rng = RandomGenerator(seed: seed)
        for s in 0..<steps {
            let x = Tensor.randn([8, 3], using: &rng)
            optimizer.zeroGrad()
            crossEntropy(logits: net(x), labels: [0, 1, 1, 0, 1, 0, 0, 1]).backward()
            if frozenAt(s) { net.parameters[frozen].grad = nil }
            optimizer.step()
        }
    }

    /// Per-parameter step counts and AMSGrad's maxima are saved: a run with a
    /// parameter that missed steps resumes exactly.
    @Test func perParameterStepsAndAMSGradStateResumeExactly() throws {
        let folder = TemporaryFolder()
        try withManualSeed(3) {
            let a = Net()
            let optA = AdamW(a.parameters, learningRate: 0.01, amsgrad: true)
            train(a, optA, steps: 4, seed: 20, frozen: 1, frozenAt: { $0 == 1 || $0 == 2 })
            #expect(optA.parameterStepCounts[1] == 2 && optA.parameterStepCounts[0] == 4)
            try Checkpoint.save(a, optimizer: optA, to: folder.file("ckpt.safetensors"))
            let savedCounts = optA.parameterStepCounts
            let saved = try SafeTensors.load(from: folder.file("ckpt.safetensors")).tensors
            #expect(saved["optimizer.1.step"]?.shape == [] && saved["optimizer.1.step"]?.item() == 2)
            #expect(saved["optimizer.0.step"]?.item() == 4)
            #expect(saved["optimizer.0.max_exp_avg_sq"]?.shape == a.parameters[0].shape)
            train(a, optA, steps: 3, seed: 21, frozen: 1, frozenAt: { $0 == 0 })

            manualSeed(4)
            let b = Net()
            let optB = AdamW(b.parameters, learningRate: 0.01, amsgrad: true)
            try Checkpoint.load(into: b, optimizer: optB, from: folder.file("ckpt.safetensors"))
            #expect(optB.stepCount == 4 && optB.parameterStepCounts == savedCounts)
            train(b, optB, steps: 3, seed: 21, frozen: 1, frozenAt: { $0 == 0 })
            #expect(optB.parameterStepCounts == optA.parameterStepCounts)
            for ((name, x), (_, y)) in zip(a.stateTensors(), b.stateTensors()) {
                #expect(x.scalars == y.scalars, "\(name) differs after resuming")
            }
        }
    }

    /// A checkpoint saved before per-parameter counts existed (no
    /// `optimizer.<i>.step`) loads: parameters with state take the saved
    /// step count, the others 0.
    @Test func checkpointsWithoutPerParameterStepsLoad() throws {
        let folder = TemporaryFolder()
        try withManualSeed(5) {
            let a = Net()
            let optA = Adam(a.parameters, learningRate: 0.01)
            train(a, optA, steps: 3, seed: 30, frozen: 2, frozenAt: { _ in true })
            try Checkpoint.save(a, optimizer: optA, to: folder.file("new.safetensors"))
            let (saved, metadata) = try SafeTensors.load(from: folder.file("new.safetensors"))
            var tensors = saved
            let stepNames = tensors.keys.filter { $0.hasSuffix(".step") }
            #expect(stepNames.count == a.parameters.count - 1, "every parameter but the frozen one has a count")
            for name in stepNames { tensors[name] = nil }
            try SafeTensors.save(tensors, metadata: metadata, to: folder.file("old.safetensors"))

            let optB = Adam(Net().parameters, learningRate: 0.01)
            try Checkpoint.load(into: Net(), optimizer: optB, from: folder.file("old.safetensors"))
            #expect(optB.stepCount == 3)
            #expect(optB.parameterStepCounts == a.parameters.indices.map { $0 == 2 ? 0 : 3 })

            // A count that is not a whole non-negative number is refused, and nothing changes.
            tensors["optimizer.0.step"] = Tensor(1.5, dtype: .float64)
            try SafeTensors.save(tensors, metadata: ["optimizer.kind": "adam", "optimizer.step": "3"], to: folder.file("bad.safetensors"))
            let optC = Adam(Net().parameters)
            let error = loadError(Net(), optC, folder.file("bad.safetensors"))
            #expect(error == .incompatible("optimizer.0.step must be one whole non-negative number (shape [])"))
            #expect(optC.stepCount == 0 && optC.parameterStepCounts.allSatisfy { $0 == 0 })
        }
    }

    func loadError(_ net: Net, _ optimizer: Optimizer? = nil, _ path: String) -> CheckpointError? {
        do {
            try Checkpoint.load(into: net, optimizer: optimizer, from: path)
            return nil
        } catch {
            return error
        }
    }

    @Test func mismatchedModelsAreRejectedAndLeftUntouched() throws {
        let folder = TemporaryFolder()
        let path = folder.file("ckpt.safetensors")
        try Checkpoint.save(Net(width: 4), to: path)
        let wider = Net(width: 5)
        let before = wider.stateTensors().map(\.tensor.scalars)
        let error = loadError(wider, nil, path)
        #expect(error == .shapeMismatch(name: "hidden.weight", expected: [5, 3], found: [4, 3]))
        #expect(error?.description == "checkpoint tensor hidden.weight has shape [4, 3], the model expects [5, 3]")
        #expect(wider.stateTensors().map(\.tensor.scalars) == before, "nothing was changed")

        var tensors = try SafeTensors.load(from: path).tensors
        tensors["extra"] = Tensor([1])
        try SafeTensors.save(tensors, to: folder.file("extra.safetensors"))
        #expect(loadError(Net(), nil, folder.file("extra.safetensors")) == .unexpected(name: "extra"))
        tensors["extra"] = nil
        tensors["norm.running_var"] = nil
        try SafeTensors.save(tensors, to: folder.file("missing.safetensors"))
        #expect(loadError(Net(), nil, folder.file("missing.safetensors")) == .missing(name: "norm.running_var"))

        let net = Net()
        try Checkpoint.save(net, optimizer: SGD(net.parameters, learningRate: 0.1), to: folder.file("sgd.safetensors"))
        #expect(loadError(Net(), Adam(Net().parameters), folder.file("sgd.safetensors"))
                == .incompatible("it holds sgd state but the optimizer is adam"))
        #expect(loadError(Net(), nil, folder.file("nope.safetensors"))?.description.contains("No such file") == true)
        folder.write("garbage.safetensors", [UInt8](repeating: 0xFF, count: 64))
        #expect(loadError(Net(), nil, folder.file("garbage.safetensors"))?.description.contains("exceeds the limit") == true)
    }

    @Test func aFailedSaveLeavesThePreviousFileIntact() throws {
        let folder = TemporaryFolder()
        let path = folder.file("ckpt.safetensors")
        let net = Net()
        try Checkpoint.save(net, to: path)
        let before = try AtomicFile.read(path)
        // Saving into a folder that doesn't exist fails before touching anything.
        #expect(throws: CheckpointError.self) { try Checkpoint.save(net, to: folder.file("no/such/folder/x.safetensors")) }
        // A destination that can't be replaced (a non-empty folder) fails at the rename: the temporary file is removed.
        try FileManager.default.createDirectory(atPath: folder.file("taken/inner"), withIntermediateDirectories: true)
        #expect(throws: CheckpointError.self) { try Checkpoint.save(net, to: folder.file("taken")) }
        #expect(folder.contents() == ["ckpt.safetensors", "taken"])
        #expect(try AtomicFile.read(path) == before)
    }

    /// Temporary files a killed process left beside a checkpoint go on the
    /// next save; a live process's, and other files, stay.
    @Test func staleTemporaryFilesAreRemovedOnTheNextSave() throws {
        let folder = TemporaryFolder()
        let finished = Process()
        finished.executableURL = URL(fileURLWithPath: "/bin/true")
        try finished.run()
        finished.waitUntilExit()
        let dead = finished.processIdentifier, alive = ProcessInfo.processInfo.processIdentifier
        folder.write("ckpt.safetensors.tmp-\(dead)-17", [UInt8](repeating: 1, count: 1000))
        folder.write("ckpt.safetensors.tmp-\(alive)-18", [1])
        folder.write("other.safetensors.tmp-\(dead)-19", [1])
        folder.write("ckpt.safetensors.tmp-notes.txt", [1])
        try SafeTensors.save(["w": Tensor([1, 2])], to: folder.file("ckpt.safetensors"))
        #expect(folder.contents() == ["ckpt.safetensors", "ckpt.safetensors.tmp-\(alive)-18", "ckpt.safetensors.tmp-notes.txt",
                                      "other.safetensors.tmp-\(dead)-19"])
    }

    /// A save that fails says so, and names the path and the reason.
    @Test func writeFailuresSayCannotWrite() {
        let folder = TemporaryFolder()
        do {
            try SafeTensors.save(["w": Tensor([1, 2])], to: folder.file("no-such-folder/ckpt.safetensors"))
            Issue.record("saving into a missing folder succeeded")
        } catch {
            #expect(error.description.hasPrefix("cannot write checkpoint: "), "\(error)")
            #expect(error.description.contains("no-such-folder/ckpt.safetensors"), "\(error)")
        }
    }
}
