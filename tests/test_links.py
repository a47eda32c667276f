"""Links: inverse round trip, derivatives, tails, numpy and pytensor agreeing."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bayesglm._xp import NP, pt_ns
from bayesglm.errors import BayesGLMError
from bayesglm.links import LINKS, Link, get_link

ALL_LINKS = list(LINKS.values())


def _mu_strategy(link: Link) -> st.SearchStrategy[float]:
    domain = link.domain
    low = domain.low if np.isfinite(domain.low) else -1e3
    high = domain.high if np.isfinite(domain.high) else 1e3
    return st.floats(low, high, exclude_min=True, exclude_max=True, allow_nan=False).filter(
        lambda m: low + 1e-6 < m < high - 1e-6
    )


@pytest.mark.parametrize("link", ALL_LINKS, ids=lambda link: link.name)
def test_inverse_undoes_link(link: Link) -> None:
    @settings(max_examples=200, deadline=None)
    @given(_mu_strategy(link))
    def check(mu: float) -> None:
        back = link.inverse(link.link(np.float64(mu)))
        np.testing.assert_allclose(back, mu, rtol=1e-9, atol=1e-12)

    check()


@pytest.mark.parametrize("link", ALL_LINKS, ids=lambda link: link.name)
def test_derivatives_match_finite_differences(link: Link) -> None:
    @settings(max_examples=200, deadline=None)
    @given(_mu_strategy(link))
    def check(mu: float) -> None:
        # A step small against the distance to the domain's edges keeps the
        # truncation error of the central difference below 1e-10 relative.
        room = min(1.0, abs(mu) if link.domain.low == 0.0 else 1.0)
        if link.domain.high == 1.0:
            room = min(room, 1.0 - mu)
        h = 1e-5 * room * max(1.0, abs(mu))
        mu = np.float64(mu)
        numeric = (link.link(mu + h) - link.link(mu - h)) / (2 * h)
        np.testing.assert_allclose(link.deriv(mu), numeric, rtol=1e-5)
        eta = link.link(mu)
        np.testing.assert_allclose(link.inverse_deriv(eta) * link.deriv(mu), 1.0, rtol=1e-9)

    check()


@pytest.mark.parametrize("link", ALL_LINKS, ids=lambda link: link.name)
def test_numpy_and_pytensor_evaluate_the_same_formula(link: Link) -> None:
    import pytensor
    import pytensor.tensor as pt

    domain = link.domain
    low = domain.low if np.isfinite(domain.low) else -5.0
    high = domain.high if np.isfinite(domain.high) else 5.0
    mu = np.linspace(low, high, 41)[1:-1]
    eta = link.link(mu)
    x = pt.dvector("x")
    pxp = pt_ns()
    for method, values in [
        ("link", mu),
        ("inverse", eta),
        ("deriv", mu),
        ("inverse_deriv", eta),
    ]:
        compiled = pytensor.function([x], getattr(link, method)(x, xp=pxp))
        np.testing.assert_allclose(
            compiled(values), getattr(link, method)(values, xp=NP), rtol=1e-12, err_msg=method
        )


@pytest.mark.parametrize(
    ("name", "eta", "expected"),
    [
        # mpmath at 40 digits: 1/(1+exp(40)), ncdf(-30), -expm1(-exp(-40)),
        # exp(-exp(-3)), 1/2 + atan(-1e10)/pi, exp(-700).
        ("logit", -40.0, 4.248354255291589e-18),
        ("logit", 40.0, 1.0),
        ("probit", -30.0, 4.9067139271481871e-198),
        ("cloglog", -40.0, 4.248354255291589e-18),
        ("loglog", 3.0, 0.95143199290045341),
        ("cauchit", -1e10, 3.1830988618379067e-11),
        ("log", -700.0, 9.8596765437597709e-305),
    ],
)
def test_inverse_keeps_relative_precision_in_the_tails(
    name: str, eta: float, expected: float
) -> None:
    np.testing.assert_allclose(LINKS[name].inverse(np.float64(eta)), expected, rtol=1e-13)


@pytest.mark.parametrize("name", ["logit", "cloglog", "loglog", "probit"])
def test_inverse_deriv_is_finite_and_positive_far_in_the_tails(name: str) -> None:
    eta = np.array([-30.0, -5.0, 0.0, 5.0, 30.0])
    if name == "loglog":
        eta = -eta[::-1] / 10
    d = LINKS[name].inverse_deriv(eta)
    assert np.isfinite(d).all()
    assert (d >= 0).all()


def test_cauchit_link_is_accurate_near_zero() -> None:
    # mpmath, 40 digits: tan(pi (1e-12 - 1/2)).
    np.testing.assert_allclose(LINKS["cauchit"].link(1e-12), -318309886183.79067, rtol=1e-13)


def test_unknown_link_names_the_allowed_ones() -> None:
    with pytest.raises(
        BayesGLMError, match=r"unknown link; the links are identity, log.*got \(link='logg'\)"
    ):
        get_link("logg")


def test_effect_labels() -> None:
    assert LINKS["logit"].effect_label == "odds ratio"
    assert LINKS["log"].effect_label == "ratio"
    assert LINKS["cloglog"].effect_label == "hazard ratio"
    assert LINKS["identity"].effect_label is None


def test_only_the_log_link_scales_the_mean_by_an_exposure() -> None:
    # log(E) added to eta multiplies mu by E exactly where the inverse link is exp.
    eta, exposure = np.linspace(-2.0, 2.0, 9), 3.0
    for name, link in LINKS.items():
        with np.errstate(all="ignore"):
            scaled = link.inverse(eta + np.log(exposure))
            multiplied = exposure * link.inverse(eta)
        assert link.scales_by_exposure == bool(np.allclose(scaled, multiplied)), name
