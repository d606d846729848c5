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

/// The training progress bar: on a terminal it redraws one line in place,
/// fitted to the terminal's width (`COLUMNS`, else the window size, else 80),
/// with the rate in samples/s and the time left for the whole run; it stays
/// quiet when output goes to a file or pipe.
final class ProgressBar {
    let enabled: Bool
    let columns: Int
    private let batchSize: Int
    private var epochStarted = ContinuousClock.now

    init(batchSize: Int, enabled: Bool = FileHandleWriter.standardOutputIsTerminal) {
        self.enabled = enabled
        self.batchSize = batchSize
        columns = ProgressBar.terminalColumns()
    }

    /// Starts an epoch's clock, for its rate and the time left.
    func beginEpoch() { epochStarted = .now }

    /// Redraws `epoch e/E [=====>    ] step/steps  loss …  ETA …  N/s` on one line.
    func update(epoch: Int, of epochs: Int, step: Int, of steps: Int, loss: Double) {
        guard enabled else { return }
        let elapsed = (ContinuousClock.now - epochStarted).components
        let seconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
        let perStep = step > 0 && seconds > 0 ? seconds / Double(step) : nil
        let eta = perStep.map { Double((steps - step) + steps * (epochs - epoch)) * $0 }
        let rate = perStep.map { Double(batchSize) / $0 }
        let line = ProgressBar.line(epoch: epoch, epochs: epochs, step: step, steps: steps, loss: loss,
                                    samplesPerSecond: rate, secondsLeft: eta, columns: columns)
        print("\r\u{1B}[2K" + line, terminator: "")
        fflush(nil)
    }

    /// Clears the bar before a normal line is printed.
    func clear() {
        guard enabled else { return }
        print("\r\u{1B}[2K", terminator: "")
    }

    /// The bar's text, at most `columns - 1` characters (the last column is
    /// left free so the line never wraps): the bar shrinks first, then goes,
    /// then the text is cut.
    static func line(epoch: Int, epochs: Int, step: Int, steps: Int, loss: Double,
                     samplesPerSecond: Double?, secondsLeft: Double?, columns: Int) -> String {
        let head = "epoch \(epoch)/\(epochs) "
        var tail = " \(step)/\(steps)  loss \(Fmt.fixed(loss, 4))"
        if let secondsLeft { tail += "  ETA " + duration(secondsLeft) }
        if let samplesPerSecond { tail += "  " + compact(samplesPerSecond) + "/s" }
        let room = columns - 1 - head.count - tail.count - 2
        var text = head
        if room >= 5 {
            let width = Swift.min(room, 30)
            let filled = steps > 0 ? width * step / steps : width
            text += "[" + String(repeating: "=", count: filled) + (filled < width ? ">" : "")
                + String(repeating: " ", count: Swift.max(0, width - filled - 1)) + "]"
        }
        text += tail
        return String(text.prefix(Swift.max(0, columns - 1)))
    }

    /// 950, 12.3K, 4.5M.
    static func compact(_ value: Double) -> String {
        value >= 1e6 ? Fmt.fixed(value / 1e6, 1) + "M" : value >= 1e4 ? Fmt.fixed(value / 1e3, 1) + "K" : Fmt.fixed(value, 0)
    }

    /// 42s, 3m05s, 2h07m.
    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m" + (s % 60 < 10 ? "0" : "") + "\(s % 60)s" }
        return "\(s / 3600)h" + ((s % 3600) / 60 < 10 ? "0" : "") + "\((s % 3600) / 60)m"
    }

    /// COLUMNS when set, else the terminal's width, else 80.
    static func terminalColumns() -> Int {
        if let text = ProcessInfo.processInfo.environment["COLUMNS"], let n = Int(text), n > 0 { return n }
        var size = winsize()
        if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        return 80
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
