/// Failures of the vision machinery itself (as opposed to a bad input image).
public enum VisionError: Error, Equatable, Sendable, CustomStringConvertible {
    case modelNotFound(path: String, hint: String)
    case modelLoadFailed(path: String, reason: String)
    case inferenceFailed(model: String, reason: String)
    case opencv(String)
    case noFace
    case noSuchFaceInPhoto(number: Int, count: Int)

    public var description: String {
        switch self {
        case .modelNotFound(let path, let hint): "model file not found: \(path). \(hint)"
        case .modelLoadFailed(let path, let reason): "cannot load model \(path): \(reason)"
        case .inferenceFailed(let model, let reason): "\(model) failed: \(reason)"
        case .opencv(let reason): "OpenCV: \(reason)"
        case .noFace: "no face was found in the image"
        case .noSuchFaceInPhoto(let number, let count):
            "face \(number) requested, but the image has \(count) face\(count == 1 ? "" : "s") (numbered from 1)"
        }
    }
}
