import AutogradOps
import AutogradTensor
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes files so that a crash never leaves a half-written one: the bytes go
/// to a temporary file in the same folder, which is flushed to disk and then
/// renamed over the destination in one step.
public enum AtomicFile {
    /// Writes `bytes` to `path` atomically. Throws ``FileError`` naming the
    /// path and the system's reason. Temporary files an earlier, killed
    /// process left for the same path (`<path>.tmp-<pid>-<n>` of a process
    /// that no longer runs) are removed first.
    public static func write(_ bytes: [UInt8], to path: String) throws(FileError) {
        let directory = parentDirectory(of: path)
        removeStaleTemporaries(of: path, in: directory)
        let temporary = "\(path).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        // Created under the lock, so removeWritesInProgress either sees it
        // or runs first and keeps it from being created.
        let fd = inProgress.withLock { state -> Int32 in
            guard !state.closed else {
                errno = ECANCELED
                return -1
            }
            let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            if fd >= 0 { state.paths.insert(temporary) }
            return fd
        }
        guard fd >= 0 else { throw FileError(path: path, reason: systemError()) }
        defer { inProgress.withLock { _ = $0.paths.remove(temporary) } }
        var written = 0
        var failure: String?
        bytes.withUnsafeBytes { buffer in
            while written < buffer.count {
                let n = Glibc.write(fd, buffer.baseAddress! + written, buffer.count - written)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = systemError()
                    return
                }
                written += n
            }
        }
        if failure == nil && fsync(fd) != 0 { failure = systemError() }
        if close(fd) != 0 && failure == nil { failure = systemError() }
        if failure == nil && rename(temporary, path) != 0 { failure = systemError() }
        if let failure {
            unlink(temporary)
            throw FileError(path: path, reason: failure)
        }
        // Make the rename itself durable.
        let dfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            fsync(dfd)
            close(dfd)
        }
    }

    /// The temporary files being written now, by any thread; once closed,
    /// no new one is started.
    private struct Writes {
        var paths: Set<String> = []
        var closed = false
    }
    private static let inProgress = Locked(Writes())

    /// Removes the temporary files of writes in progress, makes later writes
    /// fail, and returns the removed paths: for a program about to exit on a
    /// signal (SIGINT, SIGTERM), so an interrupted save leaves the previous
    /// file and no temporary behind (a write it cut short cannot rename
    /// anything over its destination). Call it from a normal thread (a
    /// `DispatchSource` signal handler), not from a C signal handler.
    @discardableResult
    public static func removeWritesInProgress() -> [String] {
        inProgress.withLock { state in
            state.closed = true
            for path in state.paths { unlink(path) }
            defer { state.paths.removeAll() }
            return Array(state.paths)
        }
    }

    /// Writes UTF-8 text to `path` atomically.
    public static func write(_ text: String, to path: String) throws(FileError) {
        try write(Array(text.utf8), to: path)
    }

    /// Reads a whole file. Throws ``FileError`` when it can't.
    public static func read(_ path: String) throws(FileError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileError(path: path, reason: systemError()) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw FileError(path: path, reason: systemError()) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw FileError(path: path, reason: "not a regular file") }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        var got = 0
        var failure: String?
        bytes.withUnsafeMutableBytes { buffer in
            while got < buffer.count {
                let n = Glibc.read(fd, buffer.baseAddress! + got, buffer.count - got)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = systemError()
                    return
                }
                if n == 0 { break }
                got += n
            }
        }
        if let failure { throw FileError(path: path, reason: failure) }
        return got == bytes.count ? bytes : Array(bytes[..<got])
    }

    /// Deletes `<path>.tmp-<pid>-<n>` files in `directory` whose process is
    /// gone; a live process's (this one's included) are left alone.
    private static func removeStaleTemporaries(of path: String, in directory: String) {
        let prefix = String(path.split(separator: "/", omittingEmptySubsequences: false).last ?? "") + ".tmp-"
        guard let dir = opendir(directory) else { return }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            guard name.hasPrefix(prefix) else { continue }
            let parts = name.dropFirst(prefix.count).split(separator: "-")
            guard parts.count == 2, let pid = pid_t(parts[0]), UInt32(parts[1]) != nil, pid > 0 else { continue }
            if kill(pid, 0) == -1 && errno == ESRCH {
                unlink(directory + "/" + name)
            }
        }
    }

    private static func parentDirectory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    private static func systemError() -> String { String(cString: strerror(errno)) }
}

/// A file could not be read or written.
public struct FileError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "\(path): \(reason)" }
}
