#!/usr/bin/env bash
# Runs hnswlib and faiss-cpu for `lineup-bench index --peers` in their own Python
# environment (.lineup/venv-index, created on first use from pinned PyPI packages;
# hnswlib is built from its source package, with the machine's own CPU features).
# Arguments are passed to scripts/bench_index_peers.py.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.lineup/venv-index"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import hnswlib, faiss, numpy' 2>/dev/null; then
    printf '==> creating the index peers environment (hnswlib 0.8.0, faiss-cpu 1.9.0.post1)\n' >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check \
        numpy==2.1.3 faiss-cpu==1.9.0.post1 pybind11==2.13.6 setuptools==75.6.0 wheel==0.45.1 >&2 \
        || { echo "bench-index-peers: pip install failed" >&2; exit 1; }
    "$venv/bin/pip" install -q --disable-pip-version-check --no-build-isolation hnswlib==0.8.0 >&2 \
        || { echo "bench-index-peers: building hnswlib failed" >&2; exit 1; }
fi
exec "$venv/bin/python" "$root/scripts/bench_index_peers.py" "$@"
