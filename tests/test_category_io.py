"""A categorical or cumulative posterior through the file, the command line and the
report (issue #15).

The plumbing tests need draws, not NUTS: a posterior is made from the maximum
likelihood's normal approximation (the large-n posterior, Bernstein–von Mises) on
MASS's housing data (tests/fixtures/r_ordinal), so each test runs in a second. One
test samples for real, through ``bayesglm fit --report``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import bayesglm as bg
from bayesglm.category_results import CategoryPosterior
from bayesglm.cli import main
from bayesglm.errors import BayesGLMError

HOUSING = Path(__file__).parent / "fixtures" / "r_ordinal" / "cumulative_logit_housing.json"
NEW_ROWS = pd.DataFrame(
    {"Infl": ["Low", "High"], "Type": ["Tower", "Terrace"], "Cont": ["Low", "High"]}
)


def housing() -> pd.DataFrame:
    """MASS::housing: 72 cells of satisfaction by influence, type and contact."""
    case = json.loads(HOUSING.read_text())
    frame = pd.DataFrame(case["data"])
    for column, levels in case["factor_levels"].items():
        ordered = column == "Sat"
        frame[column] = pd.Categorical(frame[column], categories=levels, ordered=ordered)
    return frame


def approximate_posterior(model, priors=None, chains=2, draws=150, seed=0) -> CategoryPosterior:
    """Draws from N(MLE, covariance): a stand-in for NUTS in plumbing tests."""
    mle = model.fit_mle()
    rng = np.random.default_rng(seed)
    theta = rng.multivariate_normal(mle.params_array, mle.cov_array, size=(chains, draws))
    return CategoryPosterior(
        theta_draws=theta,
        mle=mle,
        priors=model.resolve_priors(priors),
        sample_stats={"diverging": np.zeros((chains, draws), dtype=bool)},
        sampler="pymc",
        seed=seed,
    )


CUSTOM = {
    "categorical": {"coef": bg.StudentT(3, 0, 2), "Infl[T.High]": bg.Normal(0, 1)},
    "cumulative": {"Infl[T.High]": bg.Normal(0, 1), "cutpoints": bg.Normal(0, 4)},
}


@pytest.fixture(scope="module", params=["categorical", "cumulative"])
def model(request):
    return bg.GLM("Sat ~ Infl + Type + Cont", housing(), family=request.param, weights="Freq")


@pytest.mark.parametrize("custom", [False, True], ids=["default priors", "custom priors"])
def test_a_saved_fit_loads_with_bg_load_and_gives_the_same_tables(model, custom, tmp_path):
    priors = CUSTOM[model.spec.family.name] if custom else None
    fit = approximate_posterior(model, priors)
    loaded = bg.load(fit.save(tmp_path / "fit.npz"))
    assert isinstance(loaded, CategoryPosterior)
    np.testing.assert_array_equal(loaded.theta_draws, fit.theta_draws)
    pd.testing.assert_frame_equal(loaded.summary(), fit.summary())
    pd.testing.assert_frame_equal(loaded.effects(), fit.effects())
    pd.testing.assert_frame_equal(loaded.compare_mle(), fit.compare_mle())
    pd.testing.assert_frame_equal(loaded.predict(NEW_ROWS), fit.predict(NEW_ROWS))
    pd.testing.assert_frame_equal(loaded.ppc(seed=3), fit.ppc(seed=3))
    pd.testing.assert_frame_equal(loaded.priors.table(), fit.priors.table())
    np.testing.assert_array_equal(loaded.priors.centering, fit.priors.centering)
    assert str(loaded) == str(fit)
    if custom:
        table = loaded.priors.table()
        high = [label for label in table.index if "Infl[T.High]" in label]
        assert (table.loc[high, "source"] == "user").all()
        if model.spec.family.ordered:
            assert table.loc["cutpoints", "prior"] == str(bg.Normal(0, 4))
        else:
            assert table.loc["Medium:Type[T.Terrace]", "prior"] == str(bg.StudentT(3, 0, 2))
        # The log prior density is the one sampled under, at any value.
        beta = fit.theta_draws[0, 0, : len(fit.priors.labels)]
        zeta = fit.theta_draws[0, 0, len(fit.priors.labels) :]
        extra = (zeta, fit.mle.link) if model.spec.family.ordered else ()
        assert loaded.priors.log_prior(beta, *extra) == fit.priors.log_prior(beta, *extra)


def test_a_file_under_a_netcdf_name_loads_by_its_content(model, tmp_path):
    fit = approximate_posterior(model)
    loaded = bg.load(fit.save(tmp_path / "fit.nc"))
    pd.testing.assert_frame_equal(loaded.summary(), fit.summary())


def test_a_damaged_prior_in_the_file_is_named(model, tmp_path):
    path = approximate_posterior(model).save(tmp_path / "fit.npz")
    with np.load(path) as stored:
        arrays = {key: stored[key] for key in stored.files}
    info = json.loads(arrays["info"].tobytes().decode())
    info["prior_spec"]["coef"][1] = {"class": "NoSuchPrior", "params": {}}
    arrays["info"] = np.frombuffer(json.dumps(info).encode(), dtype=np.uint8)
    with open(path, "wb") as file:
        np.savez(file, **arrays)
    with pytest.raises(BayesGLMError, match=r"damaged bayesglm save file.*NoSuchPrior"):
        bg.load(path)


def test_the_cli_predicts_category_probabilities_from_a_saved_fit(model, tmp_path, capsys):
    fit = approximate_posterior(model, CUSTOM[model.spec.family.name])
    saved = fit.save(tmp_path / "fit.npz")
    new, out = tmp_path / "new.csv", tmp_path / "predictions.csv"
    NEW_ROWS.to_csv(new, index=False)
    assert main(["predict", str(saved), str(new), "--prob", "0.9", "--output", str(out)]) == 0
    table = pd.read_csv(out, index_col=0)
    expected = fit.predict(NEW_ROWS, prob=0.9)
    assert list(table["level"]) == ["Low", "Medium", "High"] * 2
    np.testing.assert_allclose(table["estimate"], expected["estimate"], rtol=1e-12)
    np.testing.assert_allclose(table["conf_low"], expected["conf_low"], rtol=1e-12)
    np.testing.assert_allclose(table["conf_high"], expected["conf_high"], rtol=1e-12)
    np.testing.assert_allclose(table.groupby("row")["estimate"].sum(), 1.0)
    assert main(["predict", str(saved), str(new)]) == 0
    printed = capsys.readouterr().out
    assert "conf_low" in printed and "Medium" in printed


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--scale", "link"], "probabilities of the levels"),
        (["--weights", "Freq"], "takes no --weights"),
        (["--offset", "Freq"], "takes no --offset"),
    ],
)
def test_the_cli_refuses_options_a_category_prediction_has_no_use_for(
    model, option, message, tmp_path, capsys
):
    saved = approximate_posterior(model).save(tmp_path / "fit.npz")
    new = tmp_path / "new.csv"
    NEW_ROWS.assign(Freq=1).to_csv(new, index=False)
    assert main(["predict", str(saved), str(new), *option]) == 2
    assert message in capsys.readouterr().err
