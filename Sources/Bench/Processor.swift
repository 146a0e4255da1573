import Foundation

/// The processor a figure was measured on, from /proc/cpuinfo: the same code's speed
/// ratios differ between CPUs by their vector units, so every benchmark names them.
enum Processor {
    /// The vector features that change which kernels the engines pick.
    static let featureNames = [
        "avx2", "fma", "avx_vnni", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16",
        "amx_int8",
    ]

    private static var info: [Substring] {
        ((try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? "").split(separator: "\n")
    }

    /// The model name, e.g. "AMD EPYC 9R45".
    static var name: String {
        info.first { $0.hasPrefix("model name") }?.split(separator: ":").last?.trimmingCharacters(in: .whitespaces)
            ?? "unknown CPU"
    }

    /// Which of `featureNames` this processor has.
    static var features: [String] {
        let flags = Set((info.first { $0.hasPrefix("flags") } ?? "").split(separator: " ").map(String.init))
        return featureNames.filter(flags.contains)
    }

    /// The model and the widest vector unit: "AMD EPYC (AVX-512)".
    static var summary: String {
        let features = Set(self.features)
        let vector = features.contains("avx512f") ? "AVX-512" : features.contains("avx2") ? "AVX2" : "no AVX2"
        return "\(name) (\(vector))"
    }

    /// The model, core count and vector features in full, for a benchmark's header.
    static var detailed: String {
        "\(name), \(ProcessInfo.processInfo.activeProcessorCount) cores; " + (features.isEmpty ? "no AVX2" : features.joined(separator: " "))
    }
}
