#!/usr/bin/env bash
# Runs the onnxruntime reference pipeline of `lineup-bench vision` in its own
# Python environment (.lineup/venv-bench, created on first use from pinned PyPI
# packages). Arguments are passed to scripts/bench_reference.py.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.lineup/venv-bench"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import onnxruntime, cv2, numpy' 2>/dev/null; then
    printf '==> creating the benchmark reference environment\n' >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check \
        onnxruntime==1.20.1 opencv-python-headless==4.10.0.84 numpy==2.1.3 >&2 \
        || { echo "bench-reference: pip install failed" >&2; exit 1; }
fi
exec "$venv/bin/python" "$root/scripts/bench_reference.py" "$@"
