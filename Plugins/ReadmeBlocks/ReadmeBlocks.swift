import Foundation
import PackagePlugin

/// Turns the Swift blocks of README.md into functions of the target it is
/// applied to (ReadmeTests), at every build: the README's examples are
/// compiled, and run by the tests, exactly as written.
@main
struct ReadmeBlocks: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let readme = context.package.directoryURL.appending(path: "README.md")
        let output = context.pluginWorkDirectoryURL.appending(path: "ReadmeBlocks.swift")
        return [
            .buildCommand(
                displayName: "Extracting the Swift blocks of README.md",
                executable: try context.tool(named: "ReadmeBlocksTool").url,
                arguments: [readme.path, output.path],
                inputFiles: [readme],
                outputFiles: [output]
            ),
        ]
    }
}
