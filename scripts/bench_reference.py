"""Reference face pipeline for `lineup-bench vision`: the same work as Lineup
(decode, detect, refine the landmarks of every face found as the alignment mode
says, align, embed the most prominent face, with the mirrored face in the same
batch) on the same ONNX models, through onnxruntime and OpenCV's Python wheel,
single-threaded. The detector runs on the photo scaled down to 640 on its long side
if larger and zero-padded: to the next multiple of 32 on each side as Lineup does
(`--detector-input fitted`, the dynamic-size model given as `--view-detector`), or to
the shipped model's 640x640 (`shipped`, what a plain Python pipeline does). The
landmark passes run YuNet at the size of their view (the dynamic-size model) and
RetinaFace at 256x256.

Usage: bench_reference.py --list FILE --detector ONNX --embedder ONNX --output JSON
                          [--detector-input shipped|fitted] [--detect-size N]
                          [--alignment detector|mirrored|ensemble --view-detector ONNX --retinaface ONNX]
Writes timings in milliseconds and each photo's template (to check agreement).
"""
import argparse
import json
import time

import cv2
import numpy as np
import onnxruntime as ort

REFERENCE = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                      [41.5493, 92.3655], [70.7299, 92.2041]], dtype=np.float64)
STRIDES = (8, 16, 32)


def session(path):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def yunet_pass(net, image, width, height, floor, nms=0.3):
    """YuNet over `image` placed top-left in a zero width x height input: boxes, scores, points."""
    blob = np.zeros((1, 3, height, width), np.float32)
    blob[0, :, :image.shape[0], :image.shape[1]] = image.transpose(2, 0, 1)
    names = [f"{k}_{s}" for k in ("cls", "obj", "bbox", "kps") for s in STRIDES]
    out = dict(zip(names, net.run(names, {"input": blob})))
    boxes, scores, marks = [], [], []
    for s in STRIDES:
        cols = width // s
        score = np.sqrt(np.clip(out[f"cls_{s}"][0, :, 0], 0, 1) * np.clip(out[f"obj_{s}"][0, :, 0], 0, 1))
        keep = np.where(score >= floor)[0]
        col, row = (keep % cols).astype(np.float64), (keep // cols).astype(np.float64)
        bb, kp = out[f"bbox_{s}"][0, keep], out[f"kps_{s}"][0, keep]
        cx, cy = (col + bb[:, 0]) * s, (row + bb[:, 1]) * s
        bw, bh = np.exp(bb[:, 2]) * s, np.exp(bb[:, 3]) * s
        boxes.append(np.stack([cx - bw / 2, cy - bh / 2, bw, bh], 1))
        marks.append(np.stack([(kp[:, 0::2] + col[:, None]) * s, (kp[:, 1::2] + row[:, None]) * s], 2))
        scores.append(score[keep])
    boxes, scores, marks = np.concatenate(boxes), np.concatenate(scores), np.concatenate(marks)
    if len(scores) == 0:
        return []
    kept = cv2.dnn.NMSBoxes(boxes.tolist(), scores.tolist(), floor, nms)
    return [(boxes[i], scores[i], marks[i]) for i in np.array(kept).reshape(-1)]


RETINA_MEAN = np.array([104, 117, 127], np.float32)
RETINA_SIDE = 256


def retina_anchors():
    anchors = []
    for stride, sizes in ((8, (16, 32)), (16, (64, 128)), (32, (256, 512))):
        cells = -(-RETINA_SIDE // stride)
        for cell in range(cells * cells):
            for size in sizes:
                anchors.append(((cell % cells + 0.5) * stride, (cell // cells + 0.5) * stride, size))
    return np.array(anchors)


def retina_pass(net, anchors, image, floor):
    blob = np.zeros((1, 3, RETINA_SIDE, RETINA_SIDE), np.float32)
    blob[0, :, :image.shape[0], :image.shape[1]] = (image.astype(np.float32) - RETINA_MEAN).transpose(2, 0, 1)
    loc, conf, points = net.run(["loc", "conf", "landmarks"], {"input": blob})
    keep = np.where(conf[0, :, 1] >= floor)[0]
    a, l, p, scores = anchors[keep], loc[0, keep], points[0, keep], conf[0, keep, 1]
    size = a[:, 2:3]
    centre = a[:, :2] + l[:, :2] * 0.1 * size
    wh = size * np.exp(l[:, 2:] * 0.2)
    boxes = np.concatenate([centre - wh / 2, wh], 1)
    marks = a[:, None, :2] + p.reshape(-1, 5, 2) * 0.1 * size[:, None]
    if len(scores) == 0:
        return []
    kept = cv2.dnn.NMSBoxes(boxes.tolist(), scores.tolist(), floor, 0.4)
    return [(boxes[i], scores[i], marks[i]) for i in np.array(kept).reshape(-1)]


VIEW_SIDE = 256
NATIVE = (48.0, 128.0)
PASS_FLOOR = 0.3
SWAP = [1, 0, 2, 4, 3]


def face_view(image, box, scale, mirrored):
    """Lineup's FaceView: the view's pixels and the map from view back to photo coordinates."""
    long = max(box[2], box[3], 1.0)
    zoom = min(max(long, NATIVE[0]), NATIVE[1]) / long
    centre = box[:2] + box[2:] / 2
    source, origin, shrink = image, np.zeros(2), np.ones(2)
    if zoom < 1:
        reach = VIEW_SIDE / zoom / 2 + 2
        left, top = max(0, int(np.floor(centre[0] - reach))), max(0, int(np.floor(centre[1] - reach)))
        right = min(image.shape[1], int(centre[0] - reach + 2 * reach))
        bottom = min(image.shape[0], int(centre[1] - reach + 2 * reach))
        crop = image[top:bottom, left:right]
        w, h = max(1, round(crop.shape[1] * zoom)), max(1, round(crop.shape[0] * zoom))
        source = cv2.resize(crop, (w, h), interpolation=cv2.INTER_AREA)
        origin, shrink = np.array([left, top], float), np.array([crop.shape[1] / w, crop.shape[0] / h])
    c = (centre - origin) / shrink
    magnify = zoom * scale if zoom > 1 else float(scale)
    size = VIEW_SIDE * scale
    half = size / 2
    if magnify == 1:
        c = np.round(c)
    sx = -magnify if mirrored else magnify
    tx = half - 1 - sx * c[0] if mirrored else half - sx * c[0]
    ty = half - magnify * c[1]
    pixels = cv2.warpAffine(source, np.array([[sx, 0, tx], [0, magnify, ty]]), (size, size))
    def back(points):
        out = np.stack([(points[:, 0] - tx) / sx * shrink[0] + origin[0], (points[:, 1] - ty) / magnify * shrink[1] + origin[1]], 1)
        return out[SWAP] if mirrored else out
    return pixels, size, back, 0.3 * long * zoom * scale


def nearest(found, size, radius):
    if not found:
        return None
    centre = np.array([size / 2, size / 2])
    best = min(found, key=lambda f: np.linalg.norm(f[0][:2] + f[0][2:] / 2 - centre))
    return best[2] if np.linalg.norm(best[0][:2] + best[0][2:] / 2 - centre) <= radius else None


# (network, scale, mirrored, padded side) per mode, as Lineup's LandmarkEnsemble.
PASSES = {
    "detector": [],
    "mirrored": [("yunet", 1, True, 0)],
    "ensemble": [("yunet", 1, True, 0), ("yunet", 2, False, 0), ("yunet", 2, True, 0), ("yunet", 1, False, 640),
                 ("yunet", 1, True, 640), ("retinaface", 1, False, 0), ("retinaface", 1, True, 0)],
}


def refine(image, box, points, mode, view_net, retina_net, anchors):
    yunet_points, retina_points = [points], []
    for network, scale, mirrored, padded in PASSES[mode]:
        pixels, size, back, radius = face_view(image, box, scale, mirrored)
        if network == "yunet":
            side = max(padded, size + 31) // 32 * 32
            found = nearest(yunet_pass(view_net, pixels, side, side, PASS_FLOOR), size, radius)
            if found is not None:
                yunet_points.append(back(found))
        else:
            found = nearest(retina_pass(retina_net, anchors, pixels, PASS_FLOOR), size, radius)
            if found is not None:
                retina_points.append(back(found))
    groups = [np.mean(g, 0) for g in (yunet_points, retina_points) if g]
    return np.mean(groups, 0)


def detect(net, image, size=640, fitted=False, threshold=0.87, floor=0.6, nms=0.3):
    """Faces at `threshold`, or the candidates down to `floor` when there are none (as Lineup's probes)."""
    h, w = image.shape[:2]
    scale = min(1.0, size / max(h, w))
    if scale < 1.0:
        image = cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    width, height = size, size
    if fitted:
        width, height = (image.shape[1] + 31) // 32 * 32, (image.shape[0] + 31) // 32 * 32
    # Suppression before the threshold keeps the same faces: a weaker box never suppresses a stronger one.
    faces = yunet_pass(net, image, width, height, floor, nms)
    if any(score >= threshold for _, score, _ in faces):
        faces = [face for face in faces if face[1] >= threshold]
    return [(box / scale, marks / scale) for box, _, marks in faces]


def prominent(faces, w, h):
    centre = np.array([w / 2, h / 2])
    half_diagonal = np.linalg.norm(centre)
    def weight(face):
        box = face[0]
        d = np.linalg.norm(box[:2] + box[2:] / 2 - centre) / half_diagonal
        return box[2] * box[3] * (1 - 0.5 * min(1.0, d))
    return max(faces, key=weight)


def similarity(src, dst):
    sm, dm = src.mean(0), dst.mean(0)
    s, d = src - sm, dst - dm
    var = (s ** 2).sum()
    a = (s * d).sum() / var
    b = (s[:, 0] * d[:, 1] - s[:, 1] * d[:, 0]).sum() / var
    return np.array([[a, -b, dm[0] - (a * sm[0] - b * sm[1])], [b, a, dm[1] - (b * sm[0] + a * sm[1])]])


def main():
    parser = argparse.ArgumentParser()
    for name in ("--list", "--detector", "--embedder", "--output"):
        parser.add_argument(name, required=True)
    parser.add_argument("--alignment", choices=sorted(PASSES), default="detector")
    parser.add_argument("--detector-input", choices=("shipped", "fitted"), default="shipped")
    parser.add_argument("--detect-size", type=int, default=640)
    parser.add_argument("--view-detector")
    parser.add_argument("--retinaface")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    fitted = args.detector_input == "fitted"
    if fitted and not args.view_detector:
        parser.error("--detector-input fitted needs --view-detector (the dynamic-size model)")
    detector, embedder = session(args.view_detector if fitted else args.detector), session(args.embedder)
    view_net = session(args.view_detector) if args.alignment != "detector" else None
    retina_net = session(args.retinaface) if args.alignment == "ensemble" else None
    anchors = retina_anchors()
    paths = [line.strip() for line in open(args.list) if line.strip()]
    timings = {"decode": [], "detect": [], "align": [], "embed": []}
    templates = {}
    for warmup in paths[:3]:
        image = cv2.imread(warmup)
        faces = detect(detector, image, args.detect_size, fitted)
        if faces:
            embedder.run(["fc1"], {"data": np.zeros((2, 3, 112, 112), np.float32)})
    for path in paths:
        t0 = time.perf_counter()
        image = cv2.imread(path, cv2.IMREAD_COLOR)
        t1 = time.perf_counter()
        faces = detect(detector, image, args.detect_size, fitted)
        if args.alignment != "detector":
            faces = [(box, refine(image, box, marks, args.alignment, view_net, retina_net, anchors)) for box, marks in faces]
        t2 = time.perf_counter()
        timings["decode"].append(t1 - t0)
        timings["detect"].append(t2 - t1)
        if not faces:
            continue
        box, marks = prominent(faces, image.shape[1], image.shape[0])
        aligned = cv2.warpAffine(image, similarity(marks.astype(np.float64), REFERENCE), (112, 112))
        t3 = time.perf_counter()
        rgb = aligned[:, :, ::-1].transpose(2, 0, 1).astype(np.float32)
        batch = np.stack([rgb, rgb[:, :, ::-1]])
        output = embedder.run(["fc1"], {"data": batch})[0]
        vector = output[0] + output[1]
        t4 = time.perf_counter()
        timings["align"].append(t3 - t2)
        timings["embed"].append(t4 - t3)
        templates[path] = (vector / np.linalg.norm(vector)).tolist()
    ms = {k: 1000 * float(np.mean(v)) if v else 0.0 for k, v in timings.items()}
    ms["total"] = ms["decode"] + ms["detect"] + ms["align"] + ms["embed"]
    json.dump({"engine": f"onnxruntime {ort.__version__} + opencv-python {cv2.__version__}",
               "images": len(paths), "faces": len(templates), "ms": ms, "templates": templates},
              open(args.output, "w"))


if __name__ == "__main__":
    main()
