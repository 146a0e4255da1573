import Foundation

/// Follows faces across the sampled frames of a video, so one person seen for a
/// minute becomes one gallery entry, not sixty.
///
/// A face continues a track when it overlaps the track's last box (IoU ≥ 0.3) and
/// looks like it (template similarity ≥ 0.3), or, after a jump or a cut, when it
/// looks very much like it (≥ 0.6). Matching is greedy, most similar first. A track
/// ends after `maxMissedSamples` samples without a sighting. Each track keeps its
/// best-quality sighting.
public struct FaceTracker {
    public struct Sighting {
        public var face: DetectedFace
        public var template: FaceTemplate
        public var frame: Image
        public var seconds: Double

        public init(face: DetectedFace, template: FaceTemplate, frame: Image, seconds: Double) {
            self.face = face
            self.template = template
            self.frame = frame
            self.seconds = seconds
        }
    }

    public struct Track {
        public var firstSeconds: Double
        public var lastSeconds: Double
        public var best: Sighting
        var lastBox: Box
        var lastTemplate: FaceTemplate
        var missed = 0
    }

    public var maxMissedSamples: Int
    private var active: [Track] = []
    private var finished: [Track] = []

    public init(maxMissedSamples: Int = 2) {
        self.maxMissedSamples = maxMissedSamples
    }

    /// Adds the faces of one sampled frame.
    public mutating func add(_ sightings: [Sighting]) {
        var pairs: [(similarity: Float, track: Int, sighting: Int)] = []
        for (t, track) in active.enumerated() {
            for (s, sighting) in sightings.enumerated() {
                let similarity = track.lastTemplate.similarity(to: sighting.template)
                let overlap = track.lastBox.intersectionOverUnion(sighting.face.box)
                if (overlap >= 0.3 && similarity >= 0.3) || similarity >= 0.6 {
                    pairs.append((similarity, t, s))
                }
            }
        }
        var trackTaken = Set<Int>(), sightingTaken = Set<Int>()
        for pair in pairs.sorted(by: { $0.similarity > $1.similarity })
        where !trackTaken.contains(pair.track) && !sightingTaken.contains(pair.sighting) {
            trackTaken.insert(pair.track)
            sightingTaken.insert(pair.sighting)
            let sighting = sightings[pair.sighting]
            active[pair.track].lastSeconds = sighting.seconds
            active[pair.track].lastBox = sighting.face.box
            active[pair.track].lastTemplate = sighting.template
            active[pair.track].missed = 0
            if Self.usefulness(sighting.face) > Self.usefulness(active[pair.track].best.face) {
                active[pair.track].best = sighting
            }
        }
        for index in active.indices where !trackTaken.contains(index) { active[index].missed += 1 }
        finished += active.filter { $0.missed > maxMissedSamples }
        active.removeAll { $0.missed > maxMissedSamples }
        for (index, sighting) in sightings.enumerated() where !sightingTaken.contains(index) {
            active.append(
                Track(
                    firstSeconds: sighting.seconds, lastSeconds: sighting.seconds, best: sighting,
                    lastBox: sighting.face.box, lastTemplate: sighting.template))
        }
    }

    /// Every track, in order of first appearance.
    public mutating func finish() -> [Track] {
        finished += active
        active = []
        return finished.sorted { $0.firstSeconds < $1.firstSeconds }
    }

    /// How good a sighting is as the face of its track: confident, large, sharp, frontal.
    static func usefulness(_ face: DetectedFace) -> Double {
        let q = face.quality
        return face.score * min(1, q.interEyeDistance / 60) * min(1, q.sharpness / 200) * cos(q.yaw * .pi / 180)
    }
}
