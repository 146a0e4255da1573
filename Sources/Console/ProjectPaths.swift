import FaceVision
import Foundation

/// Finds files of the Lineup checkout (scripts, shared data) from the current
/// folder or the executable's, whichever lies inside it.
public enum ProjectPaths {
    /// The checkout's root: the first folder upwards holding `scripts/setup.sh`.
    public static var root: String? { ModelDirectory.searchUpwards(for: "scripts/setup.sh") }

    /// The LFW development photos beside the checkout, when present.
    public static var sharedLFWImages: String? {
        guard let root else { return nil }
        let path = URL(fileURLWithPath: root).deletingLastPathComponent().appendingPathComponent("shared/faces/lfw-dev/images").path
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }
}
