"""Small classic public datasets shipped with bayesglm.

Every entry of :data:`DATASETS` names its original source, the question it
answers, the natural GLM family for its outcome, and every column. At least one
dataset suits each family of :data:`bayesglm.FAMILIES`.

>>> from bayesglm import datasets
>>> datasets.load("menarche").shape
(25, 3)
>>> datasets.DATASETS["quine"].family
'negative_binomial'
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import pandas as pd

from ..errors import BayesGLMError

__all__ = ["DATASETS", "Dataset", "describe", "load"]


@dataclass(frozen=True)
class Dataset:
    """A bundled dataset: its file, source, natural family and column descriptions.

    Attributes
    ----------
    name, file : str
        Registry name and CSV file name (next to this module).
    source : str
        The original publication and the R package/dataset it is distributed in.
    description : str
        One line: the question/outcome and the natural GLM family.
    columns : dict of str to str
        Every column, in file order, with its meaning.
    family : str
        The natural family of :data:`bayesglm.FAMILIES` for the outcome.
    example_formula : str
        A sensible model formula for the dataset.
    link : str or None
        The link for the example fit; None for the family's canonical link.
    trials, exposure : str or None
        Column names to pass as ``trials=`` (binomial) or ``exposure=`` (log link).
    """

    name: str
    file: str
    source: str
    description: str
    columns: dict[str, str]
    family: str
    example_formula: str
    link: str | None = None
    trials: str | None = None
    exposure: str | None = None


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
            family="binomial",
            example_formula="Menarche ~ Age",
            trials="Total",
        ),
        Dataset(
            name="dobson_trial",
            file="dobson_trial.csv",
            source="Dobson (1990) An Introduction to Generalized Linear Models, p. 93; "
            "the example of R's ?glm.",
            description="A randomized controlled trial: counts by outcome and treatment "
            "(poisson).",
            columns={
                "counts": "number of patients",
                "outcome": "outcome category (1, 2, 3)",
                "treatment": "treatment arm (1, 2, 3)",
            },
            family="poisson",
            example_formula="counts ~ C(outcome) + C(treatment)",
        ),
        Dataset(
            name="ships",
            file="ships.csv",
            source="McCullagh & Nelder (1989) Generalized Linear Models, 2nd ed., "
            "section 6.3.2 (Lloyd's Register); R package MASS, data(ships), "
            "rows with service == 0 dropped.",
            description="Wave-damage incidents of cargo ships per aggregate months of "
            "service (counts with exposure, poisson or negative_binomial, "
            "offset log(service)).",
            columns={
                "type": "ship type (A to E)",
                "year": "year of construction, start of 5-year block (60, 65, 70, 75)",
                "period": "period of operation, start of block (60 = 1960-74, 75 = 1975-79)",
                "service": "aggregate months of service (the exposure, > 0)",
                "incidents": "number of damage incidents",
            },
            family="poisson",
            example_formula="incidents ~ type + C(year) + C(period)",
            exposure="service",
        ),
        Dataset(
            name="quine",
            file="quine.csv",
            source="Quine (1975), school absence in Walgett, NSW; Aitkin (1978) JRSS A 141; "
            "R package MASS, data(quine).",
            description="Days absent from school of 146 children (overdispersed counts, "
            "negative_binomial).",
            columns={
                "Eth": "ethnic background: 'A' Aboriginal, 'N' not",
                "Sex": "'F' female, 'M' male",
                "Age": "age group: 'F0' primary, 'F1'-'F3' forms 1-3",
                "Lrn": "learner status: 'AL' average, 'SL' slow",
                "Days": "days absent from school in the year",
            },
            family="negative_binomial",
            example_formula="Days ~ Eth + Sex + Age + Lrn",
        ),
        Dataset(
            name="birthwt",
            file="birthwt.csv",
            source="Hosmer & Lemeshow (1989) Applied Logistic Regression, Baystate "
            "Medical Center 1986; R package MASS, data(birthwt) (bwt and ftv dropped).",
            description="Risk factors for low birth weight (< 2.5 kg) of 189 births "
            "(0/1 outcome, bernoulli).",
            columns={
                "low": "1 if birth weight < 2.5 kg, else 0",
                "age": "mother's age (years)",
                "lwt": "mother's weight at last menstrual period (pounds)",
                "race": "mother's race: 'white', 'black', 'other'",
                "smoke": "1 if smoking during pregnancy",
                "ptl": "number of previous premature labours",
                "ht": "1 if history of hypertension",
                "ui": "1 if uterine irritability",
            },
            family="bernoulli",
            example_formula="low ~ age + lwt + race + smoke + ptl + ht + ui",
        ),
        Dataset(
            name="budworm",
            file="budworm.csv",
            source="Collett (1991) Modelling Binary Data, p. 75; Venables & Ripley (2002) "
            "Modern Applied Statistics with S, 4th ed., section 7.2 (R package MASS).",
            description="Tobacco budworms killed out of 20 by dose of cypermethrin, "
            "by sex (k of n, binomial).",
            columns={
                "ldose": "log2 of the dose (micrograms), 0 to 5",
                "sex": "moth sex: 'M' male, 'F' female",
                "numdead": "number of moths killed",
                "total": "number of moths exposed (20)",
            },
            family="binomial",
            example_formula="numdead ~ sex + ldose",
            trials="total",
        ),
        Dataset(
            name="clotting",
            file="clotting.csv",
            source="McCullagh & Nelder (1989) Generalized Linear Models, 2nd ed., "
            "section 8.4.2 (Hurn et al. 1945); the Gamma example of R's ?glm.",
            description="Blood clotting time by plasma concentration for two lots of "
            "thromboplastin (positive continuous, gamma with inverse link).",
            columns={
                "u": "percentage concentration of normal plasma",
                "lot": "lot of clotting agent: 'lot1', 'lot2'",
                "time": "clotting time (seconds)",
            },
            family="gamma",
            example_formula="time ~ log(u) * lot",
            link="inverse",
        ),
        Dataset(
            name="insurance",
            file="insurance.csv",
            source="Baxter, Coutts & Ross (1980), Proc. 21st Int. Congress of Actuaries; "
            "R package MASS, data(Insurance).",
            description="Motor insurance claims of policyholders by district, car group "
            "and age (counts with exposure, poisson, offset log(Holders)).",
            columns={
                "District": "district of residence of the policyholder (1 to 4; 4 is major "
                "cities)",
                "Group": "car group by engine capacity: '<1l', '1-1.5l', '1.5-2l', '>2l' "
                "(ordered)",
                "Age": "policyholder's age group: '<25', '25-29', '30-35', '>35' (ordered)",
                "Holders": "number of policyholders (the exposure)",
                "Claims": "number of claims",
            },
            family="poisson",
            example_formula="Claims ~ C(District) + Group + Age",
            exposure="Holders",
        ),
        Dataset(
            name="esoph",
            file="esoph.csv",
            source="Breslow & Day (1980) Statistical Methods in Cancer Research I, "
            "Ille-et-Vilaine case-control study; R package datasets, data(esoph) "
            "(R 4.2; ntotal added).",
            description="Oesophageal cancer cases among cases+controls by age, alcohol "
            "and tobacco group (k of n, binomial).",
            columns={
                "agegp": "age group: '25-34' to '75+' (ordered)",
                "alcgp": "alcohol consumption: '0-39g/day', '40-79', '80-119', '120+' (ordered)",
                "tobgp": "tobacco consumption: '0-9g/day', '10-19', '20-29', '30+' (ordered)",
                "ncases": "number of cases",
                "ncontrols": "number of controls",
                "ntotal": "ncases + ncontrols (the binomial trials; not in R's data)",
            },
            family="binomial",
            example_formula="ncases ~ agegp + alcgp + tobgp",
            trials="ntotal",
        ),
        Dataset(
            name="trees",
            file="trees.csv",
            source="Ryan, Joiner & Ryan (1976) Minitab Student Handbook; Atkinson (1985) "
            "Plots, Transformations and Regression; R package datasets, data(trees).",
            description="Timber volume of 31 felled black cherry trees from girth and "
            "height (Volume positive and skewed: inverse_gaussian or gamma, log link).",
            columns={
                "Girth": "tree diameter at 4 ft 6 in above ground (inches; named Girth in R)",
                "Height": "height (ft)",
                "Volume": "volume of timber (cubic ft)",
            },
            family="inverse_gaussian",
            example_formula="Volume ~ log(Girth) + log(Height)",
            link="log",
        ),
        Dataset(
            name="cars",
            file="cars.csv",
            source="Ezekiel (1930) Methods of Correlation Analysis; R package datasets, "
            "data(cars).",
            description="Stopping distance of 50 cars by speed, recorded in the 1920s "
            "(continuous, gaussian).",
            columns={
                "speed": "speed (mph)",
                "dist": "stopping distance (ft)",
            },
            family="gaussian",
            example_formula="dist ~ speed",
        ),
    )
}
"""Registry of the bundled datasets by name."""


def _get(name: str) -> Dataset:
    if name not in DATASETS:
        raise BayesGLMError(
            f"unknown dataset; the datasets are {', '.join(DATASETS)}; got (name={name!r})."
        )
    return DATASETS[name]


def load(name: str) -> pd.DataFrame:
    """Load a bundled dataset as a new DataFrame.

    Parameters
    ----------
    name : str
        One of :data:`DATASETS`.

    Returns
    -------
    DataFrame
        A fresh copy: changing it does not change later loads.

    Raises
    ------
    BayesGLMError
        For an unknown name (the message lists the datasets).
    """
    dataset = _get(name)
    path = resources.files(__package__).joinpath(dataset.file)
    with path.open("r") as handle:
        return pd.read_csv(handle)


def describe(name: str) -> str:
    """A readable multi-line description of a bundled dataset.

    Parameters
    ----------
    name : str
        One of :data:`DATASETS`.

    Returns
    -------
    str
        The name and description, the source, the natural family with an example
        formula, and one line per column.

    Raises
    ------
    BayesGLMError
        For an unknown name (the message lists the datasets).

    Examples
    --------
    >>> from bayesglm.datasets import describe
    >>> print(describe("budworm"))
    budworm: Tobacco budworms killed out of 20 by dose of cypermethrin, by sex (k of n, binomial).
    source: Collett (1991) Modelling Binary Data, p. 75; Venables & Ripley (2002) Modern Applied Statistics with S, 4th ed., section 7.2 (R package MASS).
    family: binomial; example: numdead ~ sex + ldose, trials='total'
    columns:
      ldose    log2 of the dose (micrograms), 0 to 5
      sex      moth sex: 'M' male, 'F' female
      numdead  number of moths killed
      total    number of moths exposed (20)
    """  # noqa: E501
    d = _get(name)
    extras = "".join(
        f", {key}={value!r}"
        for key, value in (("link", d.link), ("trials", d.trials), ("exposure", d.exposure))
        if value is not None
    )
    width = max(len(column) for column in d.columns)
    lines = [
        f"{d.name}: {d.description}",
        f"source: {d.source}",
        f"family: {d.family}; example: {d.example_formula}{extras}",
        "columns:",
        *(f"  {column:<{width}}  {text}" for column, text in d.columns.items()),
    ]
    return "\n".join(lines)
