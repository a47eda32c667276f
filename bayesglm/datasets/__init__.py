"""Small classic public datasets shipped with bayesglm.

>>> from bayesglm import datasets
>>> datasets.load("menarche").shape
(25, 3)
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import pandas as pd

from ..errors import BayesGLMError

__all__ = ["DATASETS", "Dataset", "load"]


@dataclass(frozen=True)
class Dataset:
    """A bundled dataset: its file, source and column descriptions."""

    name: str
    file: str
    source: str
    description: str
    columns: dict[str, str]


DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset(
            name="menarche",
            file="menarche.csv",
            source="Milicer & Szczotka (1966), Warsaw girls; R package MASS, data(menarche).",
            description="Age at menarche of 3918 girls in 25 age groups (k of n, binomial).",
            columns={
                "Age": "average age of the group (years)",
                "Total": "number of girls in the group",
                "Menarche": "number who have reached menarche",
            },
        ),
        Dataset(
            name="dobson_trial",
            file="dobson_trial.csv",
            source="Dobson (1990) An Introduction to Generalized Linear Models, p. 93; "
            "the example of R's ?glm.",
            description="A randomized controlled trial: counts by outcome and treatment.",
            columns={
                "counts": "number of patients",
                "outcome": "outcome category (1, 2, 3)",
                "treatment": "treatment arm (1, 2, 3)",
            },
        ),
    )
}


def load(name: str) -> pd.DataFrame:
    """Load a bundled dataset as a new DataFrame.

    Parameters
    ----------
    name : str
        One of :data:`DATASETS`.
    """
    if name not in DATASETS:
        raise BayesGLMError(
            f"unknown dataset; the datasets are {', '.join(DATASETS)}; got (name={name!r})."
        )
    path = resources.files(__package__).joinpath(DATASETS[name].file)
    with path.open("r") as handle:
        return pd.read_csv(handle)
