// swift-tools-version:6.0
import PackageDescription

// The library product carries no unsafe build flags: it must build as a
// dependency pinned by version. SIMD comes from function-level target
// attributes chosen at run time, threads from the OpenMP runtime called
// directly (see ARCHITECTURE.md).
let package = Package(
    name: "Autograd",
    products: [
        .library(name: "Autograd", targets: ["Autograd"]),
        .executable(name: "autograd", targets: ["AutogradCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .target(
            name: "CKernels",
            path: "CKernels",
            sources: ["src"],
            publicHeadersPath: "include",
            linkerSettings: [
                .linkedLibrary("openblas"),
                .linkedLibrary("lapacke"),
                .linkedLibrary("omp5"),
                .linkedLibrary("m"),
            ]
        ),
        // zlib from the system (Debian's zlib1g-dev), for gzip-compressed data files.
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // The library in layers, each depending only on the ones below it, so
        // a call upward does not build: a lower layer reaches a higher one
        // only through hooks it declares itself (ExecutionObserver, …).
        // Storage, shapes, dtypes, creation, random, printing; per-thread flags.
        .target(name: "AutogradTensor", dependencies: ["CKernels"]),
        // Primitives and op tables, eager tape and backward, forward mode, gradcheck.
        .target(name: "AutogradOps", dependencies: ["AutogradTensor", "CKernels"]),
        // Modules, losses, optimizers, datasets, checkpoints, the Trainer.
        .target(
            name: "AutogradNN",
            dependencies: ["AutogradOps", "AutogradTensor", "CKernels", "CZlib"],
            resources: [.copy("Data/Resources/digits.csv")]
        ),
        // The graph compiler; above NN because compiled steps run optimizers.
        .target(
            name: "AutogradGraph",
            dependencies: ["AutogradNN", "AutogradOps", "AutogradTensor", "CKernels"]
        ),
        // The umbrella users import: re-exports the four layers.
        .target(
            name: "Autograd",
            dependencies: ["AutogradGraph", "AutogradNN", "AutogradOps", "AutogradTensor"]
        ),
        // Counts heap allocations for `autograd bench`; linked into the
        // executable only, never into the library.
        .target(name: "AllocationCounter"),
        .executableTarget(
            name: "AutogradCLI",
            dependencies: [
                "Autograd",
                "CKernels",
                "AllocationCounter",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The README's Swift blocks, compiled from README.md by the
        // ReadmeBlocks plugin (its tool extracts them) and run as tests.
        .executableTarget(name: "ReadmeBlocksTool"),
        .plugin(name: "ReadmeBlocks", capability: .buildTool(), dependencies: ["ReadmeBlocksTool"]),
        .testTarget(name: "ReadmeTests", dependencies: ["Autograd"], plugins: ["ReadmeBlocks"]),
        .testTarget(
            name: "AutogradTests",
            dependencies: ["Autograd", "AutogradTensor", "AutogradOps", "CKernels", "CZlib"],
            exclude: ["Fixtures/make_fixtures.py", "Fixtures/make_torch_fixtures.py"],
            resources: [
                .copy("Fixtures/from_python.safetensors"),
                .copy("Fixtures/torch_zoo.safetensors"), .copy("Fixtures/torch_zoo_expected.safetensors"),
                .copy("Fixtures/torch_zoo1d.safetensors"), .copy("Fixtures/torch_zoo1d_expected.safetensors"),
                .copy("Fixtures/torch_lenet5.safetensors"), .copy("Fixtures/torch_lenet5_expected.safetensors"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
