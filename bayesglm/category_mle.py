"""The maximum-likelihood fit of a categorical outcome, read as R's ``summary()``.

:class:`CategoryMLEResult` is the sibling of :class:`~bayesglm.mle.MLEResult` for
the ``categorical`` and ``cumulative`` families, with the same names (``params``,
``bse``, ``cov_params``, ``tvalues``, ``pvalues``, ``conf_int()``, ``deviance``,
``llf``, ``aic``, ``bic``, ``predict()``, ``summary()``); the deviance, AIC and
BIC are those of ``nnet::multinom`` and ``MASS::polr`` (deviance = -2 log-likelihood,
observations = the sum of the frequency weights).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import linalg, stats

from .category_design import CategoryDesign, category_design_from_arrays, refuse_extras
from .category_families import CategorySpec, resolve_category
from .category_newton import newton, objective, start
from .errors import ConvergenceWarning, SeparationWarning, warn_recorded
from .predict import check_prob, percent, prediction_inputs
from .separation import _separated_columns

__all__ = ["CategoryMLEResult", "fit_category_design", "fit_category_mle"]


@dataclass(frozen=True, eq=False)
class CategoryMLEResult:
    """A categorical or cumulative model fitted by maximum likelihood.

    Attributes
    ----------
    spec : CategorySpec
        The family and link.
    cdesign : CategoryDesign
        The data: levels, codes, predictors, weights.
    params_array : ndarray
        The estimates, in R's order (see :mod:`bayesglm.category_newton`).
    cov_array : ndarray
        Their covariance, the inverse of the negative Hessian at the estimates.
    llf : float
        The log-likelihood at the estimates.
    converged : bool
    n_iter : int
        Newton–Raphson iterations.
    separation : tuple of str
        Columns along which the outcome is separated (estimates diverge).
    warnings : tuple of str
        Everything the fit warned about.
    """

    spec: CategorySpec
    cdesign: CategoryDesign
    params_array: np.ndarray
    cov_array: np.ndarray
    llf: float
    converged: bool
    n_iter: int
    separation: tuple[str, ...]
    warnings: tuple[str, ...]

    # --- names and estimates -------------------------------------------------------

    @property
    def family(self):
        """The family (:class:`~bayesglm.category_families.CategoryFamily`)."""
        return self.spec.family

    @property
    def link(self):
        """The link."""
        return self.spec.link

    @property
    def levels(self) -> tuple:
        """The response's levels in order."""
        return self.cdesign.levels

    @property
    def cutpoint_names(self) -> tuple[str, ...]:
        """``"Low|Medium"``, … as polr names its cutpoints (cumulative only)."""
        names = self.cdesign.level_names
        return tuple(f"{a}|{b}" for a, b in itertools.pairwise(names))

    @property
    def index(self) -> pd.Index:
        """The parameters' labels: (level, term) pairs for the categorical; terms
        then cutpoints for the cumulative."""
        terms, levels = self.cdesign.terms, self.cdesign.level_names
        if self.family.ordered:
            return pd.Index(list(terms) + list(self.cutpoint_names), name="param")
        others = [lv for k, lv in enumerate(levels) if k != self.cdesign.reference]
        return pd.MultiIndex.from_product([others, list(terms)], names=["level", "term"])

    @property
    def params(self) -> pd.Series:
        """The estimates."""
        return pd.Series(self.params_array.copy(), index=self.index, name="coef")

    @property
    def cov_params(self) -> pd.DataFrame:
        """Covariance of the estimates (R's ``vcov()``); a new table each time."""
        return pd.DataFrame(self.cov_array.copy(), index=self.index, columns=self.index)

    @property
    def bse(self) -> pd.Series:
        """Standard errors."""
        return pd.Series(np.sqrt(np.diag(self.cov_array)), index=self.index, name="se")

    @property
    def tvalues(self) -> pd.Series:
        """Wald statistics, estimate / SE (z)."""
        return (self.params / self.bse).rename("z")

    @property
    def pvalues(self) -> pd.Series:
        """Two-sided p-values of the Wald statistics (normal)."""
        return pd.Series(
            2.0 * stats.norm.sf(np.abs(self.tvalues.to_numpy())), index=self.index, name="p"
        )

    def conf_int(self, prob: float = 0.95) -> pd.DataFrame:
        """Wald confidence intervals (normal quantiles)."""
        check_prob(prob)
        q = float(stats.norm.ppf(0.5 + prob / 2.0))
        frame = pd.DataFrame(
            {"conf_low": self.params - q * self.bse, "conf_high": self.params + q * self.bse}
        )
        frame.attrs["interval"] = f"{percent(prob)} Wald (normal)"
        return frame

    # --- fit statistics -----------------------------------------------------------

    @property
    def nobs(self) -> float:
        """Observations: the sum of the frequency weights (R's ``nobs``)."""
        return float(self.cdesign.design.case_weights.sum())

    @property
    def k_params(self) -> int:
        """Parameters the likelihood counts (R's ``edf``)."""
        return len(self.params_array)

    @property
    def df_resid(self) -> float:
        """Residual degrees of freedom, ``nobs - k_params`` (R's ``df.residual``)."""
        return self.nobs - self.k_params

    @property
    def deviance(self) -> float:
        """-2 log-likelihood (R's residual deviance of ``multinom`` / ``polr``)."""
        return -2.0 * self.llf

    @property
    def null_deviance(self) -> float:
        """The deviance of the model with intercepts (cutpoints) only."""
        w = self.cdesign.design.case_weights
        counts = np.bincount(self.cdesign.codes, weights=w, minlength=self.cdesign.K)
        shares = counts / counts.sum()
        used = counts > 0
        return float(-2.0 * np.sum(counts[used] * np.log(shares[used])))

    @property
    def aic(self) -> float:
        """Akaike information criterion as R's ``AIC()``."""
        return self.deviance + 2.0 * self.k_params

    @property
    def bic(self) -> float:
        """Bayesian information criterion as R's ``BIC()`` (log of ``nobs``)."""
        return self.deviance + math.log(self.nobs) * self.k_params

    # --- probabilities --------------------------------------------------------------

    def probabilities(self, X: np.ndarray, theta: np.ndarray | None = None) -> np.ndarray:
        """Category probabilities (n, K) of rows ``X`` (the linear predictor's columns,
        :meth:`~bayesglm.category_design.CategoryDesign.matrix`) at ``theta`` (the
        estimates by default)."""
        return _probabilities(
            self.spec, self.cdesign, X, self.params_array if theta is None else theta
        )

    def probability_jacobian(self, X: np.ndarray, probs: np.ndarray) -> np.ndarray:
        """d P(Y = k) / d theta per row: shape (n, K, parameters)."""
        n, p = X.shape
        K = self.cdesign.K
        if self.family.ordered:
            beta, zeta = self.params_array[:p], self.params_array[p:]
            x = zeta[None, :] - (X @ beta)[:, None]
            f = np.concatenate(
                [np.zeros((n, 1)), self.link.inverse_deriv(x), np.zeros((n, 1))], axis=1
            )
            J = np.zeros((n, K, p + K - 1))
            J[:, :, :p] = -(f[:, 1:] - f[:, :-1])[:, :, None] * X[:, None, :]
            for k in range(K):
                if k < K - 1:
                    J[:, k, p + k] += f[:, k + 1]
                if k > 0:
                    J[:, k, p + k - 1] -= f[:, k]
            return J
        others = [k for k in range(K) if k != self.cdesign.reference]
        J = np.zeros((n, K, K - 1, p))
        for j, level in enumerate(others):
            # dP_k / d beta_j = P_k (1{k = j} - P_j) x
            weight = probs * ((np.arange(K) == level)[None, :] - probs[:, [level]])
            J[:, :, j, :] = weight[:, :, None] * X[:, None, :]
        return J.reshape(n, K, (K - 1) * p)

    @property
    def fitted(self) -> pd.DataFrame:
        """Fitted category probabilities (R's ``fitted()``), one column per level."""
        cd = self.cdesign
        probs = self.probabilities(cd.X, self.params_array)
        index = cd.design.row_labels if cd.design.row_labels is not None else None
        return pd.DataFrame(probs, index=index, columns=list(cd.level_names))

    def predict(self, new_data: object = None, prob: float = 0.95) -> pd.DataFrame:
        r"""Predicted category probabilities with delta-method intervals.

        The standard error is the delta method's, :math:`\sqrt{J V J^\top}` with
        :math:`J = \partial P(Y=k)/\partial\theta`; the interval is built on the
        logit scale of the probability (estimate ± q·SE / (p(1 - p))) and mapped
        back, so that it stays inside (0, 1).

        Parameters
        ----------
        new_data : DataFrame or array_like, optional
            New rows (a DataFrame for formula models, a model matrix with the
            model's columns otherwise); the fitted rows when None.
        prob : float
            Interval probability.

        Returns
        -------
        DataFrame
            One row per (row, level): ``row``, ``level``, ``estimate``,
            ``std_error``, ``conf_low``, ``conf_high``; the interval is named in
            ``frame.attrs["interval"]``.
        """
        check_prob(prob)
        cd = self.cdesign
        rows = prediction_inputs(cd.design, self.link, new_data)
        X = cd.matrix(rows.X)
        probs = self.probabilities(X, self.params_array)
        J = self.probability_jacobian(X, probs)
        se = np.sqrt(np.maximum(np.einsum("nkp,pq,nkq->nk", J, self.cov_array, J), 0.0))
        q = float(stats.norm.ppf(0.5 + prob / 2.0))
        with np.errstate(all="ignore"):
            logit = np.log(probs) - np.log1p(-probs)
            half = q * se / (probs * (1.0 - probs))
            low, high = (
                1.0 / (1.0 + np.exp(-(logit - half))),
                1.0 / (1.0 + np.exp(-(logit + half))),
            )
        n, K = probs.shape
        frame = pd.DataFrame(
            {
                "row": np.repeat(np.asarray(rows.index, dtype=object), K),
                "level": np.tile(np.asarray(cd.level_names, dtype=object), n),
                "estimate": probs.ravel(),
                "std_error": se.ravel(),
                "conf_low": low.ravel(),
                "conf_high": high.ravel(),
            }
        )
        frame.attrs["interval"] = f"{percent(prob)} Wald (delta method), logit of the probability"
        return frame

    def avg_predictions(self, by: str | list[str] | None = None, prob: float = 0.95):
        """The average probability of each level over the fitted rows, overall or per
        group, with delta-method standard errors
        (:func:`bayesglm.category_marginal.average_probabilities`)."""
        from .category_marginal import average_probabilities

        return average_probabilities(self, by, prob)

    def avg_comparisons(
        self,
        variables: object = None,
        by: str | list[str] | None = None,
        comparison: str = "difference",
        prob: float = 0.95,
    ) -> pd.DataFrame:
        """The average change in each level's probability when a predictor moves,
        with delta-method standard errors.

        The predictor is moved as :meth:`bayesglm.mle.MLEResult.avg_comparisons`
        moves it (the same ``variables``, ``by`` and ``comparison``); the table has one
        row per (comparison, level), the level in ``group``, as marginaleffects gives
        it for multinomial models (:func:`bayesglm.category_marginal.category_marginal`).

        Returns
        -------
        DataFrame
            The ``by`` columns, ``group``, ``term``, ``contrast``, ``estimate``,
            ``std_error``, ``conf_low``, ``conf_high`` (Wald, estimate ± q·SE).

        Examples
        --------
        >>> import numpy as np, bayesglm as bg
        >>> rng = np.random.default_rng(1)
        >>> x = rng.normal(size=300)
        >>> y = np.digitize(x + rng.logistic(size=300), [-1.0, 1.0])
        >>> fit = bg.fit_mle(np.c_[np.ones(300), x], y, family="cumulative",
        ...                  names=["Intercept", "x"])
        >>> table = fit.avg_comparisons()
        >>> list(table["group"]), bool(abs(table["estimate"].sum()) < 1e-12)
        (['0', '1', '2'], True)
        """
        from .category_marginal import category_marginal

        return category_marginal(self, "comparisons", prob, variables, by, comparison)

    def avg_slopes(
        self,
        variables: str | list[str] | None = None,
        by: str | list[str] | None = None,
        prob: float = 0.95,
    ) -> pd.DataFrame:
        """The average derivative of each level's probability in each numeric
        predictor (exact: :func:`bayesglm.category_marginal.probability_slopes`), with
        delta-method standard errors; columns as :meth:`avg_comparisons` (``contrast``
        is "dY/dX")."""
        from .category_marginal import category_marginal

        return category_marginal(self, "slopes", prob, variables, by)

    def effects(self, prob: float = 0.95) -> pd.DataFrame:
        """What each coefficient does, at the estimates, with Wald intervals and a
        sentence each: relative-risk ratios exp(beta) against the reference level
        (categorical), cumulative odds ratios exp(beta) (cumulative logit), or beta,
        a shift of the latent variable (other cumulative links).

        The rows and sentences are the posterior's
        (:meth:`bayesglm.category_results.CategoryPosterior.effects`), and so are the
        columns, which here summarize the Wald normal N(estimate, SE²)
        (:func:`bayesglm.effect_rows.wald_effect`): ``median`` is exp(estimate),
        ``eti_lower``/``eti_upper`` exp(estimate ∓ q·SE) (R's
        ``exp(confint.default(fit))``), ``p_direction`` 1 - p/2 for the Wald p-value p.

        Examples
        --------
        >>> import numpy as np, bayesglm as bg
        >>> rng = np.random.default_rng(1)
        >>> x = rng.normal(size=300)
        >>> y = np.digitize(x + rng.logistic(size=300), [-1.0, 1.0])
        >>> fit = bg.fit_mle(np.c_[np.ones(300), x], y, family="cumulative",
        ...                  names=["Intercept", "x"])
        >>> table = fit.effects()
        >>> table.loc["x", "effect"], bool(np.isclose(table.loc["x", "median"],
        ...                                           np.exp(fit.params["x"])))
        ('cumulative odds ratio', True)
        """
        from .effect_rows import category_effects, wald_effect

        check_prob(prob)
        estimates, se = self.params_array, np.sqrt(np.diag(self.cov_array))

        def numbers(j: int, ratio: bool) -> dict[str, float]:
            return wald_effect(float(estimates[j]), float(se[j]), ratio, prob)

        return category_effects(self, numbers, prob, f"{percent(prob)} Wald (normal)")

    # --- presentation -----------------------------------------------------------------

    def coef_table(self) -> pd.DataFrame:
        """Estimate, standard error, z value and p-value per parameter."""
        return pd.DataFrame(
            {
                "Estimate": self.params,
                "Std. Error": self.bse,
                "z value": self.tvalues,
                "Pr(>|z|)": self.pvalues,
            }
        )

    def summary(self) -> str:
        """A text summary laid out as R's ``summary(multinom(...))`` (coefficient and
        standard-error matrices, levels by terms) or ``summary(polr(...))``
        (coefficients, then the cutpoints R calls intercepts), with p-values added.

        Examples
        --------
        >>> import numpy as np, bayesglm as bg
        >>> rng = np.random.default_rng(1)
        >>> x = rng.normal(size=300)
        >>> y = np.digitize(x + rng.logistic(size=300), [-1.0, 1.0])
        >>> fit = bg.fit_mle(np.c_[np.ones(300), x], y, family="cumulative",
        ...                  names=["Intercept", "x"])
        >>> print(fit.summary().splitlines()[0])
        Cumulative-link model (proportional odds, as MASS::polr) fitted by maximum likelihood
        """
        fmt = lambda v: f"{v:.6g}"  # noqa: E731
        family, link = self.family, self.link
        if family.ordered:
            odds = family.effect_label(link) is not None  # exp(beta): an odds ratio
            what = "proportional odds" if odds else f"{link.name} link"
            head = f"Cumulative-link model ({what}, as MASS::polr)"
        else:
            ref = self.cdesign.level_names[self.cdesign.reference]
            head = f"Multinomial logit model (as nnet::multinom, reference level {ref!r})"
        lines = [
            f"{head} fitted by maximum likelihood",
            f"Family: {family.name}    Link: {link.name}    Observations: {self.nobs:g}"
            f"    Levels: {', '.join(self.cdesign.level_names)}",
            "",
        ]
        table = self.coef_table().rename_axis(index=[None] * self.index.nlevels)
        if family.ordered:
            p = len(self.cdesign.terms)
            lines += ["Coefficients:", table.iloc[:p].to_string(float_format=fmt), ""]
            lines += ["Intercepts:", table.iloc[p:].to_string(float_format=fmt), ""]
        else:
            for column, title in (("Estimate", "Coefficients:"), ("Std. Error", "Std. Errors:")):
                others = [
                    level
                    for k, level in enumerate(self.cdesign.level_names)
                    if k != self.cdesign.reference
                ]
                matrix = (
                    self.coef_table()[column].unstack("term").loc[others, list(self.cdesign.terms)]
                )
                matrix = matrix.rename_axis(index=None, columns=None)
                lines += [title, matrix.to_string(float_format=fmt), ""]
            lines += ["z tests:", table.to_string(float_format=fmt), ""]
        lines += [
            f"Residual Deviance: {self.deviance:.6g}",
            f"AIC: {self.aic:.6g}    BIC: {self.bic:.6g}    Log-likelihood: {self.llf:.6g}"
            f" (df={self.k_params})",
            "",
            f"Number of Newton-Raphson iterations: {self.n_iter}"
            + ("" if self.converged else " (did NOT converge)"),
        ]
        lines += [f"Warning: {message}" for message in self.warnings]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"<CategoryMLEResult {self.spec} n={self.cdesign.design.n} "
            f"levels={self.cdesign.K} deviance={self.deviance:.6g}>"
        )


def _probabilities(
    spec: CategorySpec, cdesign: CategoryDesign, X: np.ndarray, theta: np.ndarray
) -> np.ndarray:
    """Category probabilities of rows ``X`` (the linear predictor's columns)."""
    if spec.family.ordered:
        p = X.shape[1]
        return spec.probabilities(X @ theta[:p], theta[p:])
    others = [k for k in range(cdesign.K) if k != cdesign.reference]
    eta = np.zeros((X.shape[0], cdesign.K))
    eta[:, others] = X @ theta.reshape(cdesign.K - 1, X.shape[1]).T
    return spec.probabilities(eta)


def _separated(spec: CategorySpec, cdesign: CategoryDesign) -> list[str]:
    """Columns that separate some binary split of the outcome: each cumulative split
    (Y ≤ k against Y > k) or each level against the rest and against the reference;
    along them the likelihood keeps rising."""
    design = cdesign.design
    codes, K = cdesign.codes, cdesign.K
    if spec.family.ordered:
        splits = [(codes > k, np.ones_like(codes, dtype=bool)) for k in range(K - 1)]
    else:
        ref = cdesign.reference
        splits = []
        for k in range(K):
            splits.append((codes == k, np.ones_like(codes, dtype=bool)))
            if k != ref:
                splits.append((codes == k, (codes == k) | (codes == ref)))
    found: list[str] = []
    for event, rows in splits:
        keep = rows & design.active
        binary = dataclasses.replace(
            design,
            y=event[keep].astype(float),
            X=design.X[keep],
            weights=None,
            offset=None,
            row_labels=None,
        )
        for name in _separated_columns(binary, 1.0):
            if name not in found:
                found.append(name)
    return found


def fit_category_design(
    cdesign: CategoryDesign, spec: CategorySpec, *, tol: float = 1e-20, max_iter: int = 100
) -> CategoryMLEResult:
    """Fit a :class:`CategoryDesign` by Newton–Raphson, warning about separation and
    non-convergence."""
    messages: list[str] = []
    fit = newton(objective(spec, cdesign), start(spec, cdesign), tol=tol, max_iter=max_iter)
    probs = _probabilities(spec, cdesign, cdesign.X, fit.theta)
    observed = probs[np.arange(len(probs)), cdesign.codes][cdesign.design.active]
    separation: tuple[str, ...] = ()
    if not fit.converged or (observed.size and observed.max() > 1.0 - 1e-8):
        separation = tuple(_separated(spec, cdesign))
    if separation:
        warn_recorded(
            messages,
            SeparationWarning,
            "complete or quasi-complete separation: some split of the outcome's levels "
            f"is perfectly predicted along column(s) {', '.join(separation)}; their "
            "maximum-likelihood estimates do not exist (they diverge) and the standard "
            "errors are meaningless; use proper priors (the Bayesian fit) or remove or "
            "merge the separating predictors or levels.",
            4,
        )
    elif not fit.converged:
        warn_recorded(
            messages,
            ConvergenceWarning,
            f"Newton-Raphson did not converge in {fit.n_iter} iterations; the estimates "
            "are not the maximum; check the predictors' scales and collinearity.",
            4,
        )
    try:
        with warnings.catch_warnings():
            # Ill-conditioned only where the estimates diverge, which is warned above.
            warnings.simplefilter("ignore", linalg.LinAlgWarning)
            cov = linalg.inv(-fit.hessian)
    except linalg.LinAlgError:
        cov = np.full_like(fit.hessian, np.nan)
    return CategoryMLEResult(
        spec=spec,
        cdesign=cdesign,
        params_array=fit.theta,
        cov_array=cov,
        llf=fit.llf,
        converged=fit.converged,
        n_iter=fit.n_iter,
        separation=separation,
        warnings=tuple(messages),
    )


def fit_category_mle(
    X: Any,
    y: Any,
    *,
    family: str,
    link: str | None = None,
    names: Sequence[str] | None = None,
    weights: Any = None,
    levels: Sequence[Any] | None = None,
    reference: Any = None,
    offset: Any = None,
    trials: Any = None,
    start: Any = None,
    tol: float = 1e-20,
    max_iter: int = 100,
) -> CategoryMLEResult:
    """Fit a categorical or cumulative model to arrays by maximum likelihood.

    ``X`` is the model matrix with its intercept column (left out of the linear
    predictor by the cumulative family, whose cutpoints take its place); ``y`` the
    categories (text, a pandas Categorical, integer codes); ``weights`` frequency
    weights. See :func:`bayesglm.fit_mle`.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.c_[np.ones(6), [0.0, 1, 2, 3, 4, 5]]
    >>> fit = fit_category_mle(X, ["a", "b", "a", "c", "b", "c"], family="categorical",
    ...                        names=["Intercept", "x"])
    >>> list(fit.params.index)[:2]
    [('b', 'Intercept'), ('b', 'x')]
    """
    spec = resolve_category(family, link)
    refuse_extras(spec.family.name, offset=offset, trials=trials, start=start)
    cdesign = category_design_from_arrays(
        X, y, spec, names=names, weights=weights, levels=levels, reference=reference
    )
    return fit_category_design(cdesign, spec, tol=tol, max_iter=max_iter)
