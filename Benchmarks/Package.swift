// swift-tools-version:6.1
import Foundation
import PackageDescription

// A path dependency is known by its folder's name: the checkout's, whatever it is called.
let autogradPackage = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().lastPathComponent

// The regression suite, on ordo-one/package-benchmark: wall clock and malloc
// counts of a few workloads, checked against the static thresholds in
// `Thresholds/` (`make bench-check`). A package of its own, so that neither
// the benchmark package nor its dependencies reach anyone who depends on
// Autograd. `autograd bench` stays the runner users run.
let package = Package(
    name: "AutogradBenchmarks",
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1",
                 traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "Regression",
            dependencies: [
                .product(name: "Autograd", package: autogradPackage),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/Regression",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
