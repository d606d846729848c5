import Foundation

/// A learning rate as a function of the epoch (or step) number, counted from 0.
///
/// ```swift
/// let schedule = LinearWarmup(steps: 5, then: CosineAnnealing(periods: 50))
/// for epoch in 0..<50 {
///     optimizer.learningRate = schedule.learningRate(at: epoch, base: 0.1)
///     // … train one epoch …
/// }
/// ```
public protocol LearningRateSchedule: Sendable {
    /// The learning rate at `step` for a base rate `base`.
    func learningRate(at step: Int, base: Double) -> Double
}

/// The base rate throughout.
public struct ConstantLearningRate: LearningRateSchedule {
    public init() {}
    public func learningRate(at step: Int, base: Double) -> Double { base }
}

/// Multiplies the rate by `gamma` every `stepSize` steps.
public struct StepDecay: LearningRateSchedule {
    public let stepSize: Int
    public let gamma: Double
    public init(stepSize: Int, gamma: Double = 0.1) {
        precondition(stepSize > 0, "StepDecay: stepSize must be positive")
        self.stepSize = stepSize
        self.gamma = gamma
    }
    public func learningRate(at step: Int, base: Double) -> Double {
        base * pow(gamma, Double(step / stepSize))
    }
}

/// Multiplies the rate by `gamma` every step.
public struct ExponentialDecay: LearningRateSchedule {
    public let gamma: Double
    public init(gamma: Double) { self.gamma = gamma }
    public func learningRate(at step: Int, base: Double) -> Double { base * pow(gamma, Double(step)) }
}

/// Cosine annealing from the base rate down to `minimum` over `periods` steps.
public struct CosineAnnealing: LearningRateSchedule {
    public let periods: Int
    public let minimum: Double
    public init(periods: Int, minimum: Double = 0) {
        precondition(periods > 0, "CosineAnnealing: periods must be positive")
        self.periods = periods
        self.minimum = minimum
    }
    public func learningRate(at step: Int, base: Double) -> Double {
        let t = Double(Swift.min(step, periods)) / Double(periods)
        return minimum + (base - minimum) * (1 + cos(Double.pi * t)) / 2
    }
}

/// Ramps the rate linearly up to the base over `steps` steps (from base / steps),
/// then follows `then`, counted from the end of the warm-up.
public struct LinearWarmup: LearningRateSchedule {
    public let steps: Int
    public let then: any LearningRateSchedule
    public init(steps: Int, then: any LearningRateSchedule = ConstantLearningRate()) {
        precondition(steps > 0, "LinearWarmup: steps must be positive")
        self.steps = steps
        self.then = then
    }
    public func learningRate(at step: Int, base: Double) -> Double {
        step < steps ? base * Double(step + 1) / Double(steps) : then.learningRate(at: step - steps, base: base)
    }
}
