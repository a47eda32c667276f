"""Benchmark of bayesglm's maximum-likelihood IRLS against glum and statsmodels.

Run from the repository root::

    .venv/bin/python benchmarks/bench_irls.py                 # n=1e6, p=50 (a few minutes)
    .venv/bin/python benchmarks/bench_irls.py --quick         # n=1e5, p=20 smoke run

For the bernoulli (logistic) and poisson (log) families, on simulated data (an
intercept column plus standard-normal predictors, true coefficients ~ N(0, 0.1²)),
it measures in one run:

1. wall time of ``bayesglm.fit_mle``, glum's ``GeneralizedLinearRegressor`` (alpha=0,
   no penalty) and statsmodels' ``GLM.fit()`` (IRLS), and the "floor": bayesglm's
   number of IRLS iterations times one X'WX by the fastest of four kernels
   (``X.T @ (X * w[:, None])``, a blocked dsyrk pass, bayesglm's row-parallel
   kernel, and tabmat's ``sandwich``, glum's own);
2. working memory of each fitter: peak traced bytes (tracemalloc, which sees numpy's
   buffers) above the already-allocated input, in a fresh subprocess per fitter, as a
   multiple of ``X.nbytes``; and the peak-RSS increase as a cross-check;
3. accuracy: max |beta_a - beta_b| / se_statsmodels between the fitters;
4. latency on a small problem (n=10,000, p=10), median of several repeats;

plus a breakdown of where bayesglm's time goes (inclusive time per internal
function, from one instrumented fit). Results go to ``benchmarks/results/irls.md``
(Markdown) and to stdout.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from scipy import special
from scipy.linalg import blas

HERE = Path(__file__).resolve().parent
FAMILIES = ("bernoulli", "poisson")
GLUM_FAMILY = {"bernoulli": "binomial", "poisson": "poisson"}
FITTERS = ("bayesglm", "glum", "statsmodels")
_GEN_CHUNK = 1 << 16  # rows generated at a time, so making X needs no copy of X
_BLOCK_BYTES = 1 << 22  # rows per dsyrk block in the floor: about 4 MB
_SETTLE_SECONDS = 0.5  # idle time before each timed call

# --- data -----------------------------------------------------------------------------


def make_X(n: int, p: int, seed: int) -> np.ndarray:
    """Intercept column plus standard-normal predictors, filled in row chunks."""
    rng = np.random.default_rng([seed, 0])
    X = np.empty((n, p))
    X[:, 0] = 1.0
    for lo in range(0, n, _GEN_CHUNK):
        hi = min(lo + _GEN_CHUNK, n)
        X[lo:hi, 1:] = rng.standard_normal((hi - lo, p - 1))
    return X


def make_y(X: np.ndarray, family: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Response and the true coefficients, N(0, 0.1²) (moderate probabilities/rates)."""
    rng = np.random.default_rng([seed, 1 + FAMILIES.index(family)])
    beta = rng.normal(0.0, 0.1, X.shape[1])
    eta = X @ beta
    if family == "bernoulli":
        y = (rng.random(X.shape[0]) < special.expit(eta)).astype(float)
    else:
        y = rng.poisson(np.exp(eta)).astype(float)
    return y, beta


# --- fitters ----------------------------------------------------------------------------


def fit_bayesglm(X: np.ndarray, y: np.ndarray, family: str, opts: dict) -> dict[str, Any]:
    import bayesglm

    names = [f"x{j}" for j in range(X.shape[1])]
    fit = bayesglm.fit_mle(X, y, family=family, names=names)
    return {"params": np.asarray(fit.params), "n_iter": fit.n_iter, "converged": fit.converged}


def fit_glum(X: np.ndarray, y: np.ndarray, family: str, opts: dict) -> dict[str, Any]:
    from glum import GeneralizedLinearRegressor

    model = GeneralizedLinearRegressor(
        family=GLUM_FAMILY[family],
        alpha=0,
        fit_intercept=False,
        gradient_tol=opts["glum_tol"],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y)
    return {"params": np.asarray(model.coef_), "n_iter": int(model.n_iter_), "converged": True}


def fit_statsmodels(X: np.ndarray, y: np.ndarray, family: str, opts: dict) -> dict[str, Any]:
    import statsmodels.api as sm

    fam = sm.families.Binomial() if family == "bernoulli" else sm.families.Poisson()
    res = sm.GLM(y, X, family=fam).fit()
    return {
        "params": np.asarray(res.params),
        "bse": np.asarray(res.bse),
        "n_iter": int(res.fit_history["iteration"]),
        "converged": bool(res.converged),
    }


FIT: dict[str, Callable[..., dict[str, Any]]] = {
    "bayesglm": fit_bayesglm,
    "glum": fit_glum,
    "statsmodels": fit_statsmodels,
}

# --- the floor: one X'WX ------------------------------------------------------------


def irls_weights(X: np.ndarray, family: str, beta: np.ndarray) -> np.ndarray:
    """Fisher weights of the canonical link: mu(1 - mu) (logit) or mu (log)."""
    eta = X @ beta
    if family == "bernoulli":
        mu = special.expit(eta)
        return mu * (1.0 - mu)
    return np.exp(eta)


def gram_numpy(X: np.ndarray, w: np.ndarray) -> np.ndarray:
    return X.T @ (X * w[:, None])


def gram_dsyrk(X: np.ndarray, w: np.ndarray) -> np.ndarray:
    """One blocked pass: dsyrk on ~4 MB blocks of sqrt(w)-scaled rows."""
    n, p = X.shape
    block = max(256, _BLOCK_BYTES // (8 * p))
    gram = np.zeros((p, p))
    sqrt_w = np.sqrt(w)
    for lo in range(0, n, block):
        rows = X[lo : lo + block] * sqrt_w[lo : lo + block, None]
        gram = blas.dsyrk(1.0, rows.T, c=gram, beta=1.0, overwrite_c=True)
    return np.triu(gram) + np.triu(gram, 1).T


def gram_bayesglm(X: np.ndarray, w: np.ndarray) -> np.ndarray:
    """bayesglm's kernel: row ranges in threads, cache-sized blocks, BLAS syrk."""
    from bayesglm._rowpass import weighted_gram

    return weighted_gram(X, w)


def gram_tabmat(X: np.ndarray, w: np.ndarray) -> np.ndarray:
    """glum's kernel: tabmat's dense sandwich product (OpenMP)."""
    import tabmat

    return tabmat.DenseMatrix(X).sandwich(w)


# The X'WX kernels the floor takes the fastest of.
GRAM_KERNELS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "numpy": gram_numpy,
    "dsyrk": gram_dsyrk,
    "bayesglm": gram_bayesglm,
    "tabmat": gram_tabmat,
}


# --- timing helpers -------------------------------------------------------------------


def _cpu_now() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(
    fn: Callable[[], Any], repeat: int, cpu: list[float] | None = None
) -> tuple[list[float], Any]:
    """Wall times of repeat calls (and, into cpu, this process's CPU seconds, all threads)."""
    times, out = [], None
    for _ in range(repeat):
        gc.collect()
        # Let the previous call's BLAS/OpenMP worker threads stop spin-waiting: on two
        # cores they would otherwise take the CPU from whatever runs next.
        time.sleep(_SETTLE_SECONDS)
        c0, t0 = _cpu_now(), time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
        if cpu is not None:
            cpu.append(_cpu_now() - c0)
    return times, out


def med(times: list[float]) -> float:
    return float(statistics.median(times))


def breakdown_bayesglm(X: np.ndarray, y: np.ndarray, family: str) -> list[tuple[str, int, float]]:
    """Inclusive time and call count of bayesglm's internal steps in one fit.

    Wraps module-level functions of the IRLS modules for the duration of one fit
    (the package itself is not modified) and restores them afterwards. A function is
    wrapped where its callers look it up: in the module that calls it.
    """
    import importlib

    import bayesglm.irls as irls

    candidates = [
        ("irls", "design_from_arrays"),
        ("normal_equations", "_aliased_columns"),
        ("fisher_scoring", "_first_state"),
        ("fisher_scoring", "iterate"),
        ("irls", "assemble"),
        ("fisher_scoring", "sweep"),  # one pass over X: fit, deviance, X'WX and score
        ("normal_equations", "_factor"),
        ("fisher_scoring", "_halve"),
        ("separation", "_separated_columns"),
    ]
    # Only what this version of bayesglm has: internals get renamed.
    found = []
    for module_name, name in candidates:
        try:
            module = importlib.import_module(f"bayesglm.{module_name}")
        except ImportError:
            continue
        if callable(getattr(module, name, None)):
            found.append((module, name))
    names = [name for _, name in found]
    stats: dict[str, list[float]] = {name: [0, 0.0] for name in names}
    solver = getattr(importlib.import_module("bayesglm.normal_equations"), "Solver", None)
    saved_step = getattr(solver, "step", None)
    if saved_step is not None:
        stats["Solver.step"] = [0, 0.0]
    saved = {name: getattr(module, name) for module, name in found}

    def wrap(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def inner(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                stats[name][0] += 1
                stats[name][1] += time.perf_counter() - t0

        return inner

    try:
        for module, name in found:
            setattr(module, name, wrap(name, saved[name]))
        if saved_step is not None:
            solver.step = wrap("Solver.step", saved_step)
        gc.collect()
        t0 = time.perf_counter()
        fit = irls.fit_mle(X, y, family=family, names=[f"x{j}" for j in range(X.shape[1])])
        total = time.perf_counter() - t0
    finally:
        for module, name in found:
            setattr(module, name, saved[name])
        if saved_step is not None:
            solver.step = saved_step
    rows = [("fit_mle (total)", 1, total), ("  n_iter reported", fit.n_iter, 0.0)]
    rows += [(name, int(c), t) for name, (c, t) in stats.items()]
    return rows


# --- memory (subprocess) -----------------------------------------------------------------


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def _reset_peak_rss() -> bool:
    """Reset the kernel's RSS high-water mark to the current RSS (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def child_memory(args: argparse.Namespace) -> None:
    """Run in a fresh process: one fitter on one family, print JSON of its peaks."""
    fitter, family = args.child_memory
    opts = {"glum_tol": args.glum_tol}
    _limiter = limit_threads(args.blas_threads)  # kept alive: the cap lasts as long as it
    # Import and warm up on tiny data so lazy imports are not charged to the fit.
    Xs = make_X(2000, min(args.p, 5), args.seed + 1)
    ys, _ = make_y(Xs, family, args.seed + 1)
    FIT[fitter](Xs, ys, family, opts)
    del Xs, ys
    X = make_X(args.n, args.p, args.seed)
    y, _ = make_y(X, family, args.seed)
    gc.collect()
    reset = _reset_peak_rss()
    rss_before = _status_kib("VmRSS") * 1024
    hwm_before = _status_kib("VmHWM") * 1024
    maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    tracemalloc.start()
    t0 = time.perf_counter()
    out = FIT[fitter](X, y, family, opts)
    seconds = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    hwm_after = _status_kib("VmHWM") * 1024
    maxrss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    if reset:  # the high-water mark starts at the current RSS: an exact increase
        rss_increase = hwm_after - rss_before
    else:  # ru_maxrss cannot be reset: a lower bound when an earlier peak was higher
        rss_increase = max(0, maxrss_after - max(rss_before, maxrss_before))
    print(
        json.dumps(
            {
                "fitter": fitter,
                "family": family,
                "x_bytes": X.nbytes,
                "peak_traced": peak,
                "rss_before": rss_before,
                "hwm_before": hwm_before,
                "hwm_after": hwm_after,
                "maxrss_before": maxrss_before,
                "maxrss_after": maxrss_after,
                "peak_reset": reset,
                "rss_increase": rss_increase,
                "seconds_traced": seconds,
                "n_iter": out["n_iter"],
            }
        )
    )


def measure_memory(fitter: str, family: str, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child-memory",
        fitter,
        family,
        "--n",
        str(args.n),
        "--p",
        str(args.p),
        "--seed",
        str(args.seed),
        "--glum-tol",
        str(args.glum_tol),
    ]
    if args.blas_threads:
        cmd += ["--blas-threads", str(args.blas_threads)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"memory child {fitter}/{family} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def limit_threads(n: int | None) -> Any:
    """Cap every BLAS/OpenMP pool at n threads (None: leave the defaults)."""
    if not n:
        return None
    import glum  # noqa: F401  (load tabmat's OpenMP runtime first, so it is capped too)
    import scipy.linalg  # noqa: F401
    import statsmodels.api  # noqa: F401
    from threadpoolctl import threadpool_limits

    import bayesglm  # noqa: F401

    return threadpool_limits(limits=n)


# --- environment --------------------------------------------------------------------------


def environment() -> dict[str, str]:
    import glum  # also loads tabmat's OpenMP runtime, so threadpoolctl lists it
    import scipy
    import scipy.linalg  # loads scipy's own OpenBLAS
    import statsmodels

    info = {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "glum": glum.__version__,
        "statsmodels": statsmodels.__version__,
        "bayesglm": _bayesglm_source(),
        "cores": str(os.cpu_count()),
        "cpu": _cpu_model(),
        "memory": _memory_total(),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "(unset)"),
        "OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE", "(unset)"),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "(unset)"),
    }
    try:
        from threadpoolctl import threadpool_info

        pools = []
        for pool in threadpool_info():
            lib = Path(pool["filepath"]).parent.name + "/" + Path(pool["filepath"]).name
            pools.append(
                f"{pool['internal_api']} {pool.get('version') or ''} "
                f"{pool.get('architecture') or ''} threads={pool['num_threads']} ({lib})".strip()
            )
        info["blas"] = "; ".join(pools)
    except ImportError:
        cfg = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        info["blas"] = f"{cfg['name']} {cfg.get('version', '')} (numpy build config)"
    return info


def _bayesglm_source() -> str:
    """Where bayesglm was imported from, its git commit (if any) and a hash of the
    IRLS modules."""
    import hashlib

    import bayesglm

    where = Path(bayesglm.__file__).resolve().parent
    parts = ["irls", "sweep", "normal_equations", "fisher_scoring", "nb_theta", "separation"]
    files = [where / f"{part}.py" for part in (*parts, "mle_assembly", "_rowpass")]
    source = b"".join(path.read_bytes() for path in files if path.exists())
    digest = hashlib.sha256(source).hexdigest()[:12] if source else "?"
    commit = "not a git checkout"
    try:
        head = subprocess.run(
            ["git", "-C", str(where), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(where), "status", "--porcelain", "--", "."],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        commit = f"git {head}" + (" + uncommitted changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        pass
    return f"{bayesglm.__version__} from {where} ({commit}; sha256(IRLS modules)={digest})"


def _busy_seconds() -> float:
    """CPU seconds all processes have used (from /proc/stat), 0 where unreadable."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _own_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


class BackgroundLoad:
    """Average number of cores that other processes kept busy since ``start``."""

    def __init__(self) -> None:
        self.start()

    def start(self) -> None:
        self.t0, self.busy0, self.own0 = time.perf_counter(), _busy_seconds(), _own_seconds()

    def cores(self) -> float:
        elapsed = time.perf_counter() - self.t0
        other = (_busy_seconds() - self.busy0) - (_own_seconds() - self.own0)
        return max(0.0, other) / elapsed if elapsed > 0 else 0.0


def wait_for_quiet(max_wait: float, log: Callable[[str], None]) -> float:
    """Wait (up to max_wait s) until other processes use under 0.2 core; return that use."""
    deadline = time.perf_counter() + max_wait
    while True:
        probe = BackgroundLoad()
        time.sleep(3.0)
        load = probe.cores()
        if load < 0.2 or time.perf_counter() >= deadline:
            return load
        log(f"other processes use {load:.2f} cores; waiting for a quiet machine")
        time.sleep(10.0)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_total() -> str:
    try:
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split()[1])
        return f"{kb / 2**20:.1f} GiB"
    except (OSError, ValueError, IndexError):
        return "unknown"


# --- report ---------------------------------------------------------------------------------


def fmt_s(times: list[float]) -> str:
    return f"{med(times):.2f} (min {min(times):.2f})"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report(env: dict, args: argparse.Namespace, large: dict, memory: dict, small: dict) -> str:
    L: list[str] = []
    L.append("# IRLS benchmark: bayesglm.fit_mle vs glum vs statsmodels\n")
    L.append(f"- date: {env['date']}")
    L.append(f"- command: `{env['command']}`")
    L.append(
        f"- machine: {env['cores']} cores ({env['cpu']}), {env['memory']} RAM; "
        f"python {env['python']}"
    )
    L.append(f"- bayesglm {env['bayesglm']}")
    L.append(
        f"- numpy {env['numpy']}, scipy {env['scipy']}, glum {env['glum']}, "
        f"statsmodels {env['statsmodels']}"
    )
    L.append(f"- BLAS / thread pools (threadpoolctl): {env['blas']}")
    L.append(
        f"- OPENBLAS_CORETYPE={env['OPENBLAS_CORETYPE']}, "
        f"OPENBLAS_L2_SIZE={env['OPENBLAS_L2_SIZE']}, OMP_NUM_THREADS={env['OMP_NUM_THREADS']}; "
        f"thread cap (--blas-threads): {args.blas_threads or 'none (library defaults)'}"
    )
    L.append(
        f"- data: intercept + N(0,1) predictors, beta ~ N(0, 0.1²), seed {args.seed}; "
        f"glum gradient_tol={args.glum_tol:g}; statsmodels default IRLS"
    )
    L.append(
        f"- other processes' CPU use: {env['load_before']:.2f} cores just before, "
        f"{env['load_during']:.2f} cores on average during the run (of {env['cores']}; "
        "more than ~0.2 means the timings were disturbed)"
    )
    L.append(
        f"- times in seconds: median of {args.repeat} runs (min in brackets), bayesglm, "
        f"glum and the X'WX timings interleaved round by round; statsmodels "
        f"{args.sm_repeat} run(s)\n"
    )

    n, p = args.n, args.p
    L.append(f"## 1. Large: n = {n:,}, p = {p} (X is {n * p * 8 / 2**20:.0f} MiB)\n")
    kernels = list(GRAM_KERNELS)
    L.append(
        "| family | iterations bayesglm / glum | bayesglm s | glum s | statsmodels s | "
        + " | ".join(f"1 X'WX {k} s" for k in kernels)
        + " | floor s | bayesglm/glum | bayesglm/statsmodels | bayesglm/floor | glum/floor |"
    )
    L.append("|" + "---|" * (10 + len(kernels)))
    for fam in FAMILIES:
        r = large[fam]
        b, g = med(r["bayesglm"]), med(r["glum"])
        L.append(
            f"| {fam} | {r['n_iter']} / {r['glum_iter']} | {fmt_s(r['bayesglm'])} "
            f"| {fmt_s(r['glum'])} | {fmt_s(r['statsmodels'])} | "
            + " | ".join(f"{med(r['gram_' + k]):.3f}" for k in kernels)
            + f" | {r['floor']:.2f} | {b / g:.2f} | {b / med(r['statsmodels']):.3f} "
            f"| {b / r['floor']:.2f} | {g / (r['glum_iter'] * r['gram']):.2f} |"
        )
    L.append(
        "\nfloor = bayesglm's iterations × the fastest X'WX kernel (median); glum/floor "
        "uses glum's own iterations. bayesglm's iterations count R's way (the first "
        "weighted least-squares fit from the starting means is iteration 1); it reads X "
        "once per iteration plus once for that start. statsmodels: "
        + "; ".join(f"{fam} {large[fam]['sm_iter']} iterations" for fam in FAMILIES)
        + ". One pass over X for reference: "
        + "; ".join(
            f"X @ b {med(large[fam]['xb']) * 1e3:.0f} ms, X.T @ v "
            f"{med(large[fam]['xtv']) * 1e3:.0f} ms"
            for fam in FAMILIES[:1]
        )
        + ".\n"
    )

    L.append(
        "CPU seconds of this process (all its threads; median), a cross-check that is "
        "less sensitive to other processes than wall time:\n"
    )
    L.append(
        "| family | bayesglm CPU s | glum CPU s | "
        + " | ".join(f"1 X'WX {k} CPU s" for k in kernels)
        + " | bayesglm/glum (CPU) | bayesglm/floor (CPU) |"
    )
    L.append("|" + "---|" * (5 + len(kernels)))
    for fam in FAMILIES:
        r = large[fam]
        b, g = med(r["bayesglm_cpu"]), med(r["glum_cpu"])
        floor_cpu = r["n_iter"] * min(med(r[f"gram_{k}_cpu"]) for k in kernels)
        L.append(
            f"| {fam} | {b:.2f} | {g:.2f} | "
            + " | ".join(f"{med(r[f'gram_{k}_cpu']):.3f}" for k in kernels)
            + f" | {b / g:.2f} | {b / floor_cpu:.2f} |"
        )
    L.append("")
    L.append("## 2. Working memory (fresh subprocess per fitter)\n")
    L.append(
        "Peak extra memory during the fit, above the already allocated X and y, as a "
        "multiple of X.nbytes. tracemalloc sees numpy's buffers (not BLAS/OpenMP "
        "internals); the peak-RSS increase is the cross-check (VmHWM after resetting it "
        "through /proc/self/clear_refs; ru_maxrss where that is refused).\n"
    )
    L.append("| family | fitter | peak traced / X | peak RSS increase / X | fit s (traced) |")
    L.append("|---|---|---|---|---|")
    for fam in FAMILIES:
        for fitter in FITTERS:
            m = memory.get((fitter, fam))
            if m is None:
                continue
            L.append(
                f"| {fam} | {fitter} | {m['peak_traced'] / m['x_bytes']:.2f} "
                f"| {m['rss_increase'] / m['x_bytes']:.2f} | {m['seconds_traced']:.1f} |"
            )

    L.append("\n## 3. Accuracy at the large size (in statsmodels standard errors)\n")
    L.append(
        "| family | max abs(b_bayesglm - b_statsmodels)/se | max abs(b_bayesglm - b_glum)/se "
        "| max abs(b_glum - b_statsmodels)/se | max abs(b_bayesglm - b_true)/se |"
    )
    L.append("|---|---|---|---|---|")
    for fam in FAMILIES:
        a = large[fam]["accuracy"]
        L.append(
            f"| {fam} | {a['bayes_sm']:.2e} | {a['bayes_glum']:.2e} | {a['glum_sm']:.2e} "
            f"| {a['bayes_true']:.2f} |"
        )

    L.append(
        f"\n## 4. Small: n = {args.small_n:,}, p = {args.small_p} "
        f"(median of {args.small_repeat} runs, ms)\n"
    )
    L.append("| family | bayesglm ms | glum ms | statsmodels ms | bayesglm/glum |")
    L.append("|---|---|---|---|---|")
    for fam in FAMILIES:
        s = small[fam]
        L.append(
            f"| {fam} | {med(s['bayesglm']) * 1e3:.1f} | {med(s['glum']) * 1e3:.1f} "
            f"| {med(s['statsmodels']) * 1e3:.1f} "
            f"| {med(s['bayesglm']) / med(s['glum']):.2f} |"
        )

    L.append("\n## Where bayesglm's time goes (one instrumented fit, inclusive seconds)\n")
    L.append("| step | " + " | ".join(f"{fam} calls | {fam} s" for fam in FAMILIES) + " |")
    L.append("|---|" + "---|---|" * len(FAMILIES))
    rows = [name for name, _, _ in large[FAMILIES[0]]["breakdown"]]
    for i, name in enumerate(rows):
        cells = []
        for fam in FAMILIES:
            _, calls, secs = large[fam]["breakdown"][i]
            cells.append(f"{calls} | {secs:.3f}" if secs else f"{calls} | ")
        L.append(f"| {name} | " + " | ".join(cells) + " |")

    L.append(
        "\n## Targets at the large size (verdict on median times; the ratio of the "
        "fastest runs in brackets; memory by tracemalloc, RSS in brackets)\n"
    )
    L.append("| target | " + " | ".join(FAMILIES) + " |")
    L.append("|---|" + "---|" * len(FAMILIES))
    kernel_note = {
        "numpy": "numpy X.T @ (X * w)",
        "dsyrk": "blocked dsyrk, what a plain scipy IRLS does",
        "bayesglm": "bayesglm's row-parallel kernel",
        "tabmat": "tabmat's sandwich, glum's kernel",
    }
    labels = ["bayesglm no slower than glum"]
    labels += [f"within 1.5× of the floor by {kernel_note[k]}" for k in kernels]
    labels.append("working memory ≤ 1× X bytes")
    for label in labels:
        cells = []
        for fam in FAMILIES:
            r, m = large[fam], memory.get(("bayesglm", fam))
            if label.startswith("bayesglm no"):
                ratio = med(r["bayesglm"]) / med(r["glum"])
                best = min(r["bayesglm"]) / min(r["glum"])
                cells.append(f"{verdict(ratio <= 1.0)} ({ratio:.2f}×; fastest {best:.2f}×)")
            elif label.startswith("within"):
                key = "gram_" + next(k for k in kernels if kernel_note[k] in label)
                ratio = med(r["bayesglm"]) / (r["n_iter"] * med(r[key]))
                best = min(r["bayesglm"]) / (r["n_iter"] * min(r[key]))
                glum = med(r["glum"]) / (r["glum_iter"] * med(r[key]))
                cells.append(
                    f"{verdict(ratio <= 1.5)} ({ratio:.2f}×; fastest {best:.2f}×; "
                    f"glum {glum:.2f}×)"
                )
            elif m is None:
                cells.append("not measured")
            else:
                ratio = m["peak_traced"] / m["x_bytes"]
                rss = m["rss_increase"] / m["x_bytes"]
                cells.append(f"{verdict(ratio <= 1.0)} ({ratio:.2f}×; RSS {rss:.2f}×)")
        L.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(L) + "\n"


# --- main -----------------------------------------------------------------------------------


def run_large(args: argparse.Namespace, opts: dict, log: Callable[[str], None]) -> dict:
    out: dict[str, dict] = {}
    X = make_X(args.n, args.p, args.seed)
    for fam in FAMILIES:
        y, beta_true = make_y(X, fam, args.seed)
        r: dict[str, Any] = {}
        # Warm up (imports, first-touch of code paths) on a slice.
        for fitter in FITTERS:
            FIT[fitter](X[:20_000], y[:20_000], fam, opts)
        # Interleaved rounds, so that the fitters and the floor see the same machine
        # state (on a shared VM the speed drifts over tens of seconds).
        grams = ["gram_" + kernel for kernel in GRAM_KERNELS]
        for key in ("bayesglm", "glum", "xb", "xtv", *grams):
            r[key], r[key + "_cpu"] = [], []
        w = v = fb = fg = None
        for _ in range(args.repeat):
            t, fb = timed(
                lambda X=X, y=y, fam=fam: fit_bayesglm(X, y, fam, opts), 1, r["bayesglm_cpu"]
            )
            r["bayesglm"] += t
            t, fg = timed(lambda X=X, y=y, fam=fam: fit_glum(X, y, fam, opts), 1, r["glum_cpu"])
            r["glum"] += t
            if w is None:
                w = irls_weights(X, fam, fb["params"])
                v = np.random.default_rng(0).standard_normal(args.n)
            reference = None
            for kernel, gram in GRAM_KERNELS.items():
                key = "gram_" + kernel
                t, g = timed(lambda X=X, w=w, gram=gram: gram(X, w), 1, r[key + "_cpu"])
                r[key] += t
                reference = g if reference is None else reference
                assert np.allclose(g, reference, rtol=1e-8, atol=0), kernel
            r["xb"] += timed(lambda X=X, b=fb["params"]: X @ b, 1)[0]
            r["xtv"] += timed(lambda X=X, v=v: X.T @ v, 1)[0]
        log(f"[{fam}] bayesglm {fmt_s(r['bayesglm'])} s, {fb['n_iter']} iterations")
        log(f"[{fam}] glum {fmt_s(r['glum'])} s, {fg['n_iter']} iterations")
        r["statsmodels"], fs = timed(
            lambda X=X, y=y, fam=fam: fit_statsmodels(X, y, fam, opts), args.sm_repeat
        )
        log(f"[{fam}] statsmodels {fmt_s(r['statsmodels'])} s, {fs['n_iter']} iterations")
        r["n_iter"], r["glum_iter"], r["sm_iter"] = fb["n_iter"], fg["n_iter"], fs["n_iter"]
        r["gram"] = min(med(r[key]) for key in grams)
        r["floor"] = fb["n_iter"] * r["gram"]
        log(
            f"[{fam}] one X'WX: "
            + ", ".join(f"{key[5:]} {fmt_s(r[key])} s" for key in grams)
            + f"; floor {r['floor']:.2f} s"
        )
        se = fs["bse"]
        r["accuracy"] = {
            "bayes_sm": float(np.max(np.abs(fb["params"] - fs["params"]) / se)),
            "bayes_glum": float(np.max(np.abs(fb["params"] - fg["params"]) / se)),
            "glum_sm": float(np.max(np.abs(fg["params"] - fs["params"]) / se)),
            "bayes_true": float(np.max(np.abs(fb["params"] - beta_true) / se)),
        }
        log(f"[{fam}] accuracy {r['accuracy']}")
        r["breakdown"] = breakdown_bayesglm(X, y, fam)
        out[fam] = r
    return out


def run_small(args: argparse.Namespace, opts: dict, log: Callable[[str], None]) -> dict:
    out: dict[str, dict] = {}
    X = make_X(args.small_n, args.small_p, args.seed + 7)
    for fam in FAMILIES:
        y, _ = make_y(X, fam, args.seed + 7)
        r = {}
        for fitter in FITTERS:
            FIT[fitter](X, y, fam, opts)  # warm-up
            r[fitter], _ = timed(
                lambda f=fitter, y=y, fam=fam: FIT[f](X, y, fam, opts), args.small_repeat
            )
            log(f"[{fam}] small {fitter} {med(r[fitter]) * 1e3:.1f} ms")
        out[fam] = r
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=None, help="rows of the large problem (1e6)")
    parser.add_argument("--p", type=int, default=None, help="columns incl. intercept (50)")
    parser.add_argument("--repeat", type=int, default=None, help="timed runs per fitter (5)")
    parser.add_argument("--sm-repeat", type=int, default=1, help="timed statsmodels runs (1)")
    parser.add_argument("--small-repeat", type=int, default=None, help="small-problem runs")
    parser.add_argument("--glum-tol", type=float, default=1e-8, help="glum gradient_tol")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument(
        "--blas-threads",
        type=int,
        default=None,
        help="cap BLAS/OpenMP threads (threadpoolctl) for every fitter; default: as is",
    )
    parser.add_argument("--quick", action="store_true", help="n=1e5, p=20, fewer repeats")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory subprocesses")
    parser.add_argument("--out", type=Path, default=None, help="Markdown output file")
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        metavar="S",
        help="first wait up to S seconds for other processes to leave the CPUs idle",
    )
    parser.add_argument(
        "--child-memory", nargs=2, metavar=("FITTER", "FAMILY"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.child_memory:
        child_memory(args)
        return

    quick = args.quick
    args.n = args.n or (100_000 if quick else 1_000_000)
    args.p = args.p or (20 if quick else 50)
    args.repeat = args.repeat or (2 if quick else 5)
    args.small_repeat = args.small_repeat or (5 if quick else 21)
    args.small_n, args.small_p = 10_000, 10
    if args.out is None:
        args.out = HERE / "results" / ("irls.quick.tmp" if quick else "irls.md")
    opts = {"glum_tol": args.glum_tol}

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    _limiter = limit_threads(args.blas_threads)  # kept alive: the cap lasts as long as it
    env = environment()
    env["command"] = " ".join(
        [
            *(
                f"{k}={os.environ[k]}"
                for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
                if k in os.environ
            ),
            ".venv/bin/python",
            "benchmarks/bench_irls.py",
            *sys.argv[1:],
        ]
    )
    env["load_before"] = wait_for_quiet(args.wait_quiet, log)
    log(f"environment: {env}")
    background = BackgroundLoad()
    t_start = time.perf_counter()
    large = run_large(args, opts, log)
    memory: dict[tuple[str, str], dict] = {}
    if not args.no_memory:
        for fam in FAMILIES:
            for fitter in FITTERS:
                memory[fitter, fam] = m = measure_memory(fitter, fam, args)
                log(
                    f"[{fam}] memory {fitter}: traced {m['peak_traced'] / m['x_bytes']:.2f}× X, "
                    f"RSS +{m['rss_increase'] / m['x_bytes']:.2f}× X"
                )
    small = run_small(args, opts, log)
    env["load_during"] = background.cores()
    text = report(env, args, large, memory, small)
    text += f"\nTotal benchmark wall time: {time.perf_counter() - t_start:.0f} s.\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)
    log(f"written to {args.out}")


if __name__ == "__main__":
    main()
