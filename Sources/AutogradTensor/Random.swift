import Foundation

/// A fast, seedable random number generator (xoshiro256**), so that runs repeat.
///
/// ```swift
/// var rng = RandomGenerator(seed: 42)
/// let w = Tensor.randn([3, 3], using: &rng)
/// ```
public struct RandomGenerator: RandomNumberGenerator, Sendable {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    /// A generator whose sequence is fixed by `seed`.
    public init(seed: UInt64) {
        // SplitMix64 spreads the seed over the four state words.
        var x = seed
        func next() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s = (next(), next(), next(), next())
    }

    public mutating func next() -> UInt64 {
        let result = rotl(s.1 &* 5, 7) &* 9
        let t = s.1 << 17
        s.2 ^= s.0
        s.3 ^= s.1
        s.1 ^= s.2
        s.0 ^= s.3
        s.2 ^= t
        s.3 = rotl(s.3, 45)
        return result
    }

    private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// A uniform double in [0, 1) with 53 random bits.
    package mutating func unitDouble() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// A standard normal sample (Box–Muller).
    package mutating func standardNormal() -> Double {
        var u = unitDouble()
        while u == 0 { u = unitDouble() }
        let v = unitDouble()
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
    }
}

/// The process-wide generator used when no generator is passed; reseed with ``manualSeed(_:)``.
private let defaultGenerator = Locked(RandomGenerator(seed: 0x5EED))

/// The generator of the innermost ``withManualSeed(_:_:)`` on this task, if any.
private enum ScopedGenerator {
    @TaskLocal static var current: Locked<RandomGenerator>?
}

/// Runs `body` with exclusive use of the default generator: the scoped one of
/// ``withManualSeed(_:_:)`` when inside one, else the process-wide one.
package func withDefaultGenerator<R>(_ body: (inout RandomGenerator) -> R) -> R {
    (ScopedGenerator.current ?? defaultGenerator).withLock { body(&$0) }
}

/// Runs `body` with a default generator of its own, seeded with `seed`, like
/// `torch.random.fork_rng()` followed by `torch.manual_seed(seed)`.
///
/// Inside `body` (and tasks it starts), ``Tensor/randn(_:dtype:)``, layer
/// initialisation and dropout draw from that generator; other threads and
/// tasks keep drawing from the process-wide one, which `body` neither reads
/// nor advances. Concurrent code (tests running in parallel) gets repeatable
/// draws this way, where ``manualSeed(_:)`` would race.
///
/// ```swift
/// let a = withManualSeed(7) { Tensor.randn([3]) }
/// let b = withManualSeed(7) { Tensor.randn([3]) }
/// print(a.scalars == b.scalars)  // true
/// ```
public func withManualSeed<R>(_ seed: UInt64, _ body: () throws -> R) rethrows -> R {
    try ScopedGenerator.$current.withValue(Locked(RandomGenerator(seed: seed)), operation: body)
}

/// Reseeds the default generator, like `torch.manual_seed`: later calls to
/// ``Tensor/randn(_:dtype:)`` and friends repeat from here. Inside
/// ``withManualSeed(_:_:)`` it reseeds that scope's generator.
public func manualSeed(_ seed: UInt64) {
    withDefaultGenerator { $0 = RandomGenerator(seed: seed) }
}

extension Tensor {
    /// Uniform samples in `[low, high)` from `generator`.
    public static func uniform<G: RandomNumberGenerator>(
        _ shape: [Int], low: Double = 0, high: Double = 1, dtype: DType = .float32,
        using generator: inout G
    ) -> Tensor {
        ThreadFlags.current.pointee.observer?.willDrawRandom("Tensor.uniform")
        let n = ShapeRules.count(shape)
        var values = [Double](repeating: 0, count: n)
        for i in 0..<n {
            values[i] = low + (high - low) * Double(generator.next() >> 11) * 0x1.0p-53
        }
        return Tensor(shape: shape, scalars: values, dtype: dtype)
    }

    /// Uniform samples in `[low, high)` from the default generator.
    public static func uniform(_ shape: [Int], low: Double = 0, high: Double = 1,
                               dtype: DType = .float32) -> Tensor {
        withDefaultGenerator { uniform(shape, low: low, high: high, dtype: dtype, using: &$0) }
    }

    /// Normal samples with the given mean and standard deviation from `generator`.
    public static func normal(
        _ shape: [Int], mean: Double = 0, std: Double = 1, dtype: DType = .float32,
        using generator: inout RandomGenerator
    ) -> Tensor {
        ThreadFlags.current.pointee.observer?.willDrawRandom("Tensor.normal")
        let n = ShapeRules.count(shape)
        var values = [Double](repeating: 0, count: n)
        for i in 0..<n { values[i] = mean + std * generator.standardNormal() }
        return Tensor(shape: shape, scalars: values, dtype: dtype)
    }

    /// Normal samples with the given mean and standard deviation from the default generator.
    public static func normal(_ shape: [Int], mean: Double = 0, std: Double = 1,
                              dtype: DType = .float32) -> Tensor {
        withDefaultGenerator { normal(shape, mean: mean, std: std, dtype: dtype, using: &$0) }
    }

    /// Standard normal samples from `generator`.
    ///
    /// ```swift
    /// var rng = RandomGenerator(seed: 1)
    /// let x = Tensor.randn([2, 3], using: &rng)
    /// ```
    public static func randn(_ shape: [Int], dtype: DType = .float32,
                             using generator: inout RandomGenerator) -> Tensor {
        normal(shape, dtype: dtype, using: &generator)
    }

    /// Standard normal samples from the default generator.
    public static func randn(_ shape: [Int], dtype: DType = .float32) -> Tensor {
        normal(shape, dtype: dtype)
    }
}
