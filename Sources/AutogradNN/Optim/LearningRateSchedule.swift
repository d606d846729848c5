import AutogradOps
import AutogradTensor
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

/// The base rate throughout (in PyTorch, no scheduler).
public struct ConstantLearningRate: LearningRateSchedule {
    public init() {}
    public func learningRate(at step: Int, base: Double) -> Double { base }
}

/// Multiplies the rate by `gamma` every `stepSize` steps (torch.optim.lr_scheduler.StepLR):
/// base · gamma^⌊step / stepSize⌋.
///
/// ```swift
/// StepDecay(stepSize: 30, gamma: 0.1).learningRate(at: 65, base: 0.1)  // 0.001
/// ```
public struct StepDecay: LearningRateSchedule {
    /// Steps between decays (PyTorch's `step_size`).
    public let stepSize: Int
    /// The factor of each decay.
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

/// Multiplies the rate by `gamma` every step (torch.optim.lr_scheduler.ExponentialLR):
/// base · gamma^step.
///
/// ```swift
/// ExponentialDecay(gamma: 0.9).learningRate(at: 2, base: 1)  // 0.81
/// ```
public struct ExponentialDecay: LearningRateSchedule {
    /// The factor of each step's decay.
    public let gamma: Double
    public init(gamma: Double) { self.gamma = gamma }
    public func learningRate(at step: Int, base: Double) -> Double { base * pow(gamma, Double(step)) }
}

/// Cosine annealing from the base rate down to `minimum` over `periods`
/// steps (torch.optim.lr_scheduler.CosineAnnealingLR's closed form):
/// η = minimum + (base − minimum)·(1 + cos(π·step / periods)) / 2.
///
/// After `periods` steps the rate is not held at `minimum`: as in PyTorch
/// it follows the same cosine back up, reaching the base rate again at
/// 2·periods, and so on with period 2·periods. For a schedule that stays
/// low, stop at `periods`; for one that restarts at the base rate, use
/// ``CosineAnnealingWarmRestarts``.
///
/// ```swift
/// let schedule = CosineAnnealing(periods: 10, minimum: 0.1)
/// schedule.learningRate(at: 5, base: 1)   // 0.55
/// schedule.learningRate(at: 10, base: 1)  // 0.1
/// schedule.learningRate(at: 15, base: 1)  // 0.55, rising again
/// ```
public struct CosineAnnealing: LearningRateSchedule {
    /// Steps from the base rate down to `minimum` (PyTorch's `T_max`).
    public let periods: Int
    /// The lowest rate, reached at `periods` (PyTorch's `eta_min`).
    public let minimum: Double
    public init(periods: Int, minimum: Double = 0) {
        precondition(periods > 0, "CosineAnnealing: periods must be positive")
        self.periods = periods
        self.minimum = minimum
    }
    public func learningRate(at step: Int, base: Double) -> Double {
        cosineRate(from: base, to: minimum, at: step, of: periods)
    }
}

/// The cosine curve both cosine schedules follow: `high` at step 0, `low`
/// at `length`, (high + low)/2 halfway.
private func cosineRate(from high: Double, to low: Double, at step: Int, of length: Int) -> Double {
    low + (high - low) * (1 + cos(Double.pi * Double(step) / Double(length))) / 2
}

/// Cosine annealing with warm restarts, SGDR (Loshchilov & Hutter)
/// (torch.optim.lr_scheduler.CosineAnnealingWarmRestarts):
/// η = etaMin + (base − etaMin)·(1 + cos(π·T_cur / T_i)) / 2, where the
/// cycles have lengths t0, t0·tMult, t0·tMult², … and T_cur counts the steps
/// since the start of the current cycle, of length T_i. Each cycle starts
/// at the base rate and falls towards `etaMin` without reaching it.
///
/// The cycle is found with integer arithmetic; PyTorch finds it with a
/// floating-point logarithm when given the epoch, which can disagree by a
/// step exactly at a restart for some `tMult`.
///
/// ```swift
/// let schedule = CosineAnnealingWarmRestarts(t0: 10, tMult: 2)
/// schedule.learningRate(at: 10, base: 0.1)  // 0.1: the second cycle (20 steps) starts
/// schedule.learningRate(at: 30, base: 0.1)  // 0.1: the third cycle (40 steps) starts
/// ```
public struct CosineAnnealingWarmRestarts: LearningRateSchedule {
    /// The length of the first cycle (PyTorch's `T_0`).
    public let t0: Int
    /// The factor by which each cycle is longer than the one before (PyTorch's `T_mult`).
    public let tMult: Int
    /// The rate each cycle falls towards (PyTorch's `eta_min`).
    public let etaMin: Double
    public init(t0: Int, tMult: Int = 1, etaMin: Double = 0) {
        precondition(t0 > 0, "CosineAnnealingWarmRestarts: t0 must be positive")
        precondition(tMult >= 1, "CosineAnnealingWarmRestarts: tMult must be at least 1")
        self.t0 = t0
        self.tMult = tMult
        self.etaMin = etaMin
    }
    public func learningRate(at step: Int, base: Double) -> Double {
        var current = step, length = t0
        if tMult == 1 {
            current = step >= 0 ? step % t0 : step
        } else {
            while current >= length {
                current -= length
                length *= tMult
            }
        }
        return cosineRate(from: base, to: etaMin, at: current, of: length)
    }
}

/// Ramps the rate linearly up to the base over `steps` steps (from base / steps),
/// then follows `then`, counted from the end of the warm-up.
///
/// In PyTorch this is `SequentialLR` of `LinearLR(start_factor: 1 / steps,
/// total_iters: steps - 1)` and `then`, with `milestones: [steps]`.
///
/// ```swift
/// LinearWarmup(steps: 4).learningRate(at: 0, base: 1)  // 0.25
/// ```
public struct LinearWarmup: LearningRateSchedule {
    /// Steps of the ramp.
    public let steps: Int
    /// The schedule after the ramp, its step 0 being the ramp's end.
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
