"""Peer engines for `lineup-bench index`: hnswlib and faiss-cpu HNSW on the data
set Lineup wrote (base.fvecs, queries.fvecs, truth.ivecs, mated.txt), with the
same M, efConstruction, ef sweep, build threads and single-thread search.
Prints one JSON object per (engine, M, ef) row on standard output."""
import argparse
import ctypes
import json
import os
import sys
import time

import numpy as np


def read_vecs(path, dtype):
    raw = np.fromfile(path, dtype=np.int32)
    dim = int(raw[0])
    rows = raw.reshape(-1, dim + 1)[:, 1:]
    return np.ascontiguousarray(rows.view(dtype))


def resident_bytes():
    """Resident memory, after freed memory is handed back (as Lineup measures it)."""
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def recall(found, truth, rows):
    hits = sum(len(set(found[i][:10]) & set(truth[i][:10])) for i in rows)
    return hits / (10 * len(rows))


def sweep(engine, search, args, n, dim, m, build_s, mem, truth, mated):
    everyone = list(range(len(truth)))
    mated_rows = [i for i in everyone if mated[i]]
    other_rows = [i for i in everyone if not mated[i]]
    for ef in args.ef:
        start = time.perf_counter()
        found = search(ef)
        elapsed = time.perf_counter() - start
        row = dict(engine=engine, n=n, dim=dim, M=m, ef=ef, recall=recall(found, truth, everyone),
                   recall_mated=recall(found, truth, mated_rows) if mated_rows else None,
                   recall_nonmated=recall(found, truth, other_rows) if other_rows else None,
                   qps=len(truth) / elapsed, build_s=build_s, mem_mb=mem / 1e6)
        print(json.dumps(row), flush=True)
        if min(r for r in (row["recall"], row["recall_mated"], row["recall_nonmated"]) if r is not None) >= args.stop_at:
            break


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--m", type=int, nargs="+", required=True)
    parser.add_argument("--ef-construction", type=int, required=True)
    parser.add_argument("--ef", type=int, nargs="+", required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--engines", nargs="+", default=["hnswlib", "faiss"])
    parser.add_argument("--stop-at", type=float, default=1.0, help="end a sweep once every query group reaches this recall")
    args = parser.parse_args()

    base = read_vecs(os.path.join(args.dir, "base.fvecs"), np.float32)
    queries = read_vecs(os.path.join(args.dir, "queries.fvecs"), np.float32)
    truth = read_vecs(os.path.join(args.dir, "truth.ivecs"), np.int32)
    with open(os.path.join(args.dir, "mated.txt")) as f:
        mated = [line.strip() == "1" for line in f]
    n, dim = base.shape

    for m in args.m:
        if "hnswlib" in args.engines:
            import hnswlib
            before = resident_bytes()
            start = time.perf_counter()
            index = hnswlib.Index(space="ip", dim=dim)
            index.init_index(max_elements=n, M=m, ef_construction=args.ef_construction, random_seed=42)
            index.set_num_threads(args.threads)
            index.add_items(base, np.arange(n))
            build_s = time.perf_counter() - start
            mem = resident_bytes() - before
            index.set_num_threads(1)

            def search(ef):
                index.set_ef(ef)
                labels, _ = index.knn_query(queries, k=10)
                return labels.tolist()
            sweep("hnswlib", search, args, n, dim, m, build_s, mem, truth.tolist(), mated)
            del index

        if "faiss" in args.engines:
            import faiss
            faiss.omp_set_num_threads(args.threads)
            before = resident_bytes()
            start = time.perf_counter()
            index = faiss.IndexHNSWFlat(dim, m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = args.ef_construction
            index.add(base)
            build_s = time.perf_counter() - start
            mem = resident_bytes() - before
            faiss.omp_set_num_threads(1)

            def search(ef):
                index.hnsw.efSearch = ef
                _, labels = index.search(queries, 10)
                return labels.tolist()
            sweep("faiss", search, args, n, dim, m, build_s, mem, truth.tolist(), mated)
            del index
    return 0


if __name__ == "__main__":
    sys.exit(main())
