import COpenVINO

extension NeuralNetwork {
    /// The model at `path` in OpenVINO's CPU plugin, compiled for this processor per
    /// input shape on first use (see `lov_network_forward`).
    static func openVINO(path: String) throws(VisionError) -> NeuralNetwork {
        var error = lov_error()
        guard let handle = lov_network_load(path, &error) else {
            throw .modelLoadFailed(path: path, reason: error.text)
        }
        return NeuralNetwork(
            path: path, handle: handle, release: { lov_network_free($0) },
            forward: { net, input, shape, names, count, outputs, counts in
                var error = lov_error()
                let dims = shape.map(Int64.init)
                return lov_network_forward(net, input, dims, Int32(dims.count), names, count, outputs, counts, &error) == 0 ? nil : error.text
            })
    }
}

extension lov_error {
    var text: String { cMessageText(message) }
}
