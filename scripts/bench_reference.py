"""Reference face pipeline for `lineup-bench vision`: the same work as Lineup
(decode, detect, align, embed the most prominent face, with the mirrored face in
the same batch) on the same two ONNX models, through onnxruntime and OpenCV's
Python wheel, single-threaded. The detector runs at its shipped 640x640 input,
with the photo scaled down to fit if needed and zero-padded.

Usage: bench_reference.py --list FILE --detector ONNX --embedder ONNX --output JSON
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


def detect(net, image, size=640, threshold=0.87, floor=0.6, nms=0.3):
    """Faces at `threshold`, or the candidates down to `floor` when there are none (as Lineup's probes)."""
    h, w = image.shape[:2]
    scale = min(1.0, size / max(h, w))
    if scale < 1.0:
        image = cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    blob = np.zeros((1, 3, size, size), np.float32)
    blob[0, :, :image.shape[0], :image.shape[1]] = image.transpose(2, 0, 1)
    names = [f"{k}_{s}" for k in ("cls", "obj", "bbox", "kps") for s in STRIDES]
    out = dict(zip(names, net.run(names, {"input": blob})))
    boxes, scores, marks = [], [], []
    for s in STRIDES:
        cols = size // s
        score = np.sqrt(np.clip(out[f"cls_{s}"][0, :, 0], 0, 1) * np.clip(out[f"obj_{s}"][0, :, 0], 0, 1))
        keep = np.where(score >= floor)[0]
        col, row = (keep % cols).astype(np.float32), (keep // cols).astype(np.float32)
        bb, kp = out[f"bbox_{s}"][0, keep], out[f"kps_{s}"][0, keep]
        cx, cy = (col + bb[:, 0]) * s, (row + bb[:, 1]) * s
        bw, bh = np.exp(bb[:, 2]) * s, np.exp(bb[:, 3]) * s
        boxes.append(np.stack([cx - bw / 2, cy - bh / 2, bw, bh], 1))
        marks.append(np.stack([(kp[:, 0::2] + col[:, None]) * s, (kp[:, 1::2] + row[:, None]) * s], 2))
        scores.append(score[keep])
    boxes, scores, marks = np.concatenate(boxes) / scale, np.concatenate(scores), np.concatenate(marks) / scale
    if (scores >= threshold).any():
        boxes, scores, marks = boxes[scores >= threshold], scores[scores >= threshold], marks[scores >= threshold]
    kept = cv2.dnn.NMSBoxes(boxes.tolist(), scores.tolist(), floor, nms)
    return [(boxes[i], marks[i]) for i in np.array(kept).reshape(-1)]


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
    args = parser.parse_args()
    cv2.setNumThreads(1)
    detector, embedder = session(args.detector), session(args.embedder)
    paths = [line.strip() for line in open(args.list) if line.strip()]
    timings = {"decode": [], "detect": [], "align": [], "embed": []}
    templates = {}
    for warmup in paths[:3]:
        image = cv2.imread(warmup)
        faces = detect(detector, image)
        if faces:
            embedder.run(["fc1"], {"data": np.zeros((2, 3, 112, 112), np.float32)})
    for path in paths:
        t0 = time.perf_counter()
        image = cv2.imread(path, cv2.IMREAD_COLOR)
        t1 = time.perf_counter()
        faces = detect(detector, image)
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
