"""The bundled datasets: files match their documentation, and each fits its family."""

from __future__ import annotations

import warnings

import pytest

import bayesglm
from bayesglm import datasets
from bayesglm.errors import BayesGLMError

NAMES = list(datasets.DATASETS)


@pytest.mark.parametrize("name", NAMES)
def test_dataset_matches_its_documentation(name):
    entry = datasets.DATASETS[name]
    df = datasets.load(name)
    assert entry.name == name
    assert len(df) > 0
    assert list(df.columns) == list(entry.columns)
    assert not df.isna().any().any()
    assert entry.source.strip() and entry.description.strip()
    assert "\n" not in entry.description
    assert all(text.strip() for text in entry.columns.values())
    assert entry.family in bayesglm.FAMILIES
    for hint in (entry.trials, entry.exposure):
        assert hint is None or hint in df.columns


@pytest.mark.parametrize("name", NAMES)
def test_files_are_small(name):
    from importlib import resources

    path = resources.files("bayesglm.datasets").joinpath(datasets.DATASETS[name].file)
    assert len(path.read_bytes()) < 100_000


@pytest.mark.parametrize("name", NAMES)
def test_example_fit_converges(name):
    entry = datasets.DATASETS[name]
    model = bayesglm.GLM(
        entry.example_formula,
        data=datasets.load(name),
        family=entry.family,
        link=entry.link,
        trials=entry.trials,
        exposure=entry.exposure,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no separation, convergence or missing-data warning
        result = model.fit_mle()
    assert result.converged
    assert not result.separation


def test_load_returns_a_fresh_copy():
    first = datasets.load("menarche")
    original = first.iloc[0, 0]
    first.iloc[0, 0] = -1.0
    first["extra"] = 1
    second = datasets.load("menarche")
    assert second.iloc[0, 0] == original
    assert "extra" not in second.columns


def test_unknown_name_lists_the_datasets():
    with pytest.raises(BayesGLMError) as info:
        datasets.load("no_such_data")
    message = str(info.value)
    assert "no_such_data" in message
    assert all(name in message for name in NAMES)
    with pytest.raises(BayesGLMError):
        datasets.describe("no_such_data")


# A quasi-family fits the data of the family it shares mean and variance with
# (quasipoisson: overdispersed counts such as quine; quasibinomial: menarche, budworm).
@pytest.mark.parametrize(
    "family", [name for name, fam in bayesglm.FAMILIES.items() if fam.has_likelihood]
)
def test_every_family_has_a_natural_dataset(family):
    assert any(entry.family == family for entry in datasets.DATASETS.values())


@pytest.mark.parametrize("name", NAMES)
def test_describe_mentions_everything(name):
    entry = datasets.DATASETS[name]
    text = datasets.describe(name)
    assert text.splitlines()[0].startswith(f"{name}: ")
    for part in (entry.description, entry.source, entry.family, *entry.columns):
        assert part in text
