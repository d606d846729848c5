import AutogradOps
import AutogradTensor
import Foundation

/// The four 2-D classification datasets of the TensorFlow Playground, made
/// the same way: circle, xor, two gaussians and two interleaved spirals,
/// with the same noise parameter (0 = clean, 0.5 = the Playground's maximum).
/// Coordinates are the Playground's own, roughly within [−6, 6]².
///
/// ```swift
/// let spiral = Playground.spiral.dataset(samples: 500, noise: 0.1, seed: 1)
/// ```
public enum Playground: String, CaseIterable, Sendable {
    case circle, xor, gauss, spiral

    /// `samples` labelled points (half of each class, for even `samples`).
    public func dataset(samples: Int = 500, noise: Double = 0, seed: UInt64 = 0) -> TensorDataset {
        precondition(samples > 0, "Playground: samples must be positive")
        precondition(noise >= 0, "Playground: noise must not be negative")
        var rng = RandomGenerator(seed: seed)
        func uniform(_ a: Double, _ b: Double) -> Double { a + (b - a) * rng.unitDouble() }
        var points: [(Double, Double, Int)] = []
        switch self {
        case .circle:
            let radius = 5.0
            for (range, _) in [((0.0, radius * 0.5), 1), ((radius * 0.7, radius), 0)] {
                for _ in 0..<(samples / 2) {
                    let r = uniform(range.0, range.1), angle = uniform(0, 2 * .pi)
                    let x = r * sin(angle), y = r * cos(angle)
                    let nx = uniform(-radius, radius) * noise, ny = uniform(-radius, radius) * noise
                    let inside = ((x + nx) * (x + nx) + (y + ny) * (y + ny)).squareRoot() < radius * 0.5
                    points.append((x, y, inside ? 1 : 0))
                }
            }
        case .xor:
            for _ in 0..<samples {
                var x = uniform(-5, 5), y = uniform(-5, 5)
                x += x > 0 ? 0.3 : -0.3
                y += y > 0 ? 0.3 : -0.3
                let nx = uniform(-5, 5) * noise, ny = uniform(-5, 5) * noise
                points.append((x, y, (x + nx) * (y + ny) >= 0 ? 1 : 0))
            }
        case .gauss:
            // The Playground maps noise 0…0.5 to a variance of 0.5…4.
            let variance = 0.5 + 7 * Swift.min(noise, 0.5)
            let std = variance.squareRoot()
            for (center, label) in [(2.0, 1), (-2.0, 0)] {
                for _ in 0..<(samples / 2) {
                    points.append((center + std * rng.standardNormal(), center + std * rng.standardNormal(), label))
                }
            }
        case .spiral:
            let n = samples / 2
            for (delta, label) in [(0.0, 1), (Double.pi, 0)] {
                for i in 0..<n {
                    let r = Double(i) / Double(n) * 5
                    let t = 1.75 * Double(i) / Double(n) * 2 * .pi + delta
                    points.append((r * sin(t) + uniform(-1, 1) * noise, r * cos(t) + uniform(-1, 1) * noise, label))
                }
            }
        }
        let features = points.flatMap { [$0.0, $0.1] }
        return TensorDataset(features: Tensor(shape: [points.count, 2], scalars: features),
                             labels: points.map(\.2), classCount: 2)
    }
}
