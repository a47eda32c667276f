"""The Bayesian fit: posterior draws, diagnostics and tables (pure computation).

Tables are pandas DataFrames indexed by coefficient name, with the family's natural
parameter (see :class:`~bayesglm.families.Family`) under its own name. Intervals are
equal-tailed at the ``prob`` asked for (never ArviZ's defaults or an ``arvizrc``).

A fit holds its draws as numpy arrays; the summary and the sampler checks are
computed from them (:mod:`bayesglm.convergence`), and the xarray DataTree
(``idata``) is built on first access, so a fit and its tables never wait for xarray
or ArviZ to load.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import convergence, marginal
from ._validation import check_seed
from ._versions import installed_versions
from .compare import loo
from .convergence import Diagnostics, sampler_checks
from .design import Design
from .draw_summaries import summarize_rows
from .effects import compare_mle_table, effects_table
from .errors import BayesGLMError, SamplingWarning
from .families import Spec
from .laplace import LaplaceApprox
from .mle import MLEResult
from .predict import (
    PredictionInputs,
    check_prob,
    check_scale,
    eta_range,
    outside_warning,
    percent,
    prediction_inputs,
)
from .priors import ResolvedPriors
from .report import console_text, write_report
from .sensitivity import sensitivity_table

if TYPE_CHECKING:
    import xarray as xr

    from .category_results import CategoryPosterior

__all__ = ["Diagnostics", "GLMResult", "load"]


@dataclass(frozen=True, eq=False)
class GLMResult:
    """A Bayesian GLM fit.

    Attributes
    ----------
    beta_draws : ndarray
        Draws of the coefficients, shape (chain, draw, p).
    natural_draws : ndarray or None
        Draws of the family's natural parameter, shape (chain, draw); None where it
        is not sampled (no such parameter, or fixed by the prior).
    sample_stats : dict of str to ndarray
        The sampler's statistics (``diverging``, ``energy``, ``tree_depth``, ...) as
        (chain, draw) arrays under ArviZ's names.
    idata : xarray.DataTree
        ``posterior`` (``beta`` over ``coef``, and the natural parameter) and
        ``sample_stats``; built from the draws on first access.
    design : Design
    spec : Spec
    priors : ResolvedPriors
        The priors used, defaults resolved.
    mle : MLEResult
        The maximum-likelihood fit of the same model.
    laplace : LaplaceApprox
        The posterior mode and the Gaussian approximation there.
    sampler : str
        The backend that ran.
    seed : int
    timings : dict
        Seconds per stage.
    draws_per_chain, tune, chains : int
    versions : dict of str to str, or None
        The package versions that produced the fit, as :func:`bayesglm.load` read
        them from the file; None for a fit made in this session (the installed ones).
    method : dict or None
        How the draws were made when not by NUTS over the rows: ``{"method":
        "cells", "rows", "cells"}`` (NUTS over exact cell sums) or ``{"method":
        "importance", "rows", "proposals", "khat", "ess"}`` (see
        :mod:`bayesglm.importance`); None for NUTS over the rows.
    """

    beta_draws: np.ndarray
    natural_draws: np.ndarray | None
    sample_stats: dict[str, np.ndarray]
    design: Design
    spec: Spec
    priors: ResolvedPriors
    mle: MLEResult
    laplace: LaplaceApprox
    sampler: str
    seed: int
    timings: dict[str, float]
    draws_per_chain: int
    tune: int
    chains: int
    versions: dict[str, str] | None = None
    method: dict[str, Any] | None = None

    @property
    def producing_versions(self) -> dict[str, str]:
        """The package versions that produced the fit: those a loaded file recorded,
        else (a fit of this session) the installed ones."""
        return self.versions or installed_versions()

    # --- draws ------------------------------------------------------------------------

    @property
    def names(self) -> list[str]:
        """Coefficient names."""
        return list(self.design.names)

    @property
    def sampled_natural_name(self) -> str | None:
        """The name of the family's natural parameter, if it was sampled."""
        return self.priors.sampled_natural_name

    @functools.cached_property
    def idata(self) -> xr.DataTree:
        """The draws as an ArviZ DataTree: ``posterior`` and ``sample_stats``."""
        return _build_idata(
            self.beta_draws,
            self.natural_draws,
            self.sample_stats,
            self.names,
            self.sampled_natural_name,
        )

    @property
    def posterior(self) -> xr.Dataset:
        """The posterior group as an xarray Dataset.

        A copy: changing it in place (e.g. ``post["beta"] *= 10``) leaves the fit's
        draws, and so its tables and predictions, as they were.
        """
        return self._posterior.copy(deep=True)

    @property
    def _posterior(self) -> xr.Dataset:
        """The fit's own posterior draws (a view, for reading only)."""
        return self.idata["posterior"].to_dataset()

    def draws(self) -> pd.DataFrame:
        """One row per draw: ``chain``, ``draw``, each coefficient, the natural parameter.

        Examples
        --------
        See :meth:`bayesglm.GLM.fit`.
        """
        beta = self.beta_draws
        chains, draws, _ = beta.shape
        frame = pd.DataFrame(
            {
                "chain": np.repeat(np.arange(chains), draws),
                "draw": np.tile(np.arange(draws), chains),
            }
        )
        for j, name in enumerate(self.names):
            frame[name] = beta[:, :, j].reshape(-1)
        if self.sampled_natural_name is not None:
            frame[self.sampled_natural_name] = self.natural_draws.reshape(-1)
        elif self.priors.fixed_natural is not None:
            frame[self.priors.natural_name] = self.priors.fixed_natural
        return frame

    def _beta(self) -> np.ndarray:
        """Draws of beta, shape (chain * draw, p)."""
        return self.beta_draws.reshape(-1, self.beta_draws.shape[-1])

    def _natural(self) -> np.ndarray | None:
        """Draws of the natural parameter as a column, shape (chain * draw, 1), to
        broadcast over rows; None where the family has none."""
        if self.priors.fixed_natural is not None:
            return np.full((self._beta().shape[0], 1), self.priors.fixed_natural)
        if self.natural_draws is None:
            return None
        return self.natural_draws.reshape(-1, 1)

    # --- tables -----------------------------------------------------------------------

    def summary(self, prob: float = 0.95) -> pd.DataFrame:
        """Posterior summary per coefficient and for the natural parameter.

        Columns: mean, sd, median, the ``prob`` equal-tailed interval
        (``eti_lower``, ``eti_upper``), ``mcse_mean``, ``ess_bulk``, ``ess_tail``,
        ``r_hat``. The interval's probability is in ``frame.attrs["prob"]``.
        """
        check_prob(prob)
        tails = [(1 - prob) / 2, (1 + prob) / 2]
        statistics: dict[str, Callable[[np.ndarray], float]] = {
            "mean": np.mean,
            "sd": functools.partial(np.std, ddof=1),
            "median": np.median,
            "eti_lower": functools.partial(np.quantile, q=tails[0], method="linear"),
            "eti_upper": functools.partial(np.quantile, q=tails[1], method="linear"),
            "mcse_mean": convergence.mcse_mean,
            "ess_bulk": convergence.ess_bulk,
            "ess_tail": convergence.ess_tail,
            "r_hat": convergence.rhat,
        }
        parameters = list(self._parameter_draws().values())
        rows = {
            column: [float(statistic(draws)) for draws in parameters]
            for column, statistic in statistics.items()
        }
        natural = self.sampled_natural_name
        index = self.names + ([natural] if natural else [])
        frame = pd.DataFrame(rows, index=pd.Index(index, name="parameter"))
        frame.attrs["prob"] = prob
        frame.attrs["interval"] = f"{percent(prob)} equal-tailed"
        return frame

    def _parameter_draws(self) -> dict[str, np.ndarray]:
        """Each coefficient's and the sampled natural parameter's (chain, draw) draws."""
        out = {name: self.beta_draws[:, :, j] for j, name in enumerate(self.names)}
        if self.sampled_natural_name is not None:
            out[self.sampled_natural_name] = self.natural_draws
        return out

    def effects(self, prob: float = 0.95) -> pd.DataFrame:
        """exp(beta) per coefficient, labelled by the link, with a sentence each.

        See :func:`bayesglm.effects.effects_table`.
        """
        check_prob(prob)
        return effects_table(self, prob)

    def compare_mle(self) -> pd.DataFrame:
        """MLE ± SE beside posterior mean ± sd, with a verdict per parameter.

        See :func:`bayesglm.effects.compare_mle_table`.
        """
        return compare_mle_table(self)

    def diagnostics(self) -> Diagnostics:
        """Divergences, R-hat, bulk/tail ESS, E-BFMI and tree-depth saturation."""
        return _diagnose(self)

    # --- predictions and likelihood ----------------------------------------------------

    def predict(
        self,
        new_data: Any = None,
        scale: str = "mean",
        prob: float = 0.95,
        offset: Any = None,
        exposure: Any = None,
        trials: Any = None,
        weights: Any = None,
        seed: int | None = None,
        chunk: int | None = None,
    ) -> pd.DataFrame:
        """Posterior predictions per row, computed in row chunks.

        Where a draw's linear predictor lies outside the range in which the model
        defines a mean (:func:`bayesglm.predict.eta_range`: a negative η under the
        inverse link, a probability above 1 under the log link, ...) the row's
        mean- and response-scale predictions are NaN, and a
        :class:`~bayesglm.errors.DomainWarning` names the row and the fraction of
        draws outside; a link-scale row keeps the linear predictor, with the same
        warning. ``frame.attrs["outside"]`` records {row label: fraction of draws}.

        Parameters
        ----------
        new_data : DataFrame or array_like, optional
            New rows (a DataFrame for formula models, a model matrix otherwise:
            a frame with the model's column names is read by name, one without
            them by position); the fitted rows, under their own labels, when None.
        scale : {"link", "mean", "response"}
            The linear predictor, the mean through the inverse link, or a new
            response (posterior predictive draws).
        prob : float
            Probability of the equal-tailed interval.
        offset, exposure : str or array_like, optional
            The new rows' offset, or exposure (log link: offset = log(exposure)):
            values, or a column of the new data. Required when the model's offset
            was given as values; otherwise they override the offset rebuilt from
            the new data.
        trials : str or array_like, optional
            Binomial trials of the new rows (a column name or values), for
            ``scale="response"``.
        weights : str or array_like, optional
            Gaussian precision weights of the new rows (a column name or values), for
            ``scale="response"``: a new response has variance sigma²/w, as in the
            fit. Required there when the model was fitted with weights; the fitted
            rows use their own. A weight of 0 (no precision) gives NaN. Other
            families' weights count observations and do not change a prediction.
        seed : int, optional
            For the response draws (the fit's seed by default). Each chunk of rows
            draws from its own stream, child i of the seed's ``SeedSequence``
            (:func:`bayesglm.draw_summaries.chunk_generator`): a seed and a
            ``chunk`` give the same predictions however many threads run.
        chunk : int, optional
            Rows per chunk, summarized together; chunks run on several threads,
            each holding a few arrays of chunk × draws numbers. By default about
            half a million numbers' worth of rows (125 rows of 4000 draws).

        Returns
        -------
        DataFrame
            ``estimate`` (posterior mean), ``std_error`` (posterior sd), ``conf_low``,
            ``conf_high`` (the equal-tailed interval) per row, indexed by the rows'
            labels; the interval is named in ``frame.attrs["interval"]``.
        """
        check_scale(scale)
        check_prob(prob)
        check_seed(seed)
        family, link = self.spec.family, self.spec.link
        if trials is not None and not family.has_trials:
            raise BayesGLMError(
                f"trials= only applies to binomial models; drop it; got (family={family.name!r})."
            )
        _check_prediction_weights(self, new_data, scale, weights)
        rows = prediction_inputs(
            self.design,
            link,
            new_data,
            offset=offset,
            exposure=exposure,
            trials=trials,
            weights=weights,
        )
        if trials is not None:
            name = trials if isinstance(trials, str) else "trials"
            family.check_trials(pd.Series(rows.trials, index=rows.index, name=name))
        if scale == "response" and family.has_trials and rows.trials is None:
            raise BayesGLMError(
                "response-scale predictions of a binomial need the trials of each new row; "
                "pass trials= (a column name or values); got (trials=None)."
            )
        seed = self.seed if seed is None else seed
        columns, outside = self._summarize_rows(rows, scale, prob, seed, chunk)
        frame = pd.DataFrame(columns, index=rows.index)
        frame.attrs["interval"] = f"{percent(prob)} equal-tailed, {scale} scale"
        frame.attrs["outside"] = outside_warning(
            frame, outside, family, link, scale, of_draws=True
        )
        return frame

    def _summarize_rows(
        self,
        rows: PredictionInputs,
        scale: str,
        prob: float,
        seed: int | None,
        chunk: int | None,
    ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Per-row summaries of the draws on ``scale`` and the fraction of each row's
        draws outside :func:`~bayesglm.predict.eta_range`
        (:func:`bayesglm.draw_summaries.summarize_rows`)."""
        natural = self._natural()

        def respond(mu: np.ndarray, kept: np.ndarray, rng: np.random.Generator) -> np.ndarray:
            trials = None if rows.trials is None else rows.trials[kept]
            weights = None if rows.weights is None else rows.weights[kept]
            drawn = self._draw_responses(mu.T, natural, trials, weights, rng)
            return np.ascontiguousarray(drawn.T)

        return summarize_rows(
            self._beta(),
            rows.X,
            rows.offset,
            self.spec.link,
            eta_range(self.spec.family, self.spec.link),
            scale,
            prob,
            respond=respond,
            seed=seed,
            chunk=chunk,
        )

    # --- marginal effects ---------------------------------------------------------------

    def _draws_method(self, prob: float, chunk: int | None) -> marginal.Draws:
        check_prob(prob)
        return marginal.Draws(self._beta(), self.spec.link, prob, chunk)

    def avg_predictions(
        self, by: str | list[str] | None = None, prob: float = 0.95, chunk: int | None = None
    ) -> pd.DataFrame:
        """The average predicted mean over the fitted rows, overall or per group, draw by
        draw: the posterior median (``estimate``) and the ``prob`` equal-tailed interval.

        The average of each draw is summed over chunks of rows (``chunk`` rows of all
        draws at a time, as in :meth:`predict`). Arguments and columns as
        :meth:`bayesglm.mle.MLEResult.avg_predictions`, without ``std_error``.
        """
        method = self._draws_method(prob, chunk)
        return marginal.avg_predictions(self.design, self.spec.family, method, prob, by)

    def avg_comparisons(
        self,
        variables: Any = None,
        by: str | list[str] | None = None,
        comparison: str = "difference",
        prob: float = 0.95,
        chunk: int | None = None,
    ) -> pd.DataFrame:
        """The average change in the predicted mean when one predictor moves, draw by
        draw: the posterior median, ``p_direction`` (the probability that the change
        has the sign of its median: max(P(> 0), P(< 0)), against 1 for ratios) and
        the equal-tailed interval.

        Arguments and columns as :meth:`bayesglm.mle.MLEResult.avg_comparisons`,
        with ``p_direction`` in place of ``std_error``.
        """
        method = self._draws_method(prob, chunk)
        return marginal.avg_comparisons(
            self.design, self.spec.family, method, prob, variables, by, comparison
        )

    def avg_slopes(
        self,
        variables: str | list[str] | None = None,
        by: str | list[str] | None = None,
        prob: float = 0.95,
        chunk: int | None = None,
    ) -> pd.DataFrame:
        """The average derivative of the mean in each numeric predictor, draw by draw.

        Arguments and columns as :meth:`bayesglm.mle.MLEResult.avg_slopes`, with
        ``p_direction`` (see :meth:`avg_comparisons`) in place of ``std_error``.
        """
        method = self._draws_method(prob, chunk)
        return marginal.avg_slopes(self.design, self.spec.family, method, prob, variables, by)

    def posterior_predictive(
        self, rng: np.random.Generator | int | None = None, chunk: int = 100_000
    ) -> np.ndarray:
        """Replicated responses for the fitted rows, shape (chain * draw, n).

        Drawn in row chunks from the family's distribution at each draw's means
        (with the rows' precision weights for the gaussian; NaN at weight 0).
        Columns follow the fitted rows, labelled by ``design.row_labels``.
        """
        rng = np.random.default_rng(self.seed if rng is None else rng)
        beta, natural = self._beta(), self._natural()
        design = self.design
        out = np.empty((beta.shape[0], design.n))
        for lo, mu in self._iter_means(chunk):
            rows = slice(lo, lo + mu.shape[1])
            trials = None if design.trials is None else design.trials[rows]
            weights = None if design.weights is None else design.weights[rows]
            out[:, rows] = self._draw_responses(mu, natural, trials, weights, rng)
        return out

    def _draw_responses(
        self,
        mu: np.ndarray,
        natural: np.ndarray | None,
        trials: np.ndarray | None,
        weights: np.ndarray | None,
        rng: np.random.Generator,
    ) -> np.ndarray:
        """Responses at means ``mu`` (draws x rows). Precision weights (the
        gaussian's) divide the variance, sd sigma/sqrt(w); a row of weight 0 has no
        finite variance and gets NaN. Other families' weights count observations
        and leave a single response as it is."""
        family = self.spec.family
        if weights is None or not family.weights_are_precision:
            return family.sample(mu, natural, trials, rng)
        precise = weights > 0
        out = np.full(mu.shape, np.nan)
        out[:, precise] = family.sample(
            mu[:, precise],
            natural / np.sqrt(weights[precise]),
            None if trials is None else trials[precise],
            rng,
        )
        return out

    def log_likelihood(self, chunk: int = 20_000) -> Iterator[tuple[slice, np.ndarray]]:
        """Pointwise log-likelihood in row chunks: (rows, array of (draws, rows)).

        Never stored: n x draws can be huge. Prior weights apply as in the fit.
        """
        natural = self._natural()
        design = self.design
        weights = design.prior_weights
        for lo, mu in self._iter_means(chunk):
            rows = slice(lo, lo + mu.shape[1])
            trials = design.trial_counts[rows]
            family = self.spec.family
            values = family.loglike_obs(
                design.y[rows], mu, natural, trials=trials, weights=weights[rows]
            )
            yield rows, values

    def _iter_means(self, chunk: int) -> Iterator[tuple[int, np.ndarray]]:
        beta = self._beta()
        design = self.design
        if design.chunked:  # an importance-sampled fit of Dask rows (bayesglm.importance)
            raise BayesGLMError(
                "per-row quantities of the training rows (loo, r2, sensitivity, "
                "posterior predictive draws, the report) are not available for a fit on "
                "Dask data yet; summary(), effects(), compare_mle() and predict() on new "
                "rows are; got (data=Dask)."
            )
        offset = design.eta_offset
        for lo in range(0, design.n, chunk):
            eta = beta @ design.X[lo : lo + chunk].T + offset[lo : lo + chunk]
            yield lo, self.spec.link.inverse(eta)

    def loo(self) -> Any:
        """PSIS-LOO (ArviZ) from the pointwise log-likelihood, computed on demand.

        Warns with :class:`~bayesglm.errors.SamplingWarning` when Pareto k > 0.7.
        """
        return loo(self)

    def sensitivity(self, chunk: int | None = None) -> pd.DataFrame:
        """Power-scaling prior and likelihood sensitivity per parameter (ArviZ's
        ``psense_summary``, Kallioinen et al. 2024), with its diagnosis and what it says
        of the MLE-versus-posterior verdicts.

        The log prior and the log-likelihood per draw are computed in chunks of
        ``chunk`` rows (the table does not depend on it). Computed once: ``print(fit)``
        then shows it. See :func:`bayesglm.sensitivity.sensitivity_table`.
        """
        if chunk is not None:
            return sensitivity_table(self, chunk)
        return self._sensitivity.copy()

    @functools.cached_property
    def _sensitivity(self) -> pd.DataFrame:
        return sensitivity_table(self)

    def r2(self, prob: float = 0.95, chunk: int | None = None) -> pd.DataFrame:
        """Bayesian R² (Gelman et al. 2019) and LOO-R², on the mean scale, by ArviZ.

        Median and ``prob`` equal-tailed interval of each. See :mod:`bayesglm.r2`.
        """
        from .r2 import r2_table

        return r2_table(self, prob, chunk)

    # --- report -------------------------------------------------------------------------

    def report(self, path: str | Path, prob: float = 0.95) -> Path:
        """Write the report: self-contained HTML (``.html``) or Markdown (``.md``).

        Returns the path written. See :mod:`bayesglm.report`.
        """
        check_prob(prob)
        return write_report(self, path, prob)

    # --- persistence --------------------------------------------------------------------

    def save(self, path: str | Path) -> Path:
        """Write the fit to one netCDF file; :func:`bayesglm.load` reads it back.

        The path is checked first; everything is encoded (and the training data
        checked to load back exactly) before anything is written; the file then
        replaces any previous one only once it is complete. See
        :mod:`bayesglm.persist` for what the file holds.

        Returns
        -------
        Path
            The path written.

        Raises
        ------
        BayesGLMError
            For a path that cannot be written, training data that a file cannot
            hold exactly, or a failed write (the previous file is then unchanged).
        """
        from .persist import write_fit

        return write_fit(self, path)

    # --- presentation -----------------------------------------------------------------

    def __str__(self) -> str:
        # The report's sections as text: the same tables, rounded the same way; the
        # prior sensitivity once computed (see bayesglm.report.console_text).
        return console_text(self)

    def __repr__(self) -> str:
        return (
            f"<GLMResult {self.spec.family.name}({self.spec.link.name}) n={self.design.n} "
            f"p={self.design.p} sampler={self.sampler} draws={self.chains}x"
            f"{self.draws_per_chain}>"
        )


def load(path: str | Path) -> GLMResult | CategoryPosterior:
    """Read a fit written by :meth:`GLMResult.save` (or by
    :meth:`~bayesglm.category_results.CategoryPosterior.save`, a categorical or
    cumulative fit); ``bg.load(path)``.

    Predictions, tables and reports of the loaded fit are those of the saved one.

    Raises
    ------
    BayesGLMError
        For a missing, unreadable, damaged or foreign file, or an unknown format
        version. Any other error (a formula that no longer rebuilds the saved model
        matrix, say) comes through with its own message.
    """
    from .persist import read_fit

    if _is_category_file(path):
        from .category_results import load_category

        return load_category(path)
    return GLMResult(**read_fit(path))


def _is_category_file(path: object) -> bool:
    """Whether ``path`` holds a categorical outcome's fit: a numpy ``.npz`` archive
    (a zip file), where the other families' fits are netCDF (HDF5)."""
    try:
        with open(path, "rb") as file:  # type: ignore[arg-type]
            return file.read(4) == b"PK\x03\x04"
    except (OSError, TypeError):
        return False  # read_fit says what is wrong with the path


def _diagnose(result: GLMResult) -> Diagnostics:
    return sampler_checks(
        list(result._parameter_draws().values()),
        result.sample_stats,
        result.chains,
        result.chains * result.draws_per_chain,
    )


def _check_prediction_weights(result: GLMResult, new_data: Any, scale: str, weights: Any) -> None:
    """Weights matter to predictions only as the gaussian's precisions of new responses."""
    family = result.spec.family
    if weights is not None and not family.weights_are_precision:
        raise BayesGLMError(
            f"weights= sets the precision of new gaussian responses (variance sigma²/w); "
            f"the {family.name} family's weights count observations and do not change a "
            f"prediction; drop weights=; got (family={family.name!r})."
        )
    needs_weights = family.weights_are_precision and result.design.weights is not None
    if needs_weights and scale == "response" and new_data is not None and weights is None:
        raise BayesGLMError(
            "the model was fitted with precision weights, so a new response has variance "
            "sigma²/w: response-scale predictions need the new rows' weights= (values or "
            "a column; 1 for a row as precise as a weight-1 training row); "
            "got (weights=None)."
        )


def warn_if_unhealthy(result: GLMResult) -> Diagnostics:
    """Raise one :class:`SamplingWarning` listing every failed check."""
    diagnostics = result.diagnostics()
    if not diagnostics.ok:
        warnings.warn(
            "sampling problems: " + " ".join(diagnostics.problems), SamplingWarning, stacklevel=3
        )
    return diagnostics


def _build_idata(
    beta: np.ndarray,
    natural: np.ndarray | None,
    sample_stats: dict[str, np.ndarray],
    names: list[str],
    natural_name: str | None,
) -> xr.DataTree:
    """The DataTree of a fit's draws, labelled by coefficient name.

    ``natural_name`` is None when the family's natural parameter is not sampled.
    """
    import xarray as xr

    chains, draws, _ = beta.shape
    coords = {"chain": np.arange(chains), "draw": np.arange(draws), "coef": names}
    variables = {"beta": (("chain", "draw", "coef"), beta)}
    if natural_name is not None:
        variables[natural_name] = (("chain", "draw"), natural)
    posterior = xr.Dataset(variables, coords=coords)
    stats = xr.Dataset(
        {name: (("chain", "draw"), values) for name, values in sample_stats.items()},
        coords={"chain": np.arange(chains), "draw": np.arange(draws)},
    )
    return xr.DataTree.from_dict({"posterior": posterior, "sample_stats": stats})
