// ReadmeBlocksTool README.md OUTPUT.swift
//
// Writes each ```swift block of the README as a function that runs it:
// `import` lines move to the top of the file, `print` is captured, and
// #sourceLocation points compiler errors at the README's own lines. A block
// that is a package manifest (`// swift-tools-version…`) is left to the
// consumer-package test (`make test-consumer`). A block whose every `print`
// starts a line records the value each line's trailing comment shows
// (`print(f.item())  // -12.0`), for the test to compare.
import Foundation

let arguments = CommandLine.arguments
guard arguments.count == 3 else {
    FileHandle.standardError.write(Data("usage: ReadmeBlocksTool README.md OUTPUT.swift\n".utf8))
    exit(64)
}
let readmePath = arguments[1]
guard let readme = try? String(contentsOfFile: readmePath, encoding: .utf8) else {
    FileHandle.standardError.write(Data("ReadmeBlocksTool: cannot read \(readmePath)\n".utf8))
    exit(1)
}

struct Block {
    let line: Int  // 1-based line of the first code line
    var code: [String] = []
}

var blocks: [Block] = []
var current: Block?
for (index, line) in readme.components(separatedBy: "\n").enumerated() {
    if current == nil, line.trimmingCharacters(in: .whitespaces) == "```swift" {
        current = Block(line: index + 2)
    } else if current != nil, line.trimmingCharacters(in: .whitespaces) == "```" {
        blocks.append(current!)
        current = nil
    } else if current != nil {
        current!.code.append(line)
    }
}

/// The Swift string literal of `text`.
func literal(_ text: String) -> String {
    "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
}

/// The value a `print(…)  // value` line promises, if the line has a comment.
func expectedOutput(_ line: String) -> String? {
    guard let range = line.range(of: "  //", options: .backwards) else { return nil }
    return line[range.upperBound...].trimmingCharacters(in: .whitespaces)
}

var imports: Set<String> = ["import Autograd"]
var functions: [String] = []
var entries: [String] = []
for block in blocks where !(block.code.first ?? "").hasPrefix("// swift-tools-version") {
    var body: [String] = []
    for line in block.code {
        if line.hasPrefix("import ") {
            imports.insert(line.trimmingCharacters(in: .whitespaces))
            body.append("")  // keeps the lines aligned with the README
        } else {
            body.append(line)
        }
    }
    let prints = block.code.filter { $0.contains("print(") }
    let checkable = !prints.isEmpty && prints.allSatisfy { $0.hasPrefix("print(") }
    let expected = checkable ? "[" + prints.map { expectedOutput($0).map(literal) ?? "nil" }.joined(separator: ", ") + "]" : "nil"
    let name = "readmeBlockAtLine\(block.line)"
    functions.append("""
    func \(name)(_ readmeOutput: ReadmeOutput) throws {
        func print(_ items: Any..., separator: String = " ", terminator: String = "\\n") {
            readmeOutput.lines.append(items.map { "\\($0)" }.joined(separator: separator))
        }
    #sourceLocation(file: \(literal(readmePath)), line: \(block.line))
    \(body.joined(separator: "\n"))
    #sourceLocation()
    }
    """)
    entries.append("    ReadmeBlock(line: \(block.line), run: \(name), expected: \(expected)),")
}

let source = """
// Generated from README.md by the ReadmeBlocks plugin at build time; edit the README.
\(imports.sorted().joined(separator: "\n"))

/// What a README block printed, one entry per `print`.
final class ReadmeOutput {
    var lines: [String] = []
}

/// A Swift block of the README: where it starts, a function that runs it,
/// and the values its `print` lines promise (nil where it promises none).
struct ReadmeBlock: Sendable, CustomStringConvertible {
    let line: Int
    let run: @Sendable (ReadmeOutput) throws -> Void
    let expected: [String?]?
    var description: String { "README.md line \\(line)" }
}

let readmeBlocks: [ReadmeBlock] = [
\(entries.joined(separator: "\n"))
]

\(functions.joined(separator: "\n\n"))

"""
do {
    try source.write(toFile: arguments[2], atomically: true, encoding: .utf8)
} catch {
    FileHandle.standardError.write(Data("ReadmeBlocksTool: cannot write \(arguments[2]): \(error)\n".utf8))
    exit(1)
}
