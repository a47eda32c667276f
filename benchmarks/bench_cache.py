"""What the store of compiled artifacts costs a warm fit (issue 12). Run by hand:

    .venv/bin/python benchmarks/bench_cache.py

Times (median of repeats, in a temporary folder) a hit of read_artifact for an
exported program's size (60 KB) and a larger one (1 MB), write_artifact (with its
fsync and the prune that follows), prune over 500 files, and the import of
bayesglm._cache's own modules (platformdirs included) in a fresh process; writes
benchmarks/results/cache.md.
"""

from __future__ import annotations

import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "cache.md"


def _median_ms(run, repeats: int, *args) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run(*args)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def _own_import_ms() -> float:
    """Self time of the modules ``import bayesglm._cache`` adds to ``import bayesglm``."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import bayesglm._cache"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stderr
    own_us = 0
    for line in out.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+\d+ \|\s*(\S+)", line)
        if match and (match[2] == "bayesglm._cache" or match[2].startswith("platformdirs")):
            own_us += int(match[1])
    return own_us / 1000


def main() -> None:
    from bayesglm import _cache

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        os.environ["BAYESGLM_CACHE_DIR"] = folder
        for size in (60_000, 1_000_000):
            key = {"family": "poisson", "n_bucket": 64, "size": size}
            payload = os.urandom(size)
            write = _median_ms(_cache.write_artifact, 30, "bench", key, payload)
            read = _median_ms(_cache.read_artifact, 200, "bench", key)
            assert _cache.read_artifact("bench", key) == payload
            rows.append((f"read_artifact hit, {size // 1000} KB", read))
            rows.append((f"write_artifact, {size // 1000} KB (fsync, rename, prune)", write))
        for i in range(500):
            _cache.write_artifact("bench", {"i": i}, b"x" * 1000)
        rows.append(("prune, 500 files, nothing to remove", _median_ms(_cache.prune, 20)))
        rows.append(("info, 500 files", _median_ms(_cache.info, 20)))
    rows.append(("import of bayesglm._cache and platformdirs (self time)", _own_import_ms()))
    load = os.getloadavg()[0]
    lines = [
        "# The store of compiled artifacts",
        "",
        f"`python benchmarks/bench_cache.py` on {platform.machine()}, "
        f"{os.cpu_count()} cores, load average {load:.1f} when run.",
        "",
        "| operation | median ms |",
        "|---|---|",
        *(f"| {name} | {ms:.2f} |" for name, ms in rows),
        "",
    ]
    RESULTS.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
