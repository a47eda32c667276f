"""The Bayesian fit of a categorical outcome: draws, summaries, predictions, the file.

:class:`CategoryPosterior` holds the parameters' draws (chain, draw, parameter), in
the order and under the labels of the maximum-likelihood fit
(:class:`~bayesglm.category_mle.CategoryMLEResult`), with its summary (ESS and R-hat
from :mod:`bayesglm.convergence`), its comparison with the MLE and category
probabilities of new rows draw by draw. ``save``/:func:`load_category` keep the draws
with what rebuilds the model: the formula and the rows it was fitted on (or the
arrays), so a loaded fit predicts as the fitted one.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import convergence
from .category_mle import CategoryMLEResult
from .category_priors import CategoryPriors
from .effect_rows import category_effects, draw_effect
from .errors import BayesGLMError
from .predict import check_prob, percent, prediction_inputs

__all__ = ["CategoryPosterior", "load_category"]

_FORMAT = "bayesglm-category-fit"
_VERSION = 2


@dataclass(frozen=True, eq=False)
class CategoryPosterior:
    """A categorical or cumulative model's posterior, sampled with NUTS.

    Attributes
    ----------
    theta_draws : ndarray
        Draws (chain, draw, parameter), labelled as :attr:`mle`'s parameters.
    mle : CategoryMLEResult
        The maximum-likelihood fit (its data, names and the sampler's start).
    priors : CategoryPriors
    sample_stats : dict of str to ndarray
        The sampler's statistics per (chain, draw): ``diverging``, ``tree_depth``, …
    sampler : str
    seed : int
    """

    theta_draws: np.ndarray
    mle: CategoryMLEResult
    priors: CategoryPriors
    sample_stats: dict[str, np.ndarray]
    sampler: str
    seed: int

    @property
    def index(self) -> pd.Index:
        """The parameters' labels (the MLE's)."""
        return self.mle.index

    def summary(self, prob: float = 0.95) -> pd.DataFrame:
        """Posterior mean, sd, median, ``prob`` equal-tailed interval (``eti_lower``,
        ``eti_upper``), ``mcse_mean``, ``ess_bulk``, ``ess_tail``, ``r_hat`` per
        parameter (the columns of :meth:`bayesglm.results.GLMResult.summary`)."""
        check_prob(prob)
        tails = [(1 - prob) / 2, (1 + prob) / 2]
        statistics = {
            "mean": np.mean,
            "sd": functools.partial(np.std, ddof=1),
            "median": np.median,
            "eti_lower": functools.partial(np.quantile, q=tails[0]),
            "eti_upper": functools.partial(np.quantile, q=tails[1]),
            "mcse_mean": convergence.mcse_mean,
            "ess_bulk": convergence.ess_bulk,
            "ess_tail": convergence.ess_tail,
            "r_hat": convergence.rhat,
        }
        draws = [self.theta_draws[:, :, j] for j in range(self.theta_draws.shape[2])]
        frame = pd.DataFrame(
            {name: [float(fn(d)) for d in draws] for name, fn in statistics.items()},
            index=self.index,
        )
        frame.attrs["prob"] = prob
        frame.attrs["interval"] = f"{percent(prob)} equal-tailed"
        return frame

    def compare_mle(self) -> pd.DataFrame:
        """MLE ± SE beside posterior mean ± sd, per parameter, with the verdict of
        :func:`bayesglm.effects.verdict`.

        Columns: ``mle``, ``mle_se``, ``posterior_mean``, ``posterior_sd``,
        ``std_diff`` ((posterior mean - MLE) / SE), ``prior_shift`` ((posterior mode -
        MLE) / SE: the part of the difference the prior causes), ``sd_ratio``
        (posterior sd / prior sd of the prior's argument: the centred intercept for a
        categorical intercept; NaN for the cutpoints under the Dirichlet, which has no
        sd per cutpoint) and ``verdict``.
        """
        from .effects import verdict
        from .thresholds import ESS_PER_CHAIN, RHAT_LIMIT

        flat = self.theta_draws.reshape(-1, self.theta_draws.shape[2])
        estimate, se = self.mle.params_array, self.mle.bse.to_numpy()
        mean, sd = flat.mean(axis=0), flat.std(axis=0, ddof=1)
        priors = self.priors
        p = len(priors.labels)
        prior_sds = [prior.sd for prior in priors.coef] + [
            np.nan if priors.cutpoints is None else priors.cutpoints.sd
        ] * (len(estimate) - p)
        args = np.c_[flat[:, :p] @ priors.centering.T, flat[:, p:]]
        sd_ratio = args.std(axis=0, ddof=1) / np.asarray(prior_sds, dtype=float)
        usable = np.isfinite(se) & (se > 0)
        scale = np.where(usable, se, sd)
        std_diff = (mean - estimate) / scale
        prior_shift = (self.posterior_mode - estimate) / scale
        summary = self.summary()
        limit_ess = ESS_PER_CHAIN * self.theta_draws.shape[0]
        separated = set(self.mle.separation)
        verdicts = [
            verdict(
                std_diff=std_diff[j],
                prior_shift=prior_shift[j],
                spread=sd[j] / se[j] if usable[j] else np.nan,
                sd_ratio=sd_ratio[j],
                separated=_term(name) in separated,
                sampled_well=not (
                    summary["r_hat"].iloc[j] > RHAT_LIMIT
                    or summary["ess_bulk"].iloc[j] < limit_ess
                ),
            )
            for j, name in enumerate(self.index)
        ]
        return pd.DataFrame(
            {
                "mle": estimate,
                "mle_se": se,
                "posterior_mean": mean,
                "posterior_sd": sd,
                "std_diff": std_diff,
                "prior_shift": prior_shift,
                "sd_ratio": sd_ratio,
                "verdict": verdicts,
            },
            index=self.index,
        )

    @functools.cached_property
    def posterior_mode(self) -> np.ndarray:
        """The parameters that maximize likelihood x prior, labelled as the MLE's,
        found by BFGS from the MLE (cutpoints kept increasing)."""
        from scipy import optimize

        from .category_model import from_unconstrained, to_unconstrained
        from .category_newton import objective

        spec, cd, priors = self.mle.spec, self.mle.cdesign, self.priors
        p, loglike = len(cd.columns), objective(spec, cd)

        def negative(u: np.ndarray) -> float:
            beta, zeta, _ = from_unconstrained(spec, u, p)
            theta = beta if zeta is None else np.r_[beta, zeta]
            extra = () if zeta is None else (zeta, spec.link)
            value = loglike(theta)[0] + priors.log_prior(beta, *extra)
            return -value if np.isfinite(value) else 1e300

        found = optimize.minimize(
            negative, to_unconstrained(spec, self.mle.params_array, p), method="BFGS"
        )
        beta, zeta, _ = from_unconstrained(spec, found.x, p)
        return beta if zeta is None else np.r_[beta, zeta]

    def effects(self, prob: float = 0.95) -> pd.DataFrame:
        """What each coefficient does, on the draws, with a sentence each.

        Categorical: exp(beta) per (level, term), the relative-risk ratio of the level
        against the reference level (how P(level) / P(reference) is multiplied).
        Cumulative logit: exp(beta), the cumulative odds ratio (how the odds of a
        level above any given one are multiplied; polr's sign: a positive beta moves
        the outcome up). Other cumulative links: beta itself, a shift of the latent
        variable in units of its distribution's scale. Intercepts and cutpoints are
        baselines, left out (:func:`bayesglm.effect_rows.category_effects`). Columns as
        :meth:`bayesglm.results.GLMResult.effects`.
        """
        check_prob(prob)
        flat = self.theta_draws.reshape(-1, self.theta_draws.shape[2])

        def numbers(j: int, ratio: bool) -> dict[str, float]:
            return draw_effect(flat[:, j], ratio, prob)

        return category_effects(self.mle, numbers, prob)

    def diagnostics(self) -> dict[str, float]:
        """Divergent transitions, the largest R-hat and the smallest bulk ESS."""
        table = self.summary()
        diverging = self.sample_stats.get("diverging")
        return {
            "divergences": float(np.sum(diverging)) if diverging is not None else float("nan"),
            "max_r_hat": float(table["r_hat"].max()),
            "min_ess_bulk": float(table["ess_bulk"].min()),
        }

    def predict(self, new_data: object = None, prob: float = 0.95) -> pd.DataFrame:
        """Each level's probability per row: posterior mean, sd and ``prob``
        equal-tailed interval over the draws.

        Returns
        -------
        DataFrame
            ``row``, ``level``, ``estimate`` (mean), ``std_error`` (sd),
            ``conf_low``, ``conf_high``.
        """
        check_prob(prob)
        cd = self.mle.cdesign
        rows = prediction_inputs(cd.design, self.mle.link, new_data)
        X = cd.matrix(rows.X)
        flat = self.theta_draws.reshape(-1, self.theta_draws.shape[2])
        probs = np.stack([self.mle.probabilities(X, theta) for theta in flat])
        low, high = np.quantile(probs, [(1 - prob) / 2, (1 + prob) / 2], axis=0)
        n, K = probs.shape[1:]
        frame = pd.DataFrame(
            {
                "row": np.repeat(np.asarray(rows.index, dtype=object), K),
                "level": np.tile(np.asarray(cd.level_names, dtype=object), n),
                "estimate": probs.mean(axis=0).ravel(),
                "std_error": probs.std(axis=0, ddof=1).ravel(),
                "conf_low": low.ravel(),
                "conf_high": high.ravel(),
            }
        )
        frame.attrs["interval"] = f"{percent(prob)} equal-tailed, posterior draws"
        return frame

    def sampler_checks(self):
        """The sampler checks of every fit (:class:`bayesglm.convergence.Diagnostics`):
        divergences, R-hat, bulk and tail ESS, E-BFMI, with what to try when one fails."""
        from .convergence import sampler_checks

        chains, draws, q = self.theta_draws.shape
        parameters = [self.theta_draws[:, :, j] for j in range(q)]
        return sampler_checks(parameters, self.sample_stats, chains, chains * draws)

    def report(self, path: str | Path, prob: float = 0.95) -> Path:
        """Write the report, HTML (``.html``) or Markdown (``.md``), laid out as the
        other families' (:func:`bayesglm.report.write_report`) with the sections of
        :func:`bayesglm.category_report.category_content`."""
        from .category_report import category_content
        from .report import write_report

        return write_report(self, path, prob, content=category_content)

    def ppc(self, prob: float = 0.95, seed: int | None = None) -> pd.DataFrame:
        """Posterior predictive check: each level's observed count (frequency weights
        counted) beside the counts of replicated data sets, one per draw.

        Returns
        -------
        DataFrame
            Per level: ``observed``, ``predicted`` (mean of the replicates),
            ``conf_low``, ``conf_high`` (their ``prob`` equal-tailed interval) and
            ``p_value`` (two-sided posterior predictive p-value of the observed count).
        """
        check_prob(prob)
        cd = self.mle.cdesign
        w = cd.design.case_weights
        observed = np.bincount(cd.codes, weights=w, minlength=cd.K)
        rng = np.random.default_rng(seed)
        flat = self.theta_draws.reshape(-1, self.theta_draws.shape[2])
        counts = np.empty((len(flat), cd.K))
        whole = np.rint(w).astype(np.int64)
        for d, theta in enumerate(flat):
            probs = self.mle.probabilities(cd.X, theta)
            if np.array_equal(whole, w):  # frequency weights: a multinomial per row
                counts[d] = rng.multinomial(whole, probs / probs.sum(axis=1, keepdims=True)).sum(0)
            else:  # other weights: each row's draw counts w times
                cumulative = np.cumsum(probs, axis=1)
                level = (rng.random(len(w))[:, None] > cumulative[:, :-1]).sum(axis=1)
                counts[d] = np.bincount(level, weights=w, minlength=cd.K)
        low, high = np.quantile(counts, [(1 - prob) / 2, (1 + prob) / 2], axis=0)
        above = (counts >= observed).mean(axis=0)
        below = (counts <= observed).mean(axis=0)
        frame = pd.DataFrame(
            {
                "observed": observed,
                "predicted": counts.mean(axis=0),
                "conf_low": low,
                "conf_high": high,
                "p_value": np.minimum(1.0, 2.0 * np.minimum(above, below)),
            },
            index=pd.Index(cd.level_names, name="level"),
        )
        frame.attrs["interval"] = f"{percent(prob)} equal-tailed, posterior predictive"
        return frame

    def avg_predictions(self, by: str | list[str] | None = None, prob: float = 0.95):
        """The average probability of each level over the fitted rows, overall or per
        group, draw by draw (:func:`bayesglm.category_marginal.average_probabilities`)."""
        from .category_marginal import average_probabilities

        flat = self.theta_draws.reshape(-1, self.theta_draws.shape[2])
        return average_probabilities(self.mle, by, prob, draws=flat)

    def avg_comparisons(
        self,
        variables: Any = None,
        by: str | list[str] | None = None,
        comparison: str = "difference",
        prob: float = 0.95,
    ) -> pd.DataFrame:
        """The average change in each level's probability when a predictor moves,
        draw by draw: median, ``p_direction`` and equal-tailed interval
        (arguments and columns as :meth:`bayesglm.category_mle.CategoryMLEResult.avg_comparisons`,
        ``p_direction`` in place of ``std_error``)."""
        from .category_marginal import category_marginal

        flat = self.theta_draws.reshape(-1, self.theta_draws.shape[2])
        return category_marginal(self.mle, "comparisons", prob, variables, by, comparison, flat)

    def avg_slopes(
        self,
        variables: str | list[str] | None = None,
        by: str | list[str] | None = None,
        prob: float = 0.95,
    ) -> pd.DataFrame:
        """The average derivative of each level's probability in each numeric
        predictor, draw by draw (see :meth:`avg_comparisons`)."""
        from .category_marginal import category_marginal

        flat = self.theta_draws.reshape(-1, self.theta_draws.shape[2])
        return category_marginal(self.mle, "slopes", prob, variables, by, draws=flat)

    def __str__(self) -> str:
        table = self.summary().to_string(float_format=lambda v: f"{v:.4g}")
        diagnostics = self.diagnostics()
        return "\n".join(
            [
                f"Posterior of a {self.mle.spec} model ({self.sampler}, seed {self.seed}, "
                f"{self.theta_draws.shape[0]} chains x {self.theta_draws.shape[1]} draws)",
                "",
                "Priors:",
                self.priors.table().to_string(),
                "",
                table,
                "",
                f"divergences: {diagnostics['divergences']:g}    "
                f"max R-hat: {diagnostics['max_r_hat']:.3f}    "
                f"min bulk ESS: {diagnostics['min_ess_bulk']:.0f}",
            ]
        )

    # --- the file -------------------------------------------------------------------------

    def save(self, path: str | Path) -> Path:
        """Write the fit to a ``.npz`` file: the draws, the sampler's statistics and
        what rebuilds the model (the formula with the rows it was fitted on, or the
        arrays), so that :func:`load_category` gives a fit that predicts the same."""
        from ._output import write_atomic
        from .persist import prior_to_data

        path = Path(path)
        cd = self.mle.cdesign
        design = cd.design
        info: dict[str, Any] = {
            "format": _FORMAT,
            "version": _VERSION,
            "family": self.mle.spec.family.name,
            "link": self.mle.spec.link.name,
            "levels": [_plain(level) for level in cd.levels],
            "reference": _plain(cd.levels[cd.reference]),
            "sampler": self.sampler,
            "seed": self.seed,
            "priors": repr_priors(self.priors),
            # The resolved priors themselves (the user's and the defaults): a loaded
            # fit holds the priors it was sampled under, not a fresh resolution.
            "prior_spec": {
                "coef": [prior_to_data(prior) for prior in self.priors.coef],
                "source": list(self.priors.source),
                "cutpoints": None
                if self.priors.cutpoints is None
                else prior_to_data(self.priors.cutpoints),
                "cutpoint_source": self.priors.cutpoint_source,
            },
        }
        arrays: dict[str, np.ndarray] = {
            "theta_draws": self.theta_draws,
            "prior_centering": self.priors.centering,
            "prior_x_means": self.priors.x_means,
            **{f"stat_{k}": v for k, v in self.sample_stats.items()},
        }
        if design.formula is not None:
            state = design.formula
            frame = state.training.copy()
            response = state.text.split("~", 1)[0].strip()
            frame[response] = [cd.levels[int(code)] for code in design.y]
            info["formula"] = state.text
            info["weights"] = None if design.weights is None else "__weights__"
            if design.weights is not None:
                frame["__weights__"] = design.weights
            info["frame"] = _frame_json(frame)
        else:
            arrays["X"] = design.X
            arrays["codes"] = design.y
            info["names"] = list(design.names)
            if design.weights is not None:
                arrays["weights"] = design.weights
        arrays["info"] = np.frombuffer(json.dumps(info).encode(), dtype=np.uint8)

        def write(target: Path) -> None:
            with open(target, "wb") as file:  # a file, or numpy would add ".npz"
                np.savez(file, **arrays)

        write_atomic(path, write)
        return path


def _term(name: Any) -> str:
    """The model-matrix column of a parameter's label (a categorical's is (level, term))."""
    return name[1] if isinstance(name, tuple) else name


def repr_priors(priors: CategoryPriors) -> dict[str, Any]:
    """The priors as {parameter: (prior, source)} text, as the fit printed them."""
    return priors.table().astype(str).to_dict(orient="index")


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _frame_json(frame: pd.DataFrame) -> dict[str, Any]:
    columns = {}
    for name in frame.columns:
        column = frame[name]
        entry: dict[str, Any] = {"values": [_plain(v) for v in column.astype(object).tolist()]}
        if isinstance(column.dtype, pd.CategoricalDtype):
            entry["categories"] = [_plain(c) for c in column.cat.categories]
            entry["ordered"] = bool(column.cat.ordered)
        else:
            entry["dtype"] = str(column.dtype)
        columns[str(name)] = entry
    return {"columns": columns, "index": [_plain(v) for v in frame.index.tolist()]}


def _frame_from_json(data: dict[str, Any]) -> pd.DataFrame:
    frame = pd.DataFrame(index=pd.Index(data["index"]))
    for name, entry in data["columns"].items():
        if "categories" in entry:
            frame[name] = pd.Categorical(
                entry["values"], categories=entry["categories"], ordered=entry["ordered"]
            )
        else:
            frame[name] = pd.Series(entry["values"], index=frame.index).astype(entry["dtype"])
    return frame


def load_category(path: str | Path) -> CategoryPosterior:
    """Read a fit written by :meth:`CategoryPosterior.save`.

    The model is rebuilt from the stored formula and rows (or arrays), its maximum
    likelihood refitted, and the draws attached.
    """
    from .category_design import category_design_from_arrays, category_design_from_formula
    from .category_families import resolve_category
    from .category_mle import fit_category_design
    from .category_priors import resolve_category_priors

    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as stored:
            arrays = {key: stored[key] for key in stored.files}
        info = json.loads(arrays.pop("info").tobytes().decode())
    except (OSError, ValueError, KeyError) as error:
        raise BayesGLMError(
            f"the file is not a saved fit of a categorical outcome ({error}); give a file "
            f"written by its save(); got (path={str(path)!r})."
        ) from None
    if info.get("format") != _FORMAT:
        raise BayesGLMError(
            f"the file is not a saved fit of a categorical outcome; got (path={str(path)!r})."
        )
    if info.get("version") not in (1, _VERSION):
        raise BayesGLMError(
            f"the file has format version {info.get('version')!r}, which this bayesglm does "
            f"not read (it reads 1 and {_VERSION}); load it with the version that wrote it; "
            f"got (path={str(path)!r})."
        )
    spec = resolve_category(info["family"], info["link"])
    common = {
        "levels": info["levels"],
        "reference": info["reference"] if info["family"] == "categorical" else None,
    }
    if "formula" in info:
        frame = _frame_from_json(info["frame"])
        cdesign = category_design_from_formula(
            info["formula"], frame, spec, weights=info["weights"], context={}, **common
        )
    else:
        cdesign = category_design_from_arrays(
            arrays.pop("X"),
            [info["levels"][code] for code in arrays.pop("codes").astype(int)],
            spec,
            names=info["names"],
            weights=arrays.pop("weights", None),
            **common,
        )
    mle = fit_category_design(cdesign, spec)
    theta = arrays.pop("theta_draws")
    labels = list(mle.index)[: len(mle.index) - (cdesign.K - 1 if spec.family.ordered else 0)]
    if "prior_spec" in info:
        priors = _stored_priors(info["prior_spec"], arrays, labels, cdesign.K, path)
    else:  # version 1 saved only fits with the default priors
        priors = resolve_category_priors(None, cdesign, spec, labels)
    stats = {key.removeprefix("stat_"): value for key, value in arrays.items()}
    return CategoryPosterior(
        theta_draws=theta,
        mle=mle,
        priors=priors,
        sample_stats=stats,
        sampler=info["sampler"],
        seed=info["seed"],
    )


def _stored_priors(
    spec: dict[str, Any], arrays: dict[str, np.ndarray], labels: list, K: int, path: Path
) -> CategoryPriors:
    """The priors a file holds (:meth:`CategoryPosterior.save`), checked against the
    model's coefficients."""
    from .persist import prior_from_data

    centering, x_means = arrays.pop("prior_centering"), arrays.pop("prior_x_means")
    coef = tuple(prior_from_data(entry, path) for entry in spec["coef"])
    if len(coef) != len(labels) or centering.shape != (len(labels), len(labels)):
        raise BayesGLMError(
            f"the file is a damaged bayesglm save file ({len(coef)} coefficient priors for "
            f"{len(labels)} coefficients); save the fit again; got (path={str(path)!r})."
        )
    cutpoints = spec["cutpoints"]
    return CategoryPriors(
        labels=tuple(labels),
        coef=coef,  # type: ignore[arg-type]
        centering=centering,
        cutpoints=None if cutpoints is None else prior_from_data(cutpoints, path),  # type: ignore[arg-type]
        x_means=x_means,
        source=tuple(spec["source"]),
        cutpoint_source=spec["cutpoint_source"],
        levels=K,
    )
