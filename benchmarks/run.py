"""``make bench``: every benchmark, one table, one JSON file.

Each row: minigrad's median time, the reference's median time measured in the same
run (NumPy or PyTorch), and their ratio (< 1 means minigrad is faster). Targets from
the project's issues are shown beside each ratio.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import time

from benchmarks import common

SUITES = ["benchmarks.bench_kernels", "benchmarks.bench_training", "benchmarks.bench_viz"]


def machine() -> dict:
    info = dict(python=platform.python_version(), machine=platform.machine(), cpus=os.cpu_count(),
                omp_proc_bind=os.environ.get("OMP_PROC_BIND"), threads=os.environ.get("OMP_NUM_THREADS"))
    try:
        with open("/proc/cpuinfo") as f:
            info["cpu"] = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    import numpy
    info["numpy"] = numpy.__version__
    try:
        import numba
        info["numba"] = numba.__version__
    except ImportError:
        pass
    try:  # (read from the package metadata: torch is never imported in this process)
        from importlib.metadata import version
        info["torch"] = version("torch") + " (in its own process)"
    except Exception:
        info["torch"] = "not installed (PyTorch cases have no reference)"
    try:
        import threadpoolctl
        info["blas"] = [f"{p.get('internal_api')} {p.get('version')} {p.get('architecture')} kernels, "
                        f"{p.get('num_threads')} threads" for p in threadpoolctl.threadpool_info()
                        if p.get("user_api") == "blas"]
    except ImportError:
        pass
    info["OPENBLAS_CORETYPE"] = os.environ.get("OPENBLAS_CORETYPE")
    return info


def fmt(value, digits=3):
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def print_table(rows):
    width = max(len(r["case"]) for r in rows)
    print(f"{'case':<{width}}  {'minigrad ms':>11}  {'ref':>6}  {'ref ms':>9}  {'ratio':>6}  notes")
    for r in rows:
        notes = ", ".join(f"{k}={fmt(v)}" for k, v in r.items()
                          if k not in ("case", "minigrad_ms", "ref_name", "ref_ms", "ratio"))
        print(f"{r['case']:<{width}}  {fmt(r['minigrad_ms']):>11}  {r['ref_name']:>6}  "
              f"{fmt(r['ref_ms']):>9}  {fmt(r['ratio']):>6}  {notes}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--only", help="run only suites whose name contains this")
    parser.add_argument("--json", default="benchmarks/results/latest.json")
    parser.add_argument("--torch-malloc", choices=["default", "kept"], default="default",
                        help="PyTorch's allocator: as its users run it (default), or with glibc's "
                             "thresholds fixed as minigrad fixes its own (kept: PyTorch's fast state)")
    args = parser.parse_args(argv)
    common.TORCH_MALLOC = args.torch_malloc
    rows = []
    for name in SUITES:
        if args.only and args.only not in name:
            continue
        try:
            module = importlib.import_module(name)
        except ImportError as err:
            print(f"skipping {name}: {err}", file=sys.stderr)
            continue
        start = time.perf_counter()
        suite_rows = module.run(quick=args.quick)
        print(f"{name}: {len(suite_rows)} cases in {time.perf_counter() - start:.0f} s", file=sys.stderr)
        rows += suite_rows
    info = machine()
    info["torch_malloc"] = args.torch_malloc
    print("machine:", ", ".join(f"{k}={v}" for k, v in info.items()))
    print_table(rows)
    os.makedirs(os.path.dirname(args.json), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(dict(machine=info, rows=rows), f, indent=1)
    print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
