import Foundation
import Testing

/// The README's Swift blocks, compiled from README.md itself (the
/// ReadmeBlocks plugin) and run here, each in a temporary folder: an example
/// that stops compiling fails the build, one that stops running or printing
/// what its comments say fails this suite.
@Suite("README", .serialized)
struct ReadmeTests {
    @Test("each Swift block of README.md runs and prints what it says", arguments: readmeBlocks)
    func block(_ block: ReadmeBlock) throws {
        let output = ReadmeOutput()
        let folder = NSTemporaryDirectory() + "autograd-readme-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let previous = FileManager.default.currentDirectoryPath
        try #require(FileManager.default.changeCurrentDirectoryPath(folder))
        defer {
            _ = FileManager.default.changeCurrentDirectoryPath(previous)
            try? FileManager.default.removeItem(atPath: folder)
        }
        try block.run(output)
        guard let expected = block.expected else { return }
        try #require(output.lines.count == expected.count, "\(block): \(output.lines.count) lines printed, \(expected.count) print calls")
        for (printed, promised) in zip(output.lines, expected) {
            if let promised { #expect(printed == promised, "\(block)") }
        }
    }

    /// The three examples (a gradient, training, a compiled step) are all
    /// found; the package-manifest block is the consumer test's.
    @Test func everyExampleIsFound() {
        #expect(readmeBlocks.count >= 3, "\(readmeBlocks.map(\.line))")
        #expect(readmeBlocks.contains { $0.expected?.contains("-12.0") == true })
    }
}
