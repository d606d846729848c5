// swift-tools-version:6.0
import PackageDescription

// libFuzzer targets for everything the library reads from disk: each is an
// executable whose entry point is LLVMFuzzerTestOneInput, built with
// `--sanitize=fuzzer --sanitize=address` (`make fuzz` in the root folder).
// A package of its own, like Benchmarks/, so the library's users never
// build it.
let targets = ["FuzzSafeTensors", "FuzzNPY", "FuzzIDX", "FuzzCSV", "FuzzCheckpoint"]

let package = Package(
    name: "AutogradFuzz",
    dependencies: [.package(name: "Autograd", path: "..")],
    targets: targets.map {
        .executableTarget(name: $0, dependencies: [.product(name: "Autograd", package: "Autograd")])
    },
    swiftLanguageModes: [.v6]
)
