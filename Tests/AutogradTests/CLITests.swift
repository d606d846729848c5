import Autograd
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing

/// The `autograd` command, run as a user would: a child process of the
/// binary SwiftPM built next to this test bundle.
@Suite("autograd command")
struct CLITests {
    struct Run {
        let status: Int32
        let output: String
        let error: String
        var lastLine: String { output.split(separator: "\n").last.map(String.init) ?? "" }
    }

    static let binary: String = {
        let testBinary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        return testBinary.deletingLastPathComponent().appendingPathComponent("autograd").path
    }()

    func autograd(_ arguments: String...) throws -> Run { try autograd(arguments) }

    func autograd(_ arguments: [String]) throws -> Run {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "autograd not built at \(Self.binary)")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let output = out.fileHandleForReading.readDataToEndOfFile()
        let error = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, output: String(decoding: output, as: UTF8.self),
                   error: String(decoding: error, as: UTF8.self))
    }

    @Test func trainWritesEverythingAndEvalAgrees() throws {
        let folder = TemporaryFolder()
        let train = try autograd("train", "--dataset", "xor", "--model", "mlp:8", "--epochs", "20", "--samples", "200",
                                 "--out", folder.path, "--threads", "1")
        #expect(train.status == 0, "\(train.error)")
        #expect(train.lastLine.hasPrefix("test accuracy: 0."))
        #expect(!train.output.contains("\r"), "no progress bar when output is not a terminal")
        #expect(folder.contents() == ["boundary.svg", "checkpoint.safetensors", "curves.svg", "metrics.csv"])
        let metrics = try String(contentsOfFile: folder.file("metrics.csv"), encoding: .utf8).split(separator: "\n")
        #expect(metrics.count == 21)
        #expect(metrics[0] == "epoch,train_loss,train_accuracy,test_loss,test_accuracy,learning_rate,seconds")
        let svg = try String(contentsOfFile: folder.file("boundary.svg"), encoding: .utf8)
        #expect(svg.hasPrefix("<svg") && svg.contains("<circle"))
        for label in ["class 0", "class 1", "train points", "test points"] { #expect(svg.contains(">\(label)<"), "legend") }
        // Axis ticks are round: each axis's labels (an increasing run of numbers) step evenly by
        // 1, 2 or 5 times a power of ten.
        let curves = try String(contentsOfFile: folder.file("curves.svg"), encoding: .utf8)
        for picture in [svg, curves] {
            let labels = picture.matches(of: /<text[^>]*>(-?[0-9.]+)<\/text>/).compactMap { Double($0.1) }
            var axes: [[Double]] = []
            for v in labels {
                if let last = axes.last?.last, v > last { axes[axes.count - 1].append(v) } else { axes.append([v]) }
            }
            #expect(axes.count >= 2 && axes.allSatisfy { $0.count >= 2 }, "\(axes)")
            for ticks in axes where ticks.count >= 2 {
                let step = ticks[1] - ticks[0]
                let mantissa = step / Foundation.pow(10, Foundation.floor(Foundation.log10(step) + 1e-9))
                #expect([1.0, 2, 5].contains { Swift.abs(mantissa - $0) < 1e-6 }, "ticks \(ticks)")
                #expect(zip(ticks, ticks.dropFirst()).allSatisfy { Swift.abs($1 - $0 - step) < 1e-9 }, "ticks \(ticks)")
            }
        }

        let eval = try autograd("eval", "--checkpoint", folder.file("checkpoint.safetensors"))
        #expect(eval.status == 0, "\(eval.error)")
        #expect(eval.lastLine == train.lastLine, "eval reproduces the final test accuracy")
    }

    /// On a terminal (a pseudo-terminal from script(1)) the progress bar fits
    /// COLUMNS and shows the time left and the rate; curves.svg is written
    /// after every epoch.
    @Test(arguments: [40, 120])
    func progressBarFitsTheTerminal(_ columns: Int) throws {
        let script = "/usr/bin/script"
        try #require(FileManager.default.isExecutableFile(atPath: script), "script(1) is needed for a terminal")
        let folder = TemporaryFolder()
        let command = "COLUMNS=\(columns) \(CLITests.binary) train --dataset xor --epochs 2 --samples 400 --batch-size 8 "
            + "--threads 1 --out \(folder.path)"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: script)
        process.arguments = ["-q", "-e", "-c", command, "/dev/null"]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        try process.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(text)")
        let updates = text.components(separatedBy: "\r\u{1B}[2K").dropFirst()
            .map { $0.components(separatedBy: "\r\n")[0] }.filter { $0.hasPrefix("epoch ") && !$0.contains("train loss") }
        #expect(updates.count >= 40, "one update per step")
        for line in updates { #expect(line.count <= columns - 1, "\(line.count) > \(columns - 1): \(line)") }
        #expect(updates.dropFirst().allSatisfy { $0.contains("ETA ") }, "\(updates.prefix(3))")
        if columns >= 100 { #expect(updates.allSatisfy { $0.contains("[") && $0.contains("/s") }) }
        #expect(folder.contents().contains("curves.svg"))
    }

    @Test func graphWritesDOTAndSVG() throws {
        let folder = TemporaryFolder()
        let dot = try autograd("graph", "--model", "mlp:8,4", "--inputs", "3", "--classes", "3", "--out", folder.file("step.dot"))
        #expect(dot.status == 0, "\(dot.error)")
        #expect(dot.lastLine.contains("arena"))
        let text = try String(contentsOfFile: folder.file("step.dot"), encoding: .utf8)
        #expect(text.hasPrefix("digraph") && text.contains("linear+relu") && text.contains("sgd.update[0]"))
        for entry in ["forward", "reverse pass", "update", "recomputed"] {
            #expect(text.contains("label=\"\(entry)\""), "the colour legend names \(entry)")
        }
        let eager = try autograd("graph", "--eager", "--out", folder.file("tape.dot"))
        #expect(eager.status == 0)
        let tape = try String(contentsOfFile: folder.file("tape.dot"), encoding: .utf8)
        #expect(tape.contains("crossEntropy"))
        let bad = try autograd("graph", "--out", folder.file("step.png"))
        #expect(bad.status == 64 && bad.error.contains("--out must end in .dot or .svg"))
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/dot") {
            let svg = try autograd("graph", "--checkpointing", "--out", folder.file("step.svg"))
            #expect(svg.status == 0, "\(svg.error)")
            let picture = try String(contentsOfFile: folder.file("step.svg"), encoding: .utf8)
            #expect(picture.contains("<svg"))
        }
    }

    /// On a terminal (a pseudo-terminal made by util-linux's `script`) each
    /// epoch shows a progress bar redrawn in place.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/script")))
    func progressBarOnATerminal() throws {
        let folder = TemporaryFolder()
        let command = "\(Self.binary) train --dataset xor --epochs 2 --samples 100 --batch-size 20 --out \(folder.path)"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        process.arguments = ["-qec", command, "/dev/null"]
        let out = Pipe()
        process.standardOutput = out
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(text.contains("\r\u{1B}[2Kepoch 1/2 [=========="))
        #expect(text.contains("] 4/4  loss "))
        #expect(text.contains("test accuracy: "))
    }

    /// Into a pipe, each epoch's line arrives when the epoch ends, not at exit.
    @Test func epochLinesReachAPipeAsTheyHappen() throws {
        let folder = TemporaryFolder()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        // 400 epochs take about a minute: long enough to still run, bounded if the line never comes early.
        process.arguments = ["train", "--epochs", "400", "--out", folder.path, "--threads", "1"]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        var text = ""
        while !text.contains("1/400  train loss") {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        #expect(text.contains("1/400  train loss"), "\(text)")
        #expect(process.isRunning, "the line came before the end of training")
        process.terminate()
        process.waitUntilExit()
    }

    @Test func digitsReachNinetyFivePercent() throws {
        let folder = TemporaryFolder()
        let run = try autograd("train", "--epochs", "8", "--out", folder.path)
        #expect(run.status == 0, "\(run.error)")
        let accuracy = try #require(Double(run.lastLine.replacingOccurrences(of: "test accuracy: ", with: "")))
        #expect(accuracy >= 0.95)
        #expect(!folder.contents().contains("boundary.svg"), "no boundary picture for 64-D data")
    }

    /// Ctrl-C or SIGTERM mid-training exits with 128 + the signal, says so,
    /// and leaves complete files and no temporary one, whenever it lands
    /// (several delays, so some land while a 13 MB checkpoint is written).
    @Test(arguments: [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")])
    func interruptedTrainingLeavesCompleteFiles(_ signal: Int32, _ name: String) throws {
        for delay in [0.0, 0.05, 0.15] {
            let folder = TemporaryFolder()
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Self.binary)
            process.arguments = ["train", "--model", "mlp:1024,1024", "--epochs", "50", "--threads", "1", "--out", folder.path]
            let err = Pipe()
            process.standardOutput = FileHandle.nullDevice
            process.standardError = err
            try process.run()
            let checkpoint = folder.file("checkpoint.safetensors")
            let deadline = Date().addingTimeInterval(60)
            while !FileManager.default.fileExists(atPath: checkpoint) && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
            Thread.sleep(forTimeInterval: delay)
            kill(process.processIdentifier, signal)
            let error = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationReason == .exit && process.terminationStatus == 128 + signal, "\(name) after \(delay) s: \(error)")
            #expect(error.contains("interrupted by \(name)"), "\(error)")
            #expect(!folder.contents().contains { $0.contains(".tmp-") }, "\(folder.contents())")
            #expect(throws: Never.self) { try SafeTensors.load(from: checkpoint) }
        }
    }

    /// After a convolutional model, train also draws the first layer's
    /// filters and the test confusion matrix with the class names.
    @Test func trainingAConvNetDrawsFiltersAndTheConfusionMatrix() throws {
        let folder = TemporaryFolder()
        let train = try autograd("train", "--dataset", "digits", "--model", "cnn:4", "--epochs", "1", "--out", folder.path,
                                 "--threads", "1")
        #expect(train.status == 0, "\(train.error)")
        #expect(folder.contents() == ["checkpoint.safetensors", "confusion.svg", "curves.svg", "filters.svg", "metrics.csv"])
        #expect(train.output.contains("/filters.svg, ") && train.output.contains("/confusion.svg, "))
        for name in ["filters.svg", "confusion.svg"] {
            let data = try #require(FileManager.default.contents(atPath: folder.file(name)))
            #expect(String(decoding: data, as: UTF8.self).hasPrefix("<svg"), "\(name)")
            let parser = XMLParser(data: data)
            #expect(parser.parse(), "\(name) is well-formed XML: \(String(describing: parser.parserError))")
        }
        let filters = try String(contentsOfFile: folder.file("filters.svg"), encoding: .utf8)
        #expect(filters.contains(">4 filters of 1×3×3"), "the title says what the grid shows")
        #expect(filters.components(separatedBy: "<rect ").count - 1 >= 1 + 4 * 9 + 4, "a square per weight and a frame per tile")
        let confusion = try String(contentsOfFile: folder.file("confusion.svg"), encoding: .utf8)
        for label in ["true class", "predicted class"] + (0...9).map(String.init) {
            #expect(confusion.contains(">\(label)</text>"), "\(label)")
        }
        // The cells' counts add up to the test set: the 20% of the 1,797 digits held out.
        let counts = confusion.matches(of: /text-anchor="middle" fill="(?:white|black)">(\d+)</).compactMap { Int($0.1) }
        #expect(counts.count == 100 && counts.reduce(0, +) == 359, "\(counts.count) cells")
    }

    /// A number as the summary prints it: 61706 → "61,706".
    static func grouped(_ n: Int) -> String {
        String(n).reversed().enumerated().reduce(into: "") { out, pair in
            if pair.offset > 0 && pair.offset % 3 == 0 { out.append(",") }
            out.append(pair.element)
        }.reversed().map(String.init).joined()
    }

    /// LeNet-5's totals, worked out here from its layers' shapes: parameters
    /// are weights plus biases, FLOPs 2 per multiply-add of the convolutions
    /// and Linear layers, 1 per ReLU output and 4 per 2×2 pooling output.
    @Test func summaryOfLeNet5HasItsTotals() throws {
        let run = try autograd("summary", "--model", "lenet5", "--input", "1x28x28")
        #expect(run.status == 0, "\(run.error)")
        let convolutions: [(k: Int, c: Int, r: Int, s: Int)] = [(6, 1, 5, 5), (16, 6, 5, 5)]
        let linears: [(inputs: Int, outputs: Int)] = [(400, 120), (120, 84), (84, 10)]
        let convParameters: Int = convolutions.map { $0.k * $0.c * $0.r * $0.s + $0.k }.reduce(0, +)
        let parameters: Int = convParameters + linears.map { $0.inputs * $0.outputs + $0.outputs }.reduce(0, +)
        #expect(parameters == 61_706)
        let convMultiplyAdds: Int = 6 * 1 * 25 * 28 * 28 + 16 * 6 * 25 * 10 * 10
        let multiplyAdds: Int = convMultiplyAdds + 400 * 120 + 120 * 84 + 84 * 10
        let elementwise: Int = 6 * 28 * 28 + 4 * 6 * 14 * 14 + 16 * 10 * 10 + 4 * 16 * 5 * 5 + 120 + 84
        let flops = 2 * multiplyAdds + elementwise
        #expect(run.output.contains("Total params: \(Self.grouped(parameters))\n"), "\(run.output)")
        #expect(run.output.contains("Trainable params: \(Self.grouped(parameters))\n"))
        #expect(run.output.contains("Total FLOPs: 0.85 MFLOPs per sample (\(Self.grouped(flops)))"), "\(run.output)")
        #expect(run.output.contains("Parameter memory: 0.24 MiB"))
        // One row per layer, with its description, output shape (batch 1), parameters and FLOPs.
        let conv1 = try #require(run.output.split(separator: "\n").first { $0.contains("0: Conv2d(1→6, 5×5, padding 2)") })
        #expect(conv1.contains("[1, 6, 28, 28]") && conv1.contains(" 156 ") && conv1.hasSuffix(" \(Self.grouped(2 * 6 * 25 * 28 * 28))"))
        #expect(run.output.contains("[1, 16, 5, 5]") && run.output.contains("Linear(400→120)"))
    }

    @Test func summaryOfAConvNetSpecAndAnMLP() throws {
        let cnn = try autograd("summary", "--model", "cnn:8,16", "--input", "3x32x32", "--classes", "5")
        #expect(cnn.status == 0, "\(cnn.error)")
        // Convolutions without bias, batch norm's scale and shift, then Linear(16·16·16→128) and Linear(128→5).
        let features: Int = 8 * 3 * 9 + 2 * 8 + 16 * 8 * 9 + 2 * 16
        let parameters: Int = features + (4096 * 128 + 128) + (128 * 5 + 5)
        #expect(cnn.output.contains("Total params: \(Self.grouped(parameters))\n"), "\(cnn.output)")
        #expect(cnn.output.contains("Buffers (not trained): 50\n"), "running mean and variance of 8 + 16 channels, and two batch counters")
        #expect(cnn.output.contains("BatchNorm2d(16)") && cnn.output.contains("[1, 16, 16, 16]") && cnn.output.contains("[1, 5]"))
        let mlp = try autograd("summary", "--model", "mlp:32", "--input", "64")
        #expect(mlp.status == 0, "\(mlp.error)")
        #expect(mlp.output.contains("Total params: \(Self.grouped(64 * 32 + 32 + 32 * 10 + 10))\n"), "\(mlp.output)")
        #expect(mlp.output.contains("Total FLOPs: 4.77 KFLOPs per sample (\(Self.grouped(2 * 64 * 32 + 32 + 2 * 32 * 10)))"))
    }

    /// AlexNet's summary at 224×224, and a data set whose images are too small for it.
    @Test func alexNetSummaryAndTooSmallImages() throws {
        let run = try autograd("summary", "--model", "alexnet", "--input", "3x224x224", "--classes", "1000")
        #expect(run.status == 0, "\(run.error)")
        #expect(run.output.contains("Total params: 61,100,840\n"), "torchvision's count")
        #expect(run.output.contains("[1, 256, 6, 6]") && run.output.contains("Linear(9216→4096)"))
        let folder = TemporaryFolder()
        let train = try autograd("train", "--model", "alexnet", "--epochs", "1", "--out", folder.path)
        #expect(train.status == 1 && train.error.contains("alexnet does not fit digits's 1×8×8 images"), "\(train.error)")
    }

    /// An input a layer refuses is an error naming the layer and the shapes, not a crash.
    @Test func summaryRefusesBadInputsWithTheReason() throws {
        let small = try autograd("summary", "--model", "lenet5", "--input", "1x8x8")
        #expect(small.status == 1, "\(small.error)")
        // The first line exactly (a sanitizer's leak report may follow it).
        #expect(small.error.hasPrefix("error: Conv2d(6→16, 5×5): input [1, 6, 4, 4] is smaller than the kernel's "
                + "reach 5×5 (with padding 0); the output would be empty\n"), "\(small.error)")
        let word = try autograd("summary", "--model", "lenet5", "--input", "1xbig")
        #expect(word.status == 64 && word.error.contains("--input must be sizes of at least 1 separated by x"), "\(word.error)")
        let flat = try autograd("summary", "--model", "cnn:8", "--input", "64")
        #expect(flat.status == 64 && flat.error.contains("--input for cnn:8 is C×H×W"), "\(flat.error)")
    }

    @Test func badFlagsAndDatasetsAreUsageErrors() throws {
        let unknownFlag = try autograd("train", "--no-such-flag")
        #expect(unknownFlag.status == 64)
        #expect(unknownFlag.error.contains("Unknown option '--no-such-flag'"))
        #expect(unknownFlag.error.contains("Usage:"))
        let unknownDataset = try autograd("train", "--dataset", "imagenet")
        #expect(unknownDataset.status == 64)
        #expect(unknownDataset.error.contains("imagenet"))
        let badModel = try autograd("train", "--model", "mlp:12,x")
        #expect(badModel.status == 64)
        let badNumber = try autograd("train", "--lr", "0")
        #expect(badNumber.status == 64 && badNumber.error.contains("--lr must be a positive number"))
    }

    /// Negative numbers parse as values and fail validation with the reason;
    /// NaN and out-of-range values are refused before training starts.
    @Test(arguments: [
        (["train", "--lr", "-1"], "--lr must be a positive number, got -1.0"),
        (["train", "--epochs", "-1"], "--epochs must be positive"),
        (["train", "--batch-size", "-5"], "--batch-size must be positive"),
        (["train", "--threads", "-3"], "--threads must be between 1 and"),
        (["train", "--threads", "100000"], "--threads must be between 1 and"),
        (["train", "--momentum", "nan"], "--momentum must be a number ≥ 0, got nan"),
        (["train", "--momentum=-5"], "--momentum must be a number ≥ 0, got -5.0"),
        (["train", "--weight-decay", "nan"], "--weight-decay must be a number ≥ 0, got nan"),
        (["eval", "--checkpoint", "x.safetensors", "--threads", "0"], "--threads must be between 1 and"),
        (["bench", "--repetitions", "-2"], "--repetitions must be positive"),
    ])
    func badNumbersAreRefusedWithTheReason(_ arguments: [String], _ message: String) throws {
        let run = try autograd(arguments)
        #expect(run.status == 64, "\(arguments): \(run.error)")
        #expect(run.error.contains(message), "\(arguments): \(run.error)")
    }

    /// Checkpoint metadata that disagrees with the tensors in the file is an
    /// error naming the key, found before the model is built: a 1 KB file
    /// claiming `mlp:30000,30000` allocates nothing of that size.
    @Test func evalChecksMetadataAgainstTheTensorsBeforeBuilding() throws {
        let folder = TemporaryFolder()
        let train = try autograd("train", "--dataset", "xor", "--model", "mlp:8", "--epochs", "1", "--samples", "100",
                                 "--out", folder.path, "--threads", "1")
        #expect(train.status == 0, "\(train.error)")
        let (tensors, metadata) = try SafeTensors.load(from: folder.file("checkpoint.safetensors"))
        let cases: [(key: String, value: String, message: String)] = [
            ("autograd.model", "mlp:30000,30000", "needs '0.weight' of shape [30000, 2], the file has [8, 2]"),
            ("autograd.classes", "4000000000000", "needs '2.weight' of shape [4000000000000, 8], the file has [2, 8]"),
            ("autograd.model", "mlp:8,8", "needs '2.weight' of shape [8, 8], the file has [2, 8]"),
            ("autograd.model", "mlp:-3", "metadata 'autograd.model' has a bad value: 'mlp:-3'"),
            ("autograd.classes", "4e12", "metadata 'autograd.classes' has a bad value: '4e12'"),
            ("autograd.inputs", "0", "metadata 'autograd.inputs' has a bad value: '0'"),
        ]
        for c in cases {
            var edited = metadata
            edited[c.key] = c.value
            let path = folder.file("hostile.safetensors")
            try SafeTensors.save(tensors, metadata: edited, to: path)
            let eval = try autograd("eval", "--checkpoint", path)
            #expect(eval.status == 1, "\(c.key)=\(c.value): \(eval.error)")
            #expect(eval.error.contains(c.message), "\(c.key)=\(c.value): \(eval.error)")
        }
        var fewer = tensors
        fewer["2.bias"] = nil
        try SafeTensors.save(fewer, metadata: metadata, to: folder.file("hostile.safetensors"))
        let short = try autograd("eval", "--checkpoint", folder.file("hostile.safetensors"))
        #expect(short.status == 1 && short.error.contains("needs tensor '2.bias', which is not in the file"),
                "\(short.error)")
        var missing = metadata
        missing["autograd.activation"] = nil
        try SafeTensors.save(tensors, metadata: missing, to: folder.file("hostile.safetensors"))
        let eval = try autograd("eval", "--checkpoint", folder.file("hostile.safetensors"))
        #expect(eval.status == 1 && eval.error.contains("has no 'autograd.activation' in its metadata"), "\(eval.error)")
    }

    /// A model too big for the machine (or for --memory-limit) is refused,
    /// with the estimate, before anything is allocated.
    @Test func modelsBeyondMemoryAreRefusedWithTheEstimate() throws {
        let folder = TemporaryFolder()
        let huge = try autograd("train", "--model", "mlp:1000000000", "--epochs", "1", "--out", folder.path)
        #expect(huge.status == 1, "\(huge.error)")
        #expect(huge.error.contains("mlp:1000000000 on 64 inputs and 10 classes needs about"), "\(huge.error)")
        #expect(huge.error.contains("available"), "\(huge.error)")
        let limited = try autograd("train", "--model", "mlp:128", "--epochs", "1", "--memory-limit", "0.0001",
                                   "--out", folder.path)
        #expect(limited.status == 1 && limited.error.contains("more than --memory-limit 0.1 MB"), "\(limited.error)")
        #expect(folder.contents().isEmpty, "nothing written")
        let bad = try autograd("train", "--memory-limit", "-1")
        #expect(bad.status == 64 && bad.error.contains("--memory-limit must be a positive number of GB"))
    }

    /// Labels read from disk are checked against the model's class count:
    /// an error naming the file, the row and the value, not a trap.
    @Test func evalRefusesLabelsBeyondTheModelsClasses() throws {
        let folder = TemporaryFolder()
        let rows = (0..<30).map { i in "\(Double(i % 3) + 0.1 * Double(i)),\(Double(i) * 0.05),\(i % 3)" }
        try (rows.joined(separator: "\n") + "\n").write(toFile: folder.file("three.csv"), atomically: true, encoding: .utf8)
        var bad = rows
        bad[2] = "0.5,0.5,4"
        try (bad.joined(separator: "\n") + "\n").write(toFile: folder.file("bad.csv"), atomically: true, encoding: .utf8)
        let train = try autograd("train", "--dataset", "csv:" + folder.file("three.csv"), "--model", "mlp:4", "--epochs", "1",
                                 "--out", folder.path, "--threads", "1")
        #expect(train.status == 0, "\(train.error)")
        let eval = try autograd("eval", "--checkpoint", folder.file("checkpoint.safetensors"),
                                "--dataset", "csv:" + folder.file("bad.csv"))
        #expect(eval.status == 1, "\(eval.error)")
        #expect(eval.error.contains("bad.csv: data row 3 has label 4, but the model has 3 classes"), "\(eval.error)")
    }

    @Test func missingOrCorruptFilesGiveOneLineErrors() throws {
        let folder = TemporaryFolder()
        let missing = try autograd("train", "--dataset", "csv:" + folder.file("nope.csv"), "--out", folder.path)
        #expect(missing.status == 1)
        #expect(missing.error == "error: \(folder.file("nope.csv")): No such file or directory\n")
        folder.write("bad.csv", "1,2,0\n3,x,1\n")
        let corrupt = try autograd("train", "--dataset", "csv:" + folder.file("bad.csv"), "--out", folder.path)
        #expect(corrupt.status == 1)
        #expect(corrupt.error == "error: \(folder.file("bad.csv")): line 2, column 2: 'x' is not a number\n")
        let mnist = try autograd("train", "--dataset", "mnist:" + folder.path, "--out", folder.path)
        #expect(mnist.status == 1 && mnist.error.hasPrefix("error: ") && mnist.error.contains("train-images-idx3-ubyte"))
        folder.write("broken.safetensors", [200, 0, 0, 0, 0, 0, 0, 0, 123])
        let eval = try autograd("eval", "--checkpoint", folder.file("broken.safetensors"))
        #expect(eval.status == 1)
        #expect(eval.error.hasPrefix("error: corrupt checkpoint: ") && eval.error.contains("runs past the end"))
        #expect(eval.error.split(separator: "\n").count == 1)
    }

    @Test func nonFiniteLossStopsWithItsEpochAndStepAndKeepsTheLastGoodCheckpoint() throws {
        let folder = TemporaryFolder()
        // Features of ±1e30 make the first updates enormous; float32 overflows to inf and then NaN.
        folder.write("huge.csv", (0..<20).map { "\($0 % 2 == 0 ? 1e30 : -1e30),1,\($0 % 2)" }.joined(separator: "\n"))
        let out = folder.path + "/run"
        let run = try autograd("train", "--dataset", "csv:" + folder.file("huge.csv"), "--optimizer", "sgd", "--out", out)
        #expect(run.status == 1)
        let message = try #require(run.error.split(separator: "\n").first.map(String.init))
        #expect(run.error.split(separator: "\n").count == 1)
        let match = try #require(message.firstMatch(of: /^error: loss became (nan|inf|-inf) at epoch (\d+), step (\d+); stopped, (.*)$/))
        let epoch = try #require(Int(match.2))
        if epoch == 1 {
            #expect(match.4 == "no checkpoint was written")
            #expect(!FileManager.default.fileExists(atPath: out + "/checkpoint.safetensors"))
        } else {
            #expect(match.4 == "the last good checkpoint (epoch \(epoch - 1)) is \(out)/checkpoint.safetensors")
            let metadata = try SafeTensors.load(from: out + "/checkpoint.safetensors").metadata
            #expect(metadata["autograd.epoch"] == String(epoch - 1))
            // The plot of the epochs that finished is there too, matching metrics.csv.
            let curves = try String(contentsOfFile: out + "/curves.svg", encoding: .utf8)
            #expect(curves.hasPrefix("<svg"))
        }
    }
}

@Suite("autograd bench")
struct BenchCommandTests {
    @Test func jsonLinesWithTheWorkloadNames() throws {
        let run = try CLITests().autograd("bench", "--json", "--repetitions", "1", "--filter",
                                          "^(gemm_f32_32|cblas_sgemm_32|add_f32_4K|eager_overhead|allocs_per_step_mlp_mnist|memcpy_16M)$")
        #expect(run.status == 0, "\(run.error)")
        let lines = run.output.split(separator: "\n")
        let objects = try lines.map { line in
            try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
        #expect(objects.map { $0["name"] as? String } == ["gemm_f32_32", "cblas_sgemm_32", "memcpy_16M", "add_f32_4K",
                                                          "eager_overhead", "allocs_per_step_mlp_mnist"])
        #expect(objects.map { $0["unit"] as? String } == ["GFLOP/s", "GFLOP/s", "GB/s", "Gelem/s", "µs/op", "count"])
        for object in objects {
            let value = try #require(object["value"] as? Double)
            #expect(value.isFinite && value >= 0)
        }
    }

    /// Shares of peak never print above 100%; memory-bound workloads print a
    /// multiple of memcpy, which a two-thread kernel may exceed.
    @Test func noShareAboveOneHundredPercent() throws {
        let run = try CLITests().autograd("bench", "--repetitions", "1", "--filter", "^(gemm_f32_64|add_f32_16M)$")
        #expect(run.status == 0, "\(run.error)")
        let rows = run.output.split(separator: "\n").filter { $0.hasPrefix("gemm_f32_64") || $0.hasPrefix("add_f32_16M") }
        #expect(rows.count == 2)
        for row in rows {
            if let percent = row.split(separator: " ").last(where: { $0.hasSuffix("%") }) {
                let value = try #require(Double(percent.dropLast()), "\(row)")
                #expect(value <= 100, "\(row)")
            }
        }
        #expect(rows.last?.hasSuffix("× copy") == true, "\(rows)")
    }

    @Test func tableHasTheMachineLine() throws {
        let run = try CLITests().autograd("bench", "--repetitions", "1", "--filter", "^add_f32_4K$")
        #expect(run.status == 0)
        #expect(run.output.hasPrefix("machine: "))
        #expect(run.output.contains("peak ≈") && run.output.contains("memcpy"))
        #expect(run.lastLine.hasPrefix("add_f32_4K"))
        let bad = try CLITests().autograd("bench", "--filter", "(")
        #expect(bad.status == 64 && bad.error.contains("is not a valid regular expression"))
    }
}
