import FaceVision
import Foundation

/// Pictures for pages: scaled down, face boxes drawn into the pixels (so a box is
/// there in a screenshot or a saved copy, with no script or style needed), and
/// inlined as data URLs so a face crop is never served from a URL of its own.
enum WebImages {
    /// A JPEG data URL of `image` fitted within `maxSide`, with `boxes` (in the
    /// image's own pixels) outlined.
    /// A face kept as JPEG (a probe's), fitted the same way; nil when there is none or
    /// it does not decode.
    static func dataURL(jpeg: Data?, maxSide: Int) throws -> String? {
        guard let jpeg, let image = try? Image(data: [UInt8](jpeg)) else { return nil }
        return try dataURL(image, maxSide: maxSide)
    }

    static func dataURL(_ image: Image, maxSide: Int, boxes: [Box] = []) throws -> String {
        let scale = min(1, Double(maxSide) / Double(max(image.width, image.height)))
        var fitted = image
        if scale < 1 {
            fitted = try image.resized(
                width: max(1, Int((Double(image.width) * scale).rounded())),
                height: max(1, Int((Double(image.height) * scale).rounded())))
        }
        if !boxes.isEmpty { fitted = try outlined(fitted, boxes: boxes.map { $0.scaled(by: scale) }) }
        return "data:image/jpeg;base64," + Data(try fitted.jpegData(quality: 85)).base64EncodedString()
    }

    /// The image with each box outlined in yellow, edged in black so it shows on any background.
    static func outlined(_ image: Image, boxes: [Box]) throws -> Image {
        let width = image.width, height = image.height
        var pixels = image.bgrPixels
        let thickness = max(2, min(width, height) / 150)
        func paint(_ x: Int, _ y: Int, _ bgr: (UInt8, UInt8, UInt8)) {
            guard x >= 0, y >= 0, x < width, y < height else { return }
            let offset = (y * width + x) * 3
            (pixels[offset], pixels[offset + 1], pixels[offset + 2]) = bgr
        }
        for box in boxes {
            let left = Int(box.x.rounded()), top = Int(box.y.rounded())
            let right = Int((box.x + box.width).rounded()), bottom = Int((box.y + box.height).rounded())
            for ring in -1...thickness {
                let colour: (UInt8, UInt8, UInt8) = (ring == -1 || ring == thickness) ? (0, 0, 0) : (0, 212, 255)
                for x in (left - ring)...(right + ring) {
                    paint(x, top - ring, colour)
                    paint(x, bottom + ring, colour)
                }
                for y in (top - ring)...(bottom + ring) {
                    paint(left - ring, y, colour)
                    paint(right + ring, y, colour)
                }
            }
        }
        return try Image(bgr: pixels, width: width, height: height)
    }
}

extension Box {
    func scaled(by factor: Double) -> Box {
        Box(x: x * factor, y: y * factor, width: width * factor, height: height * factor)
    }
}
