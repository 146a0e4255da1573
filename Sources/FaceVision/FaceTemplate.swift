import Index

/// A face template: the L2-normalised embedding of one face, tagged with the model
/// that made it. Templates of different models live in different spaces and must
/// never be compared; `similarity(to:)` refuses to.
public struct FaceTemplate: Sendable, Equatable, Codable {
    public let modelID: String
    public let vector: [Float]

    /// Normalises `vector` to unit length.
    public init(modelID: String, vector: [Float]) {
        self.modelID = modelID
        let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
        self.vector = norm > 0 ? vector.map { $0 / norm } : vector
    }

    /// Wraps an already-normalised vector as stored.
    public init(modelID: String, normalizedVector: [Float]) {
        self.modelID = modelID
        self.vector = normalizedVector
    }

    public var dimension: Int { vector.count }

    /// Cosine similarity in -1...1 (the dot product of unit vectors).
    public func similarity(to other: FaceTemplate) -> Float {
        precondition(modelID == other.modelID, "templates of \(modelID) and \(other.modelID) cannot be compared")
        return dot(vector, other.vector)
    }
}
