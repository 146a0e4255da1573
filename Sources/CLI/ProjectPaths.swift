import Foundation

/// Finds files of the Lineup checkout (scripts, shared data) from the current
/// folder or the executable's, whichever lies inside it.
enum ProjectPaths {
    /// The checkout's root: the first folder upwards holding `scripts/setup.sh`.
    static var root: String? {
        let executable = URL(fileURLWithPath: CommandLine.arguments.first ?? ".").resolvingSymlinksInPath()
        for start in [URL(fileURLWithPath: FileManager.default.currentDirectoryPath), executable.deletingLastPathComponent()] {
            var folder = start.standardizedFileURL
            while true {
                if FileManager.default.fileExists(atPath: folder.appendingPathComponent("scripts/setup.sh").path) {
                    return folder.path
                }
                let parent = folder.deletingLastPathComponent()
                if parent.path == folder.path { break }
                folder = parent
            }
        }
        return nil
    }

    /// The LFW development photos beside the checkout, when present.
    static var sharedLFWImages: String? {
        guard let root else { return nil }
        let path = URL(fileURLWithPath: root).deletingLastPathComponent().appendingPathComponent("shared/faces/lfw-dev/images").path
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }
}
