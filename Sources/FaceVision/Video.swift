import CVision

/// Frames of a video file, sampled at an interval.
public final class VideoReader {
    private let handle: OpaquePointer
    public let path: String
    /// Frames per second as the container states it; 25 is assumed when it says nothing.
    public let framesPerSecond: Double

    public init(path: String) throws(VisionError) {
        var error = lcv_error()
        guard let handle = lcv_video_open(path, &error) else { throw .opencv(error.text) }
        self.handle = handle
        self.path = path
        let fps = lcv_video_fps(handle)
        framesPerSecond = fps.isFinite && fps > 0 ? fps : 25
    }

    deinit { lcv_video_free(handle) }

    /// Calls `body` with every frame `interval` seconds apart (the first frame included)
    /// and its time in seconds. Stops at the end of the video or when `body` returns false.
    public func sample(every interval: Double, _ body: (Image, Double) throws -> Bool) throws {
        let step = max(1, Int((interval * framesPerSecond).rounded()))
        var index = 0
        var skip = 0
        while let frame = try next(skipping: skip) {
            index += skip
            guard try body(frame, Double(index) / framesPerSecond) else { return }
            index += 1
            skip = step - 1
        }
    }

    /// The frame after skipping `skip` frames; nil at the end of the video.
    private func next(skipping skip: Int) throws(VisionError) -> Image? {
        var error = lcv_error()
        guard let frame = lcv_video_next(handle, Int32(skip), &error) else {
            let message = error.text
            if message.isEmpty { return nil }
            throw .opencv(message)
        }
        return Image(handle: frame)
    }

    /// Calls `body` with the frame at each of `times` (seconds, as `sample` gives
    /// them), in order; a time past the end is not reached.
    public func frames(at times: [Double], _ body: (Image, Double) throws -> Void) throws {
        let wanted = Set(times.map { Int(($0 * framesPerSecond).rounded()) }).sorted()
        var index = 0
        for target in wanted {
            guard let frame = try next(skipping: target - index) else { return }
            try body(frame, Double(target) / framesPerSecond)
            index = target + 1
        }
    }
}

/// Writes a video through OpenCV's videoio. The default codec, Motion-JPEG (in an
/// AVI), is one every OpenCV build can write and read back; others (`mp4v`, `X264`…)
/// depend on the FFmpeg OpenCV was built with.
public final class VideoWriter {
    private let handle: OpaquePointer

    public init(path: String, framesPerSecond: Double, width: Int, height: Int, codec: String = "MJPG") throws(VisionError) {
        precondition(codec.utf8.count == 4, "a codec is a four-character code")
        var error = lcv_error()
        guard let handle = lcv_video_writer_open(path, codec, framesPerSecond, Int32(width), Int32(height), &error) else {
            throw .opencv(error.text)
        }
        self.handle = handle
    }

    deinit { lcv_video_writer_free(handle) }

    public func write(_ frame: Image) throws(VisionError) {
        var error = lcv_error()
        guard lcv_video_writer_write(handle, frame.handle, &error) == 0 else { throw .opencv(error.text) }
    }
}
