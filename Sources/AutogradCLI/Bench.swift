import AllocationCounter
import ArgumentParser
import Autograd
import CKernels
import Foundation

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure kernels, the eager engine and training throughput.",
        discussion: """
            Each figure is the median of several timed repetitions after a warm-up. The run also \
            measures the machine: the estimated peak (threads × the ISA level's single-precision FLOP \
            per cycle × the measured clock), one thread's memcpy, and the all-thread copy and read \
            bandwidth. GEMMs print their share of the peak (never above 100%) and which \
            implementation ran; memory-bound workloads their multiple of the all-thread copy.
            """)

    @Option(help: "Only workloads whose name matches this regular expression.")
    var filter: String?

    @Option(parsing: .unconditional, help: "Threads for the kernels and OpenBLAS (default: all cores).")
    var threads: Int?

    @Flag(help: "One JSON object per line, with name, value and unit.")
    var json = false

    @Option(parsing: .unconditional, help: "Timed repetitions per workload (the median is reported).")
    var repetitions = 7

    func validate() throws {
        try validateThreads(threads)
        guard repetitions > 0 else { throw ValidationError("--repetitions must be positive") }
        if let filter, (try? Regex(filter)) == nil {
            throw ValidationError("--filter '\(filter)' is not a valid regular expression")
        }
    }

    func run() throws {
        if let threads { Kernels.threadCount = threads }
        let regex = try filter.map { try Regex($0) }
        let machine = Machine.measure(threads: Kernels.threadCount)
        var runner = Runner(repetitions: repetitions, json: json, machine: machine)
        if !json {
            print("machine: \(Kernels.threadCount) threads, clock ≈ \(Fmt.fixed(machine.clockHz / 1e9, 2)) GHz, "
                  + "ISA \(machine.isa) (\(Int(machine.flopsPerCycle)) f32 FLOP/cycle/core; CPU has \(Kernels.supportedISA) "
                  + "on \(machine.datapathBits)-bit FMA pipes), "
                  + "peak ≈ \(Fmt.fixed(machine.peakFlops / 1e9, 1)) GFLOP/s (f32), "
                  + "memcpy \(Fmt.fixed(machine.memcpyBytesPerSecond / 1e9, 1)) GB/s (1 thread), "
                  + "copy \(Fmt.fixed(machine.copyBytesPerSecond / 1e9, 1)) GB/s, read \(Fmt.fixed(machine.readBytesPerSecond / 1e9, 1)) GB/s (all threads)")
            print(Runner.header)
        }
        for workload in Workloads.all(machine: machine) {
            if let regex, (try? regex.firstMatch(in: workload.name)) == nil { continue }
            runner.report(workload)
        }
        if runner.exceededPeak {
            print("* above the peak estimated from the clock measured at the start: the clock read low")
        }
    }
}

/// The machine's limits, measured at the start of the run.
struct Machine {
    let clockHz: Double
    let threads: Int
    /// One thread's libc memcpy of 16M floats (bytes read + written per second).
    let memcpyBytesPerSecond: Double
    /// The same copy split over all `threads` (the kernels' pool): the
    /// bandwidth limit out-of-cache kernels are compared with.
    let copyBytesPerSecond: Double
    /// A read-only pass over 16M floats on all threads.
    let readBytesPerSecond: Double
    /// The kernels' instruction set in this run.
    var isa: Kernels.ISA { Kernels.isa }
    /// Single-precision FLOP per cycle per core at that level: two FMA pipes
    /// of the level's vector width, or of the CPU's datapath where that is
    /// narrower (AMD Zen 4 runs AVX-512 on 256-bit pipes), two SSE pipes
    /// when portable.
    var flopsPerCycle: Double { Double(ag_f32_flops_per_cycle()) }
    /// The vector width of the CPU's FMA pipes, in bits.
    var datapathBits: Int { Int(ag_fma_datapath_bits()) }
    /// Float32 peak of `threads` cores; float64's is half.
    var peakFlops: Double { Double(threads) * flopsPerCycle * clockHz }

    static func measure(threads: Int) -> Machine {
        // The median of short samples: one that is preempted, or taken before
        // the core leaves a low-power state, reads low.
        var clocks = (0..<9).map { _ in ag_estimate_clock_hz(0.02) }
        clocks.sort()
        let clock = clocks[clocks.count / 2]
        let n = 16 << 20
        let src = UnsafeMutablePointer<Float>.allocate(capacity: n), dst = UnsafeMutablePointer<Float>.allocate(capacity: n)
        defer { src.deallocate(); dst.deallocate() }
        src.initialize(repeating: 1, count: n)
        dst.initialize(repeating: 0, count: n)
        let seconds = Timer.median(repetitions: 7) { memcpy(dst, src, n * 4) }
        var job = Bandwidth(src: UnsafeRawPointer(src), dst: UnsafeMutableRawPointer(dst))
        let copySeconds = Timer.median(repetitions: 7) { job.run(n, Bandwidth.copy) }
        let readSeconds = Timer.median(repetitions: 7) { job.run(n, Bandwidth.read) }
        return Machine(clockHz: clock, threads: threads, memcpyBytesPerSecond: Double(n * 8) / seconds,
                       copyBytesPerSecond: Double(n * 8) / copySeconds, readBytesPerSecond: Double(n * 4) / readSeconds)
    }
}

/// Passes over float arrays split across the kernels' thread pool, in chunks.
struct Bandwidth {
    let src: UnsafeRawPointer
    let dst: UnsafeMutableRawPointer
    var sink: Float = 0

    mutating func run(_ count: Int, _ body: ag_range_fn) {
        withUnsafeMutablePointer(to: &self) { ag_parallel_for(count, 1 << 16, body, $0) }
    }

    /// dst[begin..<end] = src[begin..<end].
    static let copy: ag_range_fn = { context, begin, end in
        let job = context!.assumingMemoryBound(to: Bandwidth.self)
        memcpy(job.pointee.dst + begin * 4, job.pointee.src + begin * 4, (end - begin) * 4)
    }

    /// Sums src[begin..<end] sixteen lanes at a time (kept, so the loads stay).
    static let read: ag_range_fn = { context, begin, end in
        let job = context!.assumingMemoryBound(to: Bandwidth.self)
        let x = job.pointee.src.assumingMemoryBound(to: Float.self)
        var acc = SIMD16<Float>()
        var i = begin
        while i + 16 <= end {
            acc += UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self)
            i += 16
        }
        if acc.sum() == .infinity { job.pointee.sink = 1 }
    }
}

/// Median wall time of a closure, calibrated so each timed repetition lasts a few milliseconds.
enum Timer {
    static func median(repetitions: Int, minimumSeconds: Double = 0.005, _ body: () -> Void) -> Double {
        body()  // warm-up
        var calls = 1
        while true {
            let start = ag_now_seconds()
            for _ in 0..<calls { body() }
            let elapsed = ag_now_seconds() - start
            if elapsed >= minimumSeconds || calls >= 1 << 20 { break }
            calls *= elapsed > 0 ? Swift.max(2, Int(minimumSeconds / elapsed * 1.2)) : 2
        }
        var samples: [Double] = []
        for _ in 0..<repetitions {
            let start = ag_now_seconds()
            for _ in 0..<calls { body() }
            samples.append((ag_now_seconds() - start) / Double(calls))
        }
        samples.sort()
        return samples[samples.count / 2]
    }
}

/// One figure the runner reports.
struct Workload {
    /// What the second figure a workload returns is.
    enum Comparison {
        /// A share of the machine's peak: printed as a percentage, never above
        /// 100% (a higher one means the clock read low, and says so).
        case shareOfPeak
        /// A share of the all-thread copy bandwidth (bytes read and written),
        /// which a kernel whose data partly stays in cache can exceed: printed as "0.85× copy".
        case timesCopy
    }

    let name: String
    let unit: String
    var comparison = Comparison.shareOfPeak
    /// Printed after the figures in the table: which implementation ran.
    var note: String?
    /// Measures and returns (value, its comparison with the machine or nil).
    let measure: (Int) -> (Double, Double?)
}

struct Runner {
    let repetitions: Int
    let json: Bool
    let machine: Machine
    /// Whether a share of peak came out above 100% (shown as ">100%*").
    private(set) var exceededPeak = false

    init(repetitions: Int, json: Bool, machine: Machine) {
        self.repetitions = repetitions
        self.json = json
        self.machine = machine
    }

    static let header = pad("workload", 30) + pad("value", 14, right: true) + "  " + pad("unit", 10)
        + pad("of peak / copy", 18, right: true)

    static func pad(_ s: String, _ width: Int, right: Bool = false) -> String {
        let fill = String(repeating: " ", count: Swift.max(0, width - s.count))
        return right ? fill + s : s + fill
    }

    mutating func report(_ w: Workload) {
        let (value, share) = w.measure(repetitions)
        if json {
            let number = value.isFinite ? String(value) : "null"
            print("{\"name\": \"\(w.name)\", \"value\": \(number), \"unit\": \"\(w.unit)\"}")
        } else {
            let shown = value >= 100 ? Fmt.fixed(value, 1) : Fmt.fixed(value, 3)
            var compared = ""
            if let share {
                switch w.comparison {
                case .shareOfPeak:
                    if share > 1 { exceededPeak = true }
                    compared = share > 1 ? ">100%*" : Fmt.fixed(share * 100, 1) + "%"
                case .timesCopy:
                    compared = Fmt.fixed(share, 2) + "× copy"
                }
            }
            print(Runner.pad(w.name, 30) + Runner.pad(shown, 14, right: true) + "  " + Runner.pad(w.unit, 10)
                  + Runner.pad(compared, 18, right: true) + (w.note.map { "  " + $0 } ?? ""))
        }
        fflush(nil)
    }
}
