"""Medium n (issue #12's W2): poisson with an offset, n = 100,000, p = 20, in one run.

Run from the repository root::

    .venv/bin/python benchmarks/bench_medium.py [--with-pymc] [--with-floor] [--out PATH]
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
``--with-pymc``, PyMC's default sampler on the same model. ``--with-floor`` adds a
lower bound on the time of any NUTS run that evaluates the exact density at every
leapfrog point: the same iterations with the density in its cheapest layout and a free
gradient (the ``FLOOR`` script says how). Wall time is the fit
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

FLOOR = """
# A floor for any NUTS that evaluates this posterior's exact density at every leapfrog
# point: numpyro's NUTS on the whitened posterior (the Laplace approximation's mode and
# Cholesky factor folded into X once), the density's cheapest layout found (X' of
# k x n, two chains a call, the calls on two threads), and a free force: the leapfrog
# steps follow the Laplace approximation's gradient, -z, while the density that
# weighs and accepts the points is exact (a position-only force keeps the leapfrog
# volume-preserving and reversible, so the chain still targets the exact posterior).
# The gradient's pass over X costs nothing; the time left is mostly the density's.
import threading
import jax, jax.numpy as jnp
from numpyro.infer.hmc import hmc
jax.config.update("jax_enable_x64", True)
start, cpu = time.perf_counter(), time.process_time()
beta = np.zeros(X.shape[1])
for _ in range(50):
    mu = np.exp(X @ beta + offset)
    grad = X.T @ (y - mu) - beta / 2.5**2
    hess = X.T @ (X * mu[:, None]) + np.eye(X.shape[1]) / 2.5**2
    step = np.linalg.solve(hess, grad)
    beta += step
    if np.abs(step).max() < 1e-12:
        break
chol = np.linalg.cholesky(np.linalg.inv(hess))
XLt = jnp.asarray(np.ascontiguousarray((X @ chol).T))
eta0, yj, cholj, modej = (jnp.asarray(a) for a in (X @ beta + offset, y.astype(float), chol, beta))

@jax.custom_vjp
def logp(z):
    eta = z @ XLt + eta0
    theta = modej + cholj @ z
    return jnp.sum(yj * eta - jnp.exp(eta)) - 0.5 * jnp.sum(theta**2) / 2.5**2

logp.defvjp(lambda z: (logp(z), -z), lambda force, ct: (ct * force,))
init_kernel, sample_kernel = hmc(potential_fn_gen=lambda: lambda z: -logp(z), algo="NUTS")

def chains(key, z0):
    state = init_kernel(z0, 1000, model_args=(), rng_key=key)
    def step(state, _):
        state = sample_kernel(state, model_args=())
        return state, state.z
    return jax.lax.scan(step, state, None, length=2000)[1][1000:]

run = jax.jit(jax.vmap(chains)).lower(
    jax.random.split(jax.random.key(1), 2), jnp.zeros((2, X.shape[1]))).compile()
keys = jax.random.split(jax.random.key(1), 4)
out = [None, None]
def call(i):
    out[i] = np.asarray(run(keys[2 * i : 2 * i + 2], jnp.zeros((2, X.shape[1]))))
threads = [threading.Thread(target=call, args=(i,)) for i in range(2)]
[t.start() for t in threads]
[t.join() for t in threads]
draws = beta + np.concatenate(out) @ chol.T
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
    "floor: exact density, free gradient": FLOOR,
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
    parser.add_argument("--with-floor", action="store_true")
    parser.add_argument("--family", choices=["poisson", "gamma"], default="poisson")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    optional = {
        "PyMC default sampler": args.with_pymc,
        "floor: exact density, free gradient": args.with_floor,
    }
    names = [name for name in CASES if optional.get(name, True)]
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
    flag += " --with-pymc" * args.with_pymc + " --with-floor" * args.with_floor
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
