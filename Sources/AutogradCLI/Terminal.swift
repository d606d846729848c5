import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writing to the terminal: standard error, and a progress bar that redraws
/// in place on a terminal and stays quiet when output goes to a file or pipe.
enum FileHandleWriter {
    static func standardError(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }

    static var standardOutputIsTerminal: Bool { isatty(STDOUT_FILENO) != 0 }
}

struct ProgressBar {
    let width = 30
    let enabled = FileHandleWriter.standardOutputIsTerminal

    /// Redraws `epoch e/E [=====>    ] step/steps  loss …` on one line.
    func update(epoch: Int, of epochs: Int, step: Int, of steps: Int, loss: Double) {
        guard enabled else { return }
        let filled = steps > 0 ? width * step / steps : width
        let bar = String(repeating: "=", count: filled) + (filled < width ? ">" : "")
            + String(repeating: " ", count: Swift.max(0, width - filled - 1))
        print("\r\u{1B}[2Kepoch \(epoch)/\(epochs) [\(bar)] \(step)/\(steps)  loss \(Fmt.fixed(loss, 4))", terminator: "")
        fflush(nil)
    }

    /// Clears the bar before a normal line is printed.
    func clear() {
        guard enabled else { return }
        print("\r\u{1B}[2K", terminator: "")
    }
}

/// Number formatting without Foundation's locale machinery.
enum Fmt {
    static func fixed(_ value: Double, _ decimals: Int) -> String {
        guard value.isFinite, Swift.abs(value) < 1e15 else { return String(value) }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let negative = value < 0
        let scaled = (Swift.abs(value) * scale).rounded()
        let whole = Int(scaled / scale)
        let fraction = Int(scaled - Double(whole) * scale)
        var text = String(whole)
        if decimals > 0 {
            let digits = String(fraction)
            text += "." + String(repeating: "0", count: decimals - digits.count) + digits
        }
        return (negative && scaled != 0 ? "-" : "") + text
    }
}
