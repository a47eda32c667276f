"""The maximum-likelihood result, with R's ``summary.glm()`` conventions."""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from . import marginal
from ._xp import Interval
from .chunked_design import block_results, check_rows, check_vector, is_chunked
from .design import Design
from .errors import BayesGLMError
from .families import Family
from .links import Link
from .predict import (
    check_prob,
    check_scale,
    cut_warning,
    eta_range,
    outside_warning,
    percent,
    prediction_inputs,
    row_chunks,
)

__all__ = ["MLEResult"]

_PREDICTION_COLUMNS = ("estimate", "std_error", "conf_low", "conf_high")


@dataclass(frozen=True, eq=False)
class MLEResult:
    """A fitted GLM by maximum likelihood.

    Statistics follow R's ``glm()`` and ``summary.glm()``: the dispersion is the
    Pearson statistic over the residual degrees of freedom for families whose
    dispersion is free (and 1 otherwise); tests use t with ``df_resid`` degrees of
    freedom for those families and z otherwise; ``llf`` and ``aic`` are R's
    ``logLik()`` and ``AIC()`` (NaN for a quasi-family, where R's are NA).

    Attributes
    ----------
    names : tuple of str
        Coefficient names.
    params : Series
        The estimates (``coef()`` in R).
    cov_unscaled : ndarray
        :math:`(X^\\top W X)^{-1}` at the estimates.
    dispersion : float
        The GLM dispersion :math:`\\phi`.
    deviance, null_deviance : float
        Residual deviance and the deviance of the intercept-only model (with offset).
    df_resid, df_null : int
        Their degrees of freedom.
    llf : float
        Log-likelihood at the estimates (NaN when a free dispersion has no residual
        degrees of freedom, and for a quasi-family, which has no likelihood).
    k_params : int
        Parameters the likelihood counts (R's ``attr(logLik(fit), "df")``): the
        coefficients, plus the family's natural parameter when it is estimated (not
        a negative binomial theta the user fixed).
    converged : bool
        Whether Fisher scoring met its tolerance.
    n_iter : int
        Fisher-scoring iterations.
    fitted : ndarray
        Fitted means (proportions for the binomial).
    separation : tuple of str
        Columns involved in (quasi-)complete separation, empty if none.
    warnings : tuple of str
        Everything the fit warned about.
    """

    names: tuple[str, ...]
    params_array: np.ndarray
    cov_unscaled: np.ndarray
    dispersion: float
    deviance: float
    null_deviance: float
    df_resid: int
    df_null: int
    llf: float
    k_params: int
    nobs: int
    converged: bool
    n_iter: int
    family: Family
    link: Link
    fitted: np.ndarray
    eta: np.ndarray
    y_mean: np.ndarray
    irls_weights: np.ndarray
    prior_weights: np.ndarray
    theta_se: float | None
    solver: str
    separation: tuple[str, ...]
    warnings: tuple[str, ...]
    design: Design | None

    def __init__(self, *, params: np.ndarray, **fields: object) -> None:
        object.__setattr__(self, "params_array", np.asarray(params, dtype=float))
        for key, value in fields.items():
            object.__setattr__(self, key, value)

    # --- coefficients -------------------------------------------------------------

    @property
    def params(self) -> pd.Series:
        """Coefficient estimates."""
        # A copy: without pandas' copy-on-write (pandas 2) the Series would share the
        # fit's array, and changing it in place would change the fit.
        return pd.Series(self.params_array.copy(), index=list(self.names), name="coef")

    @property
    def df_model(self) -> int:
        """Number of coefficients besides the intercept (rank - 1 with intercept)."""
        return self.df_null - self.df_resid

    @property
    def cov_params(self) -> pd.DataFrame:
        """Covariance of the estimates, :math:`\\phi (X^\\top W X)^{-1}`.

        A new table each time: changing it in place leaves the fit as it was.
        """
        return pd.DataFrame(
            self.dispersion * self.cov_unscaled, index=list(self.names), columns=list(self.names)
        )

    @property
    def bse(self) -> pd.Series:
        """Standard errors."""
        return pd.Series(
            np.sqrt(np.diag(self.cov_params.to_numpy())), index=list(self.names), name="se"
        )

    @property
    def uses_t(self) -> bool:
        """Whether tests use Student's t (free dispersion) rather than the normal."""
        return self.family.free_phi

    @property
    def tvalues(self) -> pd.Series:
        """Wald statistics, estimate / SE (z or t)."""
        return (self.params / self.bse).rename("t" if self.uses_t else "z")

    @property
    def pvalues(self) -> pd.Series:
        """Two-sided p-values of the Wald statistics."""
        t = np.abs(self.tvalues.to_numpy())
        if self.uses_t:
            p = 2.0 * special.stdtr(self.df_resid, -t)  # what scipy.stats.t.sf computes
        else:
            p = 2.0 * special.ndtr(-t)
        return pd.Series(p, index=list(self.names), name="p")

    def conf_int(self, prob: float = 0.95) -> pd.DataFrame:
        """Wald confidence intervals (t quantiles where tests use t).

        Parameters
        ----------
        prob : float
            Interval probability, as ``prob=`` everywhere else.

        Returns
        -------
        DataFrame
            ``conf_low``, ``conf_high`` per coefficient; the interval is named in
            ``frame.attrs["interval"]``.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesglm import fit_mle
        >>> fit = fit_mle(np.ones((4, 1)), [1, 2, 3, 4], family="gaussian",
        ...               names=["Intercept"])
        >>> fit.conf_int().round(4).to_numpy().tolist()
        [[0.4457, 4.5543]]
        """
        check_prob(prob)
        q = self._quantile(prob)
        frame = pd.DataFrame(
            {"conf_low": self.params - q * self.bse, "conf_high": self.params + q * self.bse}
        )
        frame.attrs["interval"] = f"{percent(prob)} Wald ({'t' if self.uses_t else 'normal'})"
        return frame

    def _quantile(self, prob: float) -> float:
        """The Wald interval's multiplier: t with ``df_resid`` where tests use t."""
        if self.uses_t:
            return float(special.stdtrit(self.df_resid, 0.5 + prob / 2.0))
        return float(special.ndtri(0.5 + prob / 2.0))

    # --- fit statistics -----------------------------------------------------------

    @property
    def aic(self) -> float:
        """Akaike information criterion as R's ``AIC()``, with ``k_params`` parameters."""
        return -2.0 * self.llf + 2.0 * self.k_params

    @property
    def bic(self) -> float:
        """Bayesian information criterion as R's ``BIC()``."""
        return -2.0 * self.llf + math.log(self.nobs) * self.k_params

    @property
    def theta(self) -> float | None:
        """The negative binomial's theta (None for other families)."""
        return getattr(self.family, "theta", None)

    @property
    def pearson_chi2(self) -> float:
        """Pearson's statistic, the sum of squared Pearson residuals."""
        return float(np.sum(self.resid_pearson**2))

    # --- residuals (R's residuals.glm types) --------------------------------------

    @property
    def resid_response(self) -> np.ndarray:
        """y - mu on the mean scale."""
        return self.y_mean - self.fitted

    @property
    def resid_pearson(self) -> np.ndarray:
        """(y - mu) sqrt(w) / sqrt(V(mu)); 0 where y equals a mean on the edge of its
        range (V(mu) = 0 there, and the residual's limit is 0)."""
        family = self.family

        def rows(y: np.ndarray, mu: np.ndarray, weights: np.ndarray) -> np.ndarray:
            scaled = (y - mu) * np.sqrt(weights)
            sd = np.sqrt(family.variance(mu))
            return np.divide(scaled, sd, out=np.zeros_like(scaled), where=scaled != 0)

        return self._per_row(rows)

    @property
    def resid_deviance(self) -> np.ndarray:
        """sign(y - mu) sqrt(w d(y, mu))."""
        family = self.family

        def rows(y: np.ndarray, mu: np.ndarray, weights: np.ndarray) -> np.ndarray:
            unit = family.unit_deviance(y, mu)
            return np.sign(y - mu) * np.sqrt(np.maximum(weights * unit, 0))

        return self._per_row(rows)

    def _per_row(self, fn: Any) -> Any:
        """``fn(y, mu, prior weights)`` per row: at once in memory; chunk by chunk,
        lazily, for a chunked fit (each chunk computed as in memory)."""
        rows = (self.y_mean, self.fitted, self.prior_weights)
        if self.design is None:  # pragma: no cover - every fit records its design
            return fn(*rows)
        return self.design.map_rows(fn, *rows)

    @property
    def resid_working(self) -> np.ndarray:
        """(y - mu) d eta / d mu."""
        return self.resid_response / self.link.inverse_deriv(self.eta)

    # --- prediction ---------------------------------------------------------------

    def predict(
        self,
        new_data: object = None,
        scale: str = "mean",
        prob: float = 0.95,
        offset: object = None,
        exposure: object = None,
    ) -> pd.DataFrame:
        r"""Predictions with delta-method standard errors and Wald intervals.

        The interval is built on the link scale (η̂ ± q·SE, q from t with
        ``df_resid`` where tests use t, else normal) and, for ``scale="mean"``,
        mapped through the inverse link; the standard error there is the delta
        method's :math:`|d\mu/d\eta|\,\mathrm{SE}(\hat\eta)`.

        Where the model defines no mean (η̂ outside :func:`bayesglm.predict.eta_range`,
        such as a negative η under the inverse link) the mean-scale row is NaN, and
        a :class:`~bayesglm.errors.DomainWarning` names it; a link-scale row keeps
        the linear predictor, with the same warning. A mean-scale interval that
        would reach past that range is cut at its edge (its end is then the limit
        of the mean there: 0, 1 or inf), with a warning. ``frame.attrs`` records
        both: ``"outside"`` ({row label: 1.0}) and ``"interval_cut"`` (row labels).

        Parameters
        ----------
        new_data : DataFrame or array_like, optional
            New rows (a DataFrame for formula models, a model matrix otherwise:
            a frame with the model's column names is read by name, one without
            them by position); the fitted rows, under their own labels, when None.
        scale : {"link", "mean"}
        prob : float
            Interval probability.
        offset, exposure : str or array_like, optional
            The new rows' offset, or exposure (log link: offset = log(exposure)):
            values, or a column of the new data. Required when the model's offset
            was given as values; otherwise they override the offset rebuilt from
            the new data.

        Returns
        -------
        DataFrame
            ``estimate``, ``std_error``, ``conf_low``, ``conf_high`` per row, indexed
            by the rows' labels; the interval is named in ``frame.attrs["interval"]``.
        """
        check_scale(scale, ("link", "mean"))
        check_prob(prob)
        if self.design is None:  # pragma: no cover - every fit records its design
            raise ValueError("this result has no design to predict from")
        chunked = self.design.chunked and new_data is None
        if chunked or is_chunked(new_data, offset, exposure):
            return self._predict_chunked(new_data, scale, prob, offset, exposure)
        rows = prediction_inputs(
            self.design, self.link, new_data, offset=offset, exposure=exposure
        )
        q = self._quantile(prob)
        cov = self.cov_params.to_numpy()
        n = rows.X.shape[0]
        eta, se = np.empty(n), np.empty(n)
        for part in row_chunks(n, len(self.names) * 4):
            Xp = rows.X[part]
            eta[part] = Xp @ self.params_array + rows.offset[part]
            se[part] = np.sqrt(np.einsum("ij,jk,ik->i", Xp, cov, Xp))
        valid = eta_range(self.family, self.link)
        inside = valid.includes(eta)
        if scale == "link":
            columns = {
                "estimate": eta,
                "std_error": se,
                "conf_low": eta - q * se,
                "conf_high": eta + q * se,
            }
            cut = np.zeros(n, dtype=bool)
        else:
            columns, cut = self._mean_scale(eta, se, q, valid, inside)
        frame = pd.DataFrame(columns, index=rows.index)
        frame.attrs["interval"] = f"{percent(prob)} Wald (delta method), {scale} scale"
        frame.attrs["outside"] = outside_warning(
            frame, (~inside).astype(float), self.family, self.link, scale, of_draws=False
        )
        frame.attrs["interval_cut"] = cut_warning(frame, cut, self.family, self.link, prob)
        return frame

    def _predict_chunked(
        self, new_data: Any, scale: str, prob: float, offset: Any, exposure: Any
    ) -> Any:
        """:meth:`predict` on the chunks of Dask rows, as a lazy dask dataframe.

        A dask dataframe (formula models: its columns; offset and exposure name
        columns) is predicted partition by partition; a row-chunked dask array (or
        the fitted rows of a chunked fit) chunk by chunk, with offset or exposure
        as Dask arrays of its row chunks, and rows labelled by their position. Each
        chunk is predicted as :meth:`predict` predicts rows in memory; the frame's
        ``attrs`` (warnings about rows outside the model's range) are not kept.
        """
        import dask.array as da
        import dask.dataframe as dd

        meta = pd.DataFrame({name: pd.Series(dtype=float) for name in _PREDICTION_COLUMNS})
        light = self._for_chunks()
        if isinstance(new_data, dd.DataFrame):
            for arg, values in (("offset", offset), ("exposure", exposure)):
                if values is not None and not isinstance(values, str):
                    raise BayesGLMError(
                        f"with a dask dataframe to predict, {arg}= names one of its "
                        f"columns; got ({arg}={type(values).__name__})."
                    )

            def partition(rows: pd.DataFrame) -> pd.DataFrame:
                return _predict_rows(rows, light, scale, prob, offset, exposure)

            return new_data.map_partitions(partition, meta=meta)
        if new_data is None:  # the fitted rows of a chunked fit
            new_data = self.design.X
            if offset is None and exposure is None:
                offset = self.design.offset
        X, _ = check_rows(new_data, self.names)
        rows = X.chunks[0]
        extras = {
            arg: check_vector(values, arg, rows)
            for arg, values in (("offset", offset), ("exposure", exposure))
            if values is not None
        }
        positions = da.arange(X.shape[0], chunks=(rows,))

        def block(position: np.ndarray, X_rows: np.ndarray, *values: np.ndarray) -> Any:
            if not len(X_rows):  # a chunk of no rows
                return meta
            given = dict(zip(extras, values, strict=True))
            frame = _predict_rows(X_rows, light, scale, prob, **given)
            start = int(position[0]) if position.size else 0
            frame.index = pd.RangeIndex(start, start + len(frame))
            return frame

        parts = block_results(block, positions, X, *extras.values())
        return dd.from_delayed(parts, meta=meta, verify_meta=False)

    def _for_chunks(self) -> MLEResult:
        """This result without its per-row arrays, to predict chunks where they live:
        its design keeps only what new rows are checked and built against."""
        design = self.design
        stand_in = Design(
            y=np.zeros(0),
            X=np.zeros((0, len(self.names))),
            names=self.names,
            offset=None if design.offset is None else np.zeros(0),
            weights=None,
            trials=None,
            intercept=design.intercept,
            formula=design.formula,
        )
        light = copy.copy(self)
        for name in ("fitted", "eta", "y_mean", "irls_weights", "prior_weights"):
            object.__setattr__(light, name, None)
        object.__setattr__(light, "design", stand_in)
        return light

    def _mean_scale(
        self, eta: np.ndarray, se: np.ndarray, q: float, valid: Interval, inside: np.ndarray
    ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Mean-scale columns: NaN where η̂ is outside ``valid``; the link-scale
        interval cut to ``valid`` before it is mapped through the inverse link."""
        low, high = eta - q * se, eta + q * se
        cut = inside & ~(valid.includes(low) & valid.includes(high))
        low, high = np.clip(low, valid.low, valid.high), np.clip(high, valid.low, valid.high)
        with np.errstate(all="ignore"):  # the inverse at a range's edge or beyond it
            estimate = self.link.inverse(eta)
            std_error = np.abs(self.link.inverse_deriv(eta)) * se
            ends = np.vstack([self.link.inverse(low), self.link.inverse(high)])
        columns = {
            "estimate": estimate,
            "std_error": std_error,
            "conf_low": ends.min(axis=0),  # a decreasing link swaps the ends
            "conf_high": ends.max(axis=0),
        }
        return {name: np.where(inside, values, np.nan) for name, values in columns.items()}, cut

    # --- marginal effects -----------------------------------------------------------

    def _delta(self, prob: float) -> marginal.DeltaMethod:
        check_prob(prob)
        interval = f"{percent(prob)} Wald ({'t' if self.uses_t else 'normal'}, delta method)"
        return marginal.DeltaMethod(
            self.params_array,
            self.cov_params.to_numpy(),
            self.link,
            self._quantile(prob),
            f"{interval}, mean scale",
            self.separation,
        )

    def avg_predictions(self, by: str | list[str] | None = None, prob: float = 0.95):
        """The average predicted mean over the fitted rows, overall or per group.

        Each fitted row's mean is the one :meth:`predict` gives (at its own offset or
        exposure; a binomial's mean is the probability, whatever its trials), and
        every row counts once. The standard error is the delta method's; the
        interval is the estimate ± q·SE (q as in :meth:`conf_int`), as
        marginaleffects builds it.

        Parameters
        ----------
        by : str or list of str, optional
            Columns of the model's data (a formula's) or of X (arrays) to group the
            rows by: one row of the table per group.
        prob : float
            Interval probability.

        Returns
        -------
        DataFrame
            The ``by`` columns, ``estimate``, ``std_error``, ``conf_low``,
            ``conf_high`` and ``sentence``; the interval is named in
            ``frame.attrs["interval"]``.

        Examples
        --------
        >>> import numpy as np, pandas as pd, bayesglm as bg
        >>> df = pd.DataFrame({"y": [0, 1, 0, 1, 1, 1], "x": [1.0, 2, 3, 4, 5, 6]})
        >>> mle = bg.GLM("y ~ x", df, family="bernoulli").fit_mle()
        >>> round(float(mle.avg_predictions()["estimate"].iloc[0]), 4)
        0.6667
        """
        return marginal.avg_predictions(self.design, self.family, self._delta(prob), prob, by)

    def avg_comparisons(
        self,
        variables: object = None,
        by: str | list[str] | None = None,
        comparison: str = "difference",
        prob: float = 0.95,
    ):
        """The average change in the predicted mean when one predictor moves.

        For every fitted row the mean is predicted twice, with the predictor at a
        low and at a high value (the other columns as they are, and every column of
        the design that reads the predictor rebuilt from it by the formula), and
        the two averages over the rows are compared.

        Parameters
        ----------
        variables : str, list of str or dict, optional
            The predictors to move (all by default). A dict gives each its change:
            for a number, a step (``1`` by default: x - 1/2 against x + 1/2, as
            marginaleffects centres it), ``"sd"`` (a step of one sd of the
            predictor) or two values ``[a, b]`` (every row at a, then at b); for a
            factor (``C(x)``, text, categorical or boolean columns), ``"reference"``
            (each level against the reference level, the default) or two levels
            ``[a, b]``.
        by : str or list of str, optional
            Columns to group the rows by (see :meth:`avg_predictions`).
        comparison : {"difference", "ratio"}
            The difference of the average means (high - low), or their ratio
            (high / low: marginaleffects' ``"ratioavg"``).
        prob : float
            Interval probability.

        Returns
        -------
        DataFrame
            The ``by`` columns, ``term``, ``contrast``, ``estimate``, ``std_error``,
            ``conf_low``, ``conf_high`` and ``sentence``.

        Examples
        --------
        >>> import numpy as np, pandas as pd, bayesglm as bg
        >>> df = pd.DataFrame({"y": [1, 3, 2, 5, 4, 8], "x": [1.0, 2, 3, 4, 5, 6]})
        >>> mle = bg.GLM("y ~ x", df, family="gaussian").fit_mle()
        >>> float(mle.avg_comparisons()["estimate"].iloc[0].round(4))
        1.1714
        """
        return marginal.avg_comparisons(
            self.design, self.family, self._delta(prob), prob, variables, by, comparison
        )

    def avg_slopes(
        self,
        variables: str | list[str] | None = None,
        by: str | list[str] | None = None,
        prob: float = 0.95,
    ):
        r"""The average derivative of the mean in each numeric predictor.

        Per row, :math:`d\mu/dx = \mu'(\eta)\,(\partial X/\partial x)\,\beta`: the
        inverse link's derivative times the change of the linear predictor, which
        counts every column that reads ``x`` (see :mod:`bayesglm.marginal` for how
        :math:`\partial X/\partial x` is found).

        Parameters
        ----------
        variables : str or list of str, optional
            Numeric predictors (all of them by default).
        by : str or list of str, optional
            Columns to group the rows by (see :meth:`avg_predictions`).
        prob : float
            Interval probability.

        Returns
        -------
        DataFrame
            The ``by`` columns, ``term``, ``contrast`` ("dY/dX"), ``estimate``,
            ``std_error``, ``conf_low``, ``conf_high`` and ``sentence``.
        """
        method = self._delta(prob)
        return marginal.avg_slopes(self.design, self.family, method, prob, variables, by)

    # --- presentation -------------------------------------------------------------

    def coef_table(self) -> pd.DataFrame:
        """Estimate, standard error, Wald statistic and p-value per coefficient."""
        stat = "t value" if self.uses_t else "z value"
        p = "Pr(>|t|)" if self.uses_t else "Pr(>|z|)"
        return pd.DataFrame(
            {
                "Estimate": self.params,
                "Std. Error": self.bse,
                stat: self.tvalues,
                p: self.pvalues,
            }
        )

    def summary(self) -> str:
        """A text summary laid out like R's ``summary.glm()``.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesglm import fit_mle
        >>> fit = fit_mle(np.ones((5, 1)), [0, 0, 1, 2, 3], family="poisson",
        ...               names=["Intercept"])
        >>> print(fit.summary().splitlines()[0])
        Generalized linear model fitted by maximum likelihood (IRLS)
        """
        table = self.coef_table().to_string(float_format=lambda v: f"{v:.6g}")
        family = self.family.name
        if self.theta is not None and self.theta_se is None:
            family += f"(theta = {self.theta:.6g}, fixed)"
        elif self.theta is not None:
            family += f"(theta = {self.theta:.6g}, SE = {self.theta_se:.4g})"
        dispersion = (
            f"(Dispersion parameter for {self.family.name} family taken to be "
            f"{self.dispersion:.6g})"
        )
        lines = [
            "Generalized linear model fitted by maximum likelihood (IRLS)",
            f"Family: {family}    Link: {self.link.name}    Observations: {self.nobs}",
            "",
            "Coefficients:",
            table,
            "",
            dispersion,
            "",
            f"    Null deviance: {self.null_deviance:.6g}  on {self.df_null} degrees of freedom",
            f"Residual deviance: {self.deviance:.6g}  on {self.df_resid} degrees of freedom",
            (
                f"AIC: {self.aic:.6g}    Log-likelihood: {self.llf:.6g}"
                if self.family.has_likelihood
                else "AIC: NA    Log-likelihood: NA (a quasi-likelihood has none)"
            ),
            "",
            f"Number of Fisher Scoring iterations: {self.n_iter}"
            + ("" if self.converged else " (did NOT converge)"),
        ]
        lines += [f"Warning: {message}" for message in self.warnings]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"<MLEResult {self.family.name}({self.link.name}) n={self.nobs} "
            f"p={len(self.names)} deviance={self.deviance:.6g}>"
        )


def _predict_rows(
    rows: Any,
    result: MLEResult,
    scale: str,
    prob: float,
    offset: Any = None,
    exposure: Any = None,
) -> pd.DataFrame:
    """One chunk's predictions (in memory), without the frame's ``attrs``."""
    frame = result.predict(rows, scale=scale, prob=prob, offset=offset, exposure=exposure)
    frame.attrs = {}
    return frame
