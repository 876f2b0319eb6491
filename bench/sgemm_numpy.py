"""numpy sgemm (float32 matmul through its BLAS, OpenBLAS in the PyPI wheels) on this machine: the CPU
ceiling beside the native lavapipe figures of `crates/scalelab-gpu/examples/matmul_gflops.rs`.

Prints one line per size: `n GFLOP/s seconds` (best of 5 after a warm-up; GFLOP/s = 2n^3 / seconds)
after the numpy version and its BLAS. Run (from the repository root):
  python3 -m venv /tmp/venv-k && /tmp/venv-k/bin/pip install numpy
  /tmp/venv-k/bin/python bench/sgemm_numpy.py 256 512 1024
"""

import sys
import time

import numpy as np


def blas_name():
    try:
        cfg = np.show_config(mode="dicts")
        return cfg["Build Dependencies"]["blas"]["name"]
    except Exception:  # older numpy: no dict mode
        return "unknown BLAS"


def main():
    sizes = [int(a) for a in sys.argv[1:]] or [256, 512, 1024]
    print(f"numpy {np.__version__} ({blas_name()})")
    rng = np.random.default_rng(1)
    for n in sizes:
        a = rng.uniform(-4, 4, (n, n)).astype(np.float32)
        b = rng.uniform(-4, 4, (n, n)).astype(np.float32)
        a @ b
        best = float("inf")
        for _ in range(5):
            t = time.perf_counter()
            a @ b
            best = min(best, time.perf_counter() - t)
        print(f"{n} {2 * n**3 / best / 1e9:.3f} {best:.6f}")


if __name__ == "__main__":
    main()
