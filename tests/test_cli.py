"""The bayesglm command line: every command, its files, its errors (exit code 2)."""

from __future__ import annotations

import dataclasses
import errno
import os
import subprocess
import sys
import warnings

import pandas as pd
import pytest

import bayesglm as bg
from bayesglm import cli, datasets
from bayesglm.cli import main, parse_prior
from bayesglm.errors import BayesGLMError, SamplingWarning
from bayesglm.glm import GLM
from bayesglm.priors import PRIORS, Exponential, Normal, StudentT


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


def test_the_console_entry_point_flushes_its_output_and_runs_exit_handlers(
    quine_csv, tmp_path
) -> None:
    """main_exit leaves without the interpreter's teardown (os._exit): the output
    written so far still arrives whole through a pipe, the exit handlers run, and
    the status is the command's."""
    marker = tmp_path / "handlers-ran"
    code = (
        "import atexit, pathlib, sys; from bayesglm import cli; "
        f"atexit.register(pathlib.Path({str(marker)!r}).write_text, 'yes'); "
        "sys.argv = ['bayesglm', *sys.argv[1:]]; cli.main_exit()"
    )
    args = [str(quine_csv), "--formula", "Days ~ Eth + Lrn", "--family", "negative_binomial"]
    done = subprocess.run(
        [sys.executable, "-c", code, "mle", *args], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "Residual deviance:" in done.stdout
    assert done.stdout.rstrip().endswith("Number of Fisher Scoring iterations: 1")
    assert marker.read_text() == "yes"
    marker.unlink()
    refused = subprocess.run(
        [sys.executable, "-c", code, "mle", *args[:-1], "no_such_family"],
        capture_output=True,
        text=True,
    )
    assert refused.returncode == 2
    assert refused.stderr.startswith("bayesglm: error:") and "no_such_family" in refused.stderr
    assert marker.read_text() == "yes"


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


@pytest.mark.parametrize("cls", list(PRIORS.values()), ids=list(PRIORS))
def test_every_prior_parses_under_each_of_its_spellings(cls: type) -> None:
    values = [field.default for field in dataclasses.fields(cls)]
    args = ", ".join(f"{value:g}" for value in values)
    for spelling in cls.cli_names:
        assert parse_prior(f"k={spelling.upper()}({args})") == ("k", cls(*values))
    too_many = ", ".join(["1"] * (len(values) + 1))
    with pytest.raises(BayesGLMError, match=f"{cls.__name__} takes at most {len(values)} "):
        parse_prior(f"k={cls.cli_names[0]}({too_many})")


# --- outputs: checked before any work, written whole -----------------------------------


@pytest.fixture(scope="module")
def quine_fit():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplingWarning)
        model = GLM("Days ~ Eth + Lrn", data=datasets.load("quine"), family="poisson")
        return model.fit(draws=200, tune=200, chains=2, seed=3, progressbar=False)


FIT = ["fit", "{csv}", "--formula", "Days ~ Eth + Lrn", "--family", "poisson", "--quiet"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([*FIT, "--save", "{tmp}/missing/fit.nc"], "the folder '{tmp}/missing' does not exist"),
        ([*FIT, "--report", "{tmp}/missing/r.html"], "the folder '{tmp}/missing' does not exist"),
        ([*FIT, "--report", "{tmp}/out.pdf"], "--report must end in .html, .htm or .md"),
        ([*FIT, "--report", "{tmp}/taken.md"], "figures in the folder '{tmp}/taken_figures'"),
        ([*FIT, "--save", "{tmp}"], "the path is a folder"),
        (["predict", "{tmp}/fit.nc", "{csv}", "--output", "{tmp}/no/p.csv"], "'{tmp}/no' does"),
        (["demo", "--output", "{tmp}/taken_figures"], "the output path is a file, not a folder"),
        (["demo", "--output", "{tmp}/taken_figures/sub"], "the output folder cannot be created"),
    ],
)
def test_outputs_are_refused_before_the_data_are_read(
    argv, message, quine_csv, tmp_path, capsys, monkeypatch
) -> None:
    def work(*args, **kwargs):
        raise AssertionError("work was done before the outputs were checked")

    monkeypatch.setattr(cli, "_read_csv", work)
    monkeypatch.setattr(GLM, "fit", work)
    (tmp_path / "taken_figures").write_text("a file")
    tmp = os.path.realpath(tmp_path)
    assert main([a.format(csv=quine_csv, tmp=tmp) for a in argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("bayesglm: error: ")
    assert message.format(tmp=tmp) in err[0]


def test_an_unwritable_output_folder_is_refused(quine_csv, tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setattr(os, "access", lambda path, mode: False)  # as root, chmod cannot
    assert main([*FIT[:1], str(quine_csv), *FIT[2:], "--save", str(tmp_path / "fit.nc")]) == 2
    assert "is not writable; choose another path" in capsys.readouterr().err


def test_the_fit_is_saved_even_when_the_report_fails(
    quine_fit, quine_csv, tmp_path, capsys, monkeypatch
) -> None:
    def report(*args, **kwargs):
        raise BayesGLMError("the report failed; test; got (report=1).")

    monkeypatch.setattr(GLM, "fit", lambda *args, **kwargs: quine_fit)
    monkeypatch.setattr("bayesglm.results.write_report", report)
    saved = tmp_path / "fit.nc"
    argv = [*FIT[:1], str(quine_csv), *FIT[2:], "--report", str(tmp_path / "r.html")]
    assert main([*argv, "--save", str(saved)]) == 2
    assert "the report failed" in capsys.readouterr().err
    assert bg.load(saved).seed == quine_fit.seed


def test_a_failing_predictions_write_leaves_the_previous_csv(
    quine_fit, tmp_path, capsys, monkeypatch
) -> None:
    saved = quine_fit.save(tmp_path / "fit.nc")
    new = tmp_path / "new.csv"
    pd.DataFrame({"Eth": ["A", "N"], "Lrn": ["AL", "SL"]}).to_csv(new, index=False)
    table = tmp_path / "pred.csv"
    table.write_text("the previous predictions\n")
    to_csv = pd.DataFrame.to_csv

    def disk_full(self, path, *args, **kwargs):
        to_csv(self.iloc[:1], path)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(pd.DataFrame, "to_csv", disk_full)
    assert main(["predict", str(saved), str(new), "--output", str(table)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "could not be written (No space left on device)" in err[0]
    assert table.read_text() == "the previous predictions\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fit.nc", "new.csv", "pred.csv"]


def test_an_intercept_only_fit_reports_without_a_traceback(quine_csv, tmp_path, capsys) -> None:
    report = tmp_path / "report.md"
    argv = ["fit", str(quine_csv), "--formula", "Days ~ 1", "--family", "poisson", "--quiet"]
    argv += ["--draws", "100", "--tune", "100", "--chains", "1", "--seed", "1"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplingWarning)
        assert main([*argv, "--report", str(report)]) == 0
    assert "the rate of Days is" in report.read_text().split("## In words", 1)[1]
    assert "Traceback" not in capsys.readouterr().err


def test_an_unreadable_csv_is_one_line(quine_csv, capsys, monkeypatch) -> None:
    def denied(*args, **kwargs):  # as root, chmod cannot make a file unreadable
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(quine_csv))

    monkeypatch.setattr(pd, "read_csv", denied)
    assert main(["mle", str(quine_csv), "--formula", "Days ~ Eth", "--family", "poisson"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "the CSV file could not be read (Permission denied)" in err[0]


def test_cache_info_and_clear(tmp_path, monkeypatch, capsys) -> None:
    from bayesglm import _cache

    monkeypatch.setenv("BAYESGLM_CACHE_DIR", str(tmp_path / "store"))
    monkeypatch.setenv("BAYESGLM_CACHE_MAX_MB", "50")
    _cache.write_artifact("nuts", {"n": 64}, b"x" * 1_500_000)
    _cache.write_artifact("nuts", {"n": 128}, b"x")
    _cache.write_artifact("laplace", {"n": 64}, b"x")
    assert main(["cache", "info"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"cache folder: {tmp_path / 'store'}",
        "compiled models: 3 (laplace: 1, nuts: 2)",
        "JAX compilation cache entries: 0",
        "size: 1.5 MB of at most 50 MB (BAYESGLM_CACHE_MAX_MB)",
    ]
    assert main(["cache", "clear"]) == 0
    assert capsys.readouterr().out == f"removed 3 file(s) from {tmp_path / 'store'}\n"
    assert main(["cache", "info"]) == 0
    assert "compiled models: 0\n" in capsys.readouterr().out


def test_cache_needs_an_action(capsys) -> None:
    assert main(["cache"]) == 2
    assert "see 'bayesglm cache --help'" in capsys.readouterr().err


def test_a_quasi_family_is_fitted_by_mle_and_refused_by_fit(quine_csv, capsys) -> None:
    assert main(["families"]) == 0
    out = capsys.readouterr().out
    assert "quasipoisson       log*, identity, sqrt   maximum likelihood only" in out
    assert "quasibinomial      logit*, probit" in out
    argv = [str(quine_csv), "--formula", "Days ~ Eth + Sex + Age + Lrn"]
    assert main(["mle", *argv, "--family", "quasipoisson"]) == 0
    out = capsys.readouterr().out
    # R: summary(glm(Days ~ Eth + Sex + Age + Lrn, quasipoisson, MASS::quine,
    #    control = glm.control(epsilon = 1e-14)))$dispersion: 13.16684263
    assert "(Dispersion parameter for quasipoisson family taken to be 13.1668)" in out
    assert "Eth[T.N]  -0.533604    0.151978 -3.51107" in out
    assert "AIC: NA" in out
    assert main(["fit", *argv, "--family", "quasipoisson", "--draws", "10"]) == 2
    err = capsys.readouterr().err
    assert "the quasipoisson family has no posterior" in err
    assert "family='negative_binomial'" in err and "bayesglm mle" in err
