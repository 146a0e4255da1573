import CVision

extension NeuralNetwork {
    /// The model at `path` in OpenCV's dnn engine.
    static func openCV(path: String) throws(VisionError) -> NeuralNetwork {
        var error = lcv_error()
        guard let handle = lcv_net_load_onnx(path, &error) else {
            throw .modelLoadFailed(path: path, reason: error.text)
        }
        return NeuralNetwork(
            path: path, handle: handle, release: { lcv_net_free($0) },
            forward: { net, input, shape, names, count, outputs, counts in
                var error = lcv_error()
                let dims = shape.map(Int32.init)
                return lcv_net_forward(net, input, dims, Int32(dims.count), names, count, outputs, counts, &error) == 0 ? nil : error.text
            })
    }
}
