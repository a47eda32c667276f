"""The bayesglm command line: every command, its files, its errors (exit code 2)."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from bayesglm import datasets
from bayesglm.cli import main, parse_prior
from bayesglm.errors import BayesGLMError
from bayesglm.priors import Exponential, Normal, StudentT


@pytest.fixture()
def quine_csv(tmp_path):
    path = tmp_path / "quine.csv"
    datasets.load("quine").to_csv(path, index=False)
    return path


def test_families_and_datasets(capsys) -> None:
    assert main(["families"]) == 0
    out = capsys.readouterr().out
    assert "poisson            log*, identity, sqrt" in out
    assert "inverse_squared eta = 1 / mu^2" in out
    assert main(["datasets"]) == 0
    assert "quine" in capsys.readouterr().out
    assert main(["datasets", "quine"]) == 0
    assert "Days" in capsys.readouterr().out


def test_mle_prints_the_r_style_summary_without_importing_pymc(quine_csv) -> None:
    code = (
        "import sys; from bayesglm.cli import main; "
        f"main(['mle', {str(quine_csv)!r}, '--formula', 'Days ~ Eth + Lrn', "
        "'--family', 'negative_binomial']); print('pymc' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    assert "Residual deviance:" in out and "Eth[T.N]" in out
    assert out.strip().endswith("False")


def test_fit_report_save_then_predict(quine_csv, tmp_path, capsys) -> None:
    report, saved = tmp_path / "report.html", tmp_path / "fit.nc"
    status = main(
        [
            "fit",
            str(quine_csv),
            "--formula",
            "Days ~ Eth + Lrn",
            "--family",
            "poisson",
            "--prior",
            "coef=normal(0,1)",
            "--prior",
            "Intercept=student_t(3,2,2)",
            "--draws",
            "200",
            "--tune",
            "200",
            "--chains",
            "2",
            "--seed",
            "3",
            "--quiet",
            "--report",
            str(report),
            "--save",
            str(saved),
        ]
    )
    out = capsys.readouterr().out
    assert status == 0
    assert "Maximum likelihood vs posterior:" in out and "multiplies the rate of Days" in out
    assert report.stat().st_size > 50_000 and saved.is_file()
    new = tmp_path / "new.csv"
    pd.DataFrame({"Eth": ["A", "N"], "Lrn": ["AL", "SL"]}).to_csv(new, index=False)
    table = tmp_path / "pred.csv"
    assert main(["predict", str(saved), str(new), "--output", str(table)]) == 0
    predictions = pd.read_csv(table, index_col=0)
    assert list(predictions.columns) == ["estimate", "std_error", "conf_low", "conf_high"]
    assert (predictions["estimate"] > 5).all()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["mle", "missing.csv", "--formula", "y ~ x", "--family", "poisson"], "no such file"),
        (
            ["mle", "{csv}", "--formula", "Days ~ nope", "--family", "poisson"],
            "could not be evaluated",
        ),
        (["mle", "{csv}", "--formula", "Days ~ Eth", "--family", "poison"], "unknown family"),
        (
            ["mle", "{csv}", "--formula", "Days ~ Eth", "--family", "poisson", "--link", "logit"],
            "does not allow the logit link",
        ),
        (
            ["fit", "{csv}", "--formula", "Days ~ Eth", "--family", "poisson", "--prior", "x=1"],
            "a prior is written name=distribution",
        ),
        (
            ["mle", "{bad}", "--formula", "y ~ x", "--family", "poisson"],
            "the CSV file could not be read",
        ),
    ],
)
def test_bad_input_is_one_line_on_stderr_with_status_2(
    argv, message, quine_csv, tmp_path, capsys
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text('y,x\n1,2\n3,"4\n')  # truncated inside a quoted field
    argv = [a.format(csv=quine_csv, bad=bad) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("bayesglm: error: ") and message in err[0]


def test_prior_strings() -> None:
    assert parse_prior("x1=normal(0, 2.5)") == ("x1", Normal(0, 2.5))
    assert parse_prior(" coef = student_t(3,0,1) ") == ("coef", StudentT(3, 0, 1))
    assert parse_prior("dispersion=exponential(2)") == ("dispersion", Exponential(2))
    with pytest.raises(BayesGLMError, match=r"unknown prior distribution"):
        parse_prior("x=gauss(0,1)")
    with pytest.raises(BayesGLMError, match=r"Normal takes at most 2 numbers"):
        parse_prior("x=normal(0,1,2)")
