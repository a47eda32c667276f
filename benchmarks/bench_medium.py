"""Medium n (issue #12's W2): poisson with an offset, n = 100,000, p = 20, in one run.

Run from the repository root::

    .venv/bin/python benchmarks/bench_medium.py [--with-pymc] [--out PATH]
    .venv/bin/python benchmarks/bench_medium.py --family gamma   # a family with a dispersion

``--family gamma`` (issue #13) runs the two bayesglm cases on gamma data with the log
link, shape 3, the same predictors and offset: NUTS on the compiled engine against
``method="importance"``, which samples log(shape) beside the coefficients (results
in benchmarks/results/medium_gamma.md).

Each case runs in a fresh process on the same data (4 chains x (1000 + 1000)):
bayesglm with ``sampler="auto"`` (the precompiled engine) and with ``sampler="numpyro"``
(numpyro through PyMC, the earlier default), with ``method="importance"`` (the
Laplace approximation corrected by Pareto-smoothed importance sampling, one pass of
X @ B over all 8,000 proposals; its ESS here is ArviZ's bulk ESS of the 4,000
resampled draws, below the importance ESS of the weights), a hand-written numpyro model (NUTS on
beta directly, no whitening, the way a numpyro user writes it) and, with
``--with-pymc``, PyMC's default sampler on the same model. Wall time is the fit
alone (data made before the clock starts); ESS is the smallest bulk ESS over the
coefficients, by ArviZ. CPU is the process's CPU time over the fit (above the wall
time where a backend runs threads). Written to benchmarks/results/medium.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "medium.md"
GAMMA_RESULTS = ROOT / "benchmarks" / "results" / "medium_gamma.md"
N, P, SEED = 100_000, 20, 3

DATA = f"""
import numpy as np
rng = np.random.default_rng({SEED})
X = np.column_stack([np.ones({N}), rng.normal(size=({N}, {P - 1}))])
exposure = rng.uniform(0.5, 3.0, {N})
mean = exposure * np.exp(X @ rng.normal(0, 0.1, {P}))
y = rng.poisson(mean) if FAMILY == "poisson" else rng.gamma(3.0, mean / 3.0)
offset = np.log(exposure)
"""

BAYESGLM = """
import warnings, bayesglm as bg
model = bg.GLM.from_arrays(X, y, family=FAMILY, link="log", offset=offset)
model.fit_mle()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    start, cpu = time.perf_counter(), time.process_time()
    fit = model.fit(draws=1000, tune=1000, chains=4, seed=1, progressbar=False,
                    sampler=SAMPLER, method=METHOD)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
draws = fit.beta_draws  # (chain, draw, p)
"""

NUMPYRO = """
import jax, jax.numpy as jnp, numpyro, numpyro.distributions as dist
from numpyro.infer import MCMC, NUTS
jax.config.update("jax_enable_x64", True)
def model(X, offset, y=None):
    beta = numpyro.sample("beta", dist.Normal(0, 2.5).expand([X.shape[1]]))
    numpyro.sample("y", dist.Poisson(jnp.exp(X @ beta + offset)), obs=y)
start, cpu = time.perf_counter(), time.process_time()
mcmc = MCMC(NUTS(model), num_warmup=1000, num_samples=1000, num_chains=4,
            chain_method="sequential", progress_bar=False)
mcmc.run(jax.random.key(1), X, offset, y=y)
draws = np.asarray(mcmc.get_samples(group_by_chain=True)["beta"])
wall, cpu = time.perf_counter() - start, time.process_time() - cpu
"""

PYMC = """
import pymc as pm
start, cpu = time.perf_counter(), time.process_time()
with pm.Model():
    beta = pm.Normal("beta", 0, 2.5, shape=X.shape[1])
    pm.Poisson("y", pm.math.exp(pm.math.dot(X, beta) + offset), observed=y)
    idata = pm.sample(1000, tune=1000, chains=4, random_seed=1, progressbar=False)
draws = idata.posterior["beta"].to_numpy()
wall, cpu = time.perf_counter() - start, time.process_time() - cpu
"""

REPORT = """
import arviz as az, json
ess = min(float(az.ess(draws[..., j])) for j in range(draws.shape[-1]))
method = getattr(globals().get("fit"), "method", None)  # the importance sampler's k-hat, ESS
print(json.dumps({"wall_s": wall, "cpu_s": cpu, "min_ess_bulk": ess, "ess_per_s": ess / wall,
                  "method": method}))
"""

CASES = {
    "bayesglm auto (compiled engine)": "SAMPLER, METHOD = 'auto', 'auto'\n" + BAYESGLM,
    "bayesglm numpyro (through PyMC)": "SAMPLER, METHOD = 'numpyro', 'auto'\n" + BAYESGLM,
    "bayesglm method='importance'": "SAMPLER, METHOD = 'auto', 'importance'\n" + BAYESGLM,
    "hand-written numpyro model": NUMPYRO,
    "PyMC default sampler": PYMC,
}


GAMMA_CASES = ("bayesglm auto (compiled engine)", "bayesglm method='importance'")


def run(name: str, cache: Path, family: str = "poisson") -> dict:
    script = f"import time\nFAMILY = {family!r}\n" + DATA + CASES[name] + REPORT
    env = {**os.environ, "BAYESGLM_CACHE_DIR": str(cache)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", script],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--with-pymc", action="store_true")
    parser.add_argument("--family", choices=["poisson", "gamma"], default="poisson")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    names = [name for name in CASES if args.with_pymc or name != "PyMC default sampler"]
    if args.family == "gamma":
        names = list(GAMMA_CASES)
    out = args.out or (GAMMA_RESULTS if args.family == "gamma" else RESULTS)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-medium-") as cache:
        for name in names:
            result = run(name, Path(cache), args.family)
            rows.append((name, result))
            print(
                f"{name:34s} wall {result['wall_s']:6.1f} s  CPU {result['cpu_s']:6.1f} s  "
                f"min bulk ESS "
                f"{result['min_ess_bulk']:6.0f}  ESS/s {result['ess_per_s']:5.0f}  "
                f"{result.get('method') or ''}",
                flush=True,
            )
    title = "poisson" if args.family == "poisson" else "gamma (log link, shape 3)"
    flag = "" if args.family == "poisson" else " --family gamma"
    lines = [
        f"# Medium n: {title} with offset, n = 100,000, p = 20 (issues #12, #13)",
        "",
        f"`python benchmarks/bench_medium.py{flag}`; "
        f"{platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f} at the end, "
        f"{time.strftime('%Y-%m-%d')}. 4 chains x (1000 + 1000), each case in a fresh "
        "process, the fit alone timed (the compiled engine's first fit: compile included).",
        "",
        "| case | wall (s) | CPU (s) | min bulk ESS | bulk ESS/s |",
        "|---|---|---|---|---|",
    ]
    for name, result in rows:
        lines.append(
            f"| {name} | {result['wall_s']:.1f} | {result['cpu_s']:.1f} "
            f"| {result['min_ess_bulk']:.0f} "
            f"| {result['ess_per_s']:.0f} |"
        )
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
