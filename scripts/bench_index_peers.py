"""Peer engines for `lineup-bench index`: hnswlib and faiss-cpu HNSW on the data
set Lineup wrote (base.fvecs, queries.fvecs, truth.ivecs, mated.txt), with the
same M, efConstruction, ef sweep, build threads and single-thread search; and, with
--rescored, faiss's 4-bit fast-scan product quantiser (two values a code, as
Lineup's scan index) re-scored on the float vectors, for each number of candidates.
Prints one JSON object per row on standard output."""
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


def measure(row, search, values, truth, mated, stop_at=None):
    """One row per value of `values` (ef or candidates re-scored): `row(value)` gives the
    row's fixed fields, `search(value)` the ids found for every query."""
    everyone = list(range(len(truth)))
    mated_rows = [i for i in everyone if mated[i]]
    other_rows = [i for i in everyone if not mated[i]]
    for value in values:
        start = time.perf_counter()
        found = search(value)
        elapsed = time.perf_counter() - start
        result = dict(row(value), recall=recall(found, truth, everyone),
                      recall_mated=recall(found, truth, mated_rows) if mated_rows else None,
                      recall_nonmated=recall(found, truth, other_rows) if other_rows else None,
                      qps=len(truth) / elapsed)
        print(json.dumps(result), flush=True)
        recalls = [r for r in (result["recall"], result["recall_mated"], result["recall_nonmated"]) if r is not None]
        if stop_at is not None and min(recalls) >= stop_at:
            break


def sweep(engine, search, args, n, dim, m, build_s, mem, truth, mated):
    measure(lambda ef: dict(engine=engine, n=n, dim=dim, M=m, ef=ef, rescored=None, build_s=build_s, mem_mb=mem / 1e6),
            search, args.ef, truth, mated, args.stop_at)


def scan_sweep(search, args, n, dim, build_s, mem, truth, mated):
    measure(lambda rescored: dict(engine="faiss-fastscan", n=n, dim=dim, M=None, ef=None, rescored=rescored,
                                  build_s=build_s, mem_mb=mem / 1e6),
            search, args.rescored, truth, mated)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--m", type=int, nargs="*", default=[])
    parser.add_argument("--ef-construction", type=int, required=True)
    parser.add_argument("--ef", type=int, nargs="+", required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--engines", nargs="+", default=["hnswlib", "faiss"])
    parser.add_argument("--rescored", type=int, nargs="*", default=[], help="fast-scan candidates re-scored, one row each")
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

    if "faiss" in args.engines and args.rescored and dim % 2 == 0:
        import faiss
        faiss.omp_set_num_threads(args.threads)
        before = resident_bytes()
        start = time.perf_counter()
        codes = faiss.IndexPQFastScan(dim, dim // 2, 4, faiss.METRIC_INNER_PRODUCT)
        index = faiss.IndexRefineFlat(codes)
        # Learnt from an even spread of at most 65,536 vectors, as Lineup's scan index learns.
        sample = base[np.linspace(0, n - 1, min(n, 65536)).astype(np.int64)]
        index.train(sample)
        index.add(base)
        build_s = time.perf_counter() - start
        mem = resident_bytes() - before
        faiss.omp_set_num_threads(1)

        def search(rescored):
            parameters = faiss.IndexRefineSearchParameters(k_factor=rescored / 10)
            _, labels = index.search(queries, 10, params=parameters)
            return labels.tolist()
        scan_sweep(search, args, n, dim, build_s, mem, truth.tolist(), mated)
        del index
    return 0


if __name__ == "__main__":
    sys.exit(main())
