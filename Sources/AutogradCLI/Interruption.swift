import Autograd
import Dispatch
import Foundation

/// SIGINT (Ctrl-C) and SIGTERM while `train` runs: the temporary file of a
/// checkpoint being written is removed (the last complete checkpoint stays,
/// nothing half-written is left), a line says where the results are, and
/// the process exits with 128 + the signal's number, as a shell expects.
enum Interruption {
    /// The signal sources, alive for the rest of the process.
    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []

    /// Installs the handlers; `out` is the folder `train` writes.
    static func install(out: String) {
        for (number, name) in [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")] {
            // Dispatch delivers the signal to a normal thread, where removing
            // files and printing are safe (they are not in a signal handler).
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                let removed = AtomicFile.removeWritesInProgress()
                let note = removed.isEmpty ? "" : " (an unfinished write was removed)"
                FileHandleWriter.standardError("\ninterrupted by \(name): \(out) holds the last completed epoch's files\(note)\n")
                // _exit, not exit: exit's handlers would free the libraries'
                // state (OpenBLAS's buffers) while the main thread still
                // computes with it.
                fflush(nil)
                _exit(128 + number)
            }
            source.resume()
            sources.append(source)
        }
    }
}
