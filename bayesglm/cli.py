"""The ``bayesglm`` command line.

    bayesglm fit data.csv --formula "y ~ x1 + x2" --family poisson [--link log]
        [--offset EXPR | --exposure COL] [--trials COL] [--weights COL]
        [--prior "x1=normal(0,1)"]... [--draws N] [--tune N] [--chains N] [--seed N]
        [--sampler auto|compiled|numpyro|nutpie|pymc] [--report out.html] [--save fit.nc]
    bayesglm mle data.csv --formula ... --family ...      (maximum likelihood only)
        [--levels A,B,C] [--reference A]   (categorical / cumulative outcomes)
    bayesglm predict fit.nc new.csv [--scale mean] [--prob 0.95] [--trials COL]
        [--offset COL | --exposure COL] [--weights COL] [--output out.csv]
    bayesglm families
    bayesglm datasets [NAME]
    bayesglm demo [--output DIR]
    bayesglm warmup [--families F ...] [--max-p P] [--max-rows N] [--levels K ...]
    bayesglm cache info | clear

Bad input prints one line on stderr and exits with status 2.
"""

from __future__ import annotations

import _thread
import argparse
import atexit
import csv
import dataclasses
import functools
import os
import re
import sys
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from ._output import check_output_path, check_report_path, write_atomic
from .errors import BayesGLMError

if TYPE_CHECKING:
    from .priors import Prior

# Each subcommand imports what it needs when it runs: `bayesglm --help` or
# `bayesglm families` never waits for pandas, formulaic, PyMC or ArviZ.

__all__ = ["main", "main_exit", "parse_prior"]

_PRIOR = re.compile(r"^\s*([^=]+?)\s*=\s*([A-Za-z_]+)\s*\(([^)]*)\)\s*$")


def parse_prior(text: str) -> tuple[str, Prior]:
    """Parse ``"name=distribution(arg, ...)"`` into a key and a prior.

    Examples
    --------
    >>> parse_prior("x1=normal(0, 2.5)")
    ('x1', Normal(mu=0.0, sigma=2.5))
    """
    match = _PRIOR.match(text)
    if not match:
        raise BayesGLMError(
            "a prior is written name=distribution(args), e.g. x1=normal(0,1) or "
            f"dispersion=exponential(1); got (--prior {text!r})."
        )
    key, name, args = match.groups()
    spellings = _prior_spellings()
    cls = spellings.get(name.lower())
    if cls is None:
        raise BayesGLMError(
            f"unknown prior distribution; the distributions are "
            f"{', '.join(sorted(spellings))}; got ({name!r})."
        )
    try:
        values = [float(a) for a in args.split(",") if a.strip()]
    except ValueError:
        raise BayesGLMError(f"prior arguments must be numbers; got (--prior {text!r}).") from None
    try:
        return key, cls(*values)
    except TypeError:
        raise BayesGLMError(
            f"{cls.__name__} takes at most {len(dataclasses.fields(cls))} numbers; "
            f"got (--prior {text!r})."
        ) from None


def _prior_spellings() -> dict[str, type[Prior]]:
    """Every registered prior class under each of its command-line spellings."""
    from .priors import PRIORS

    return {name: cls for cls in PRIORS.values() for name in cls.cli_names}


def _read_csv(path: str) -> Any:
    import pandas as pd

    if not Path(path).is_file():
        raise BayesGLMError(f"no such file; give a CSV file; got (path={path!r}).")
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else "empty file"
        raise BayesGLMError(
            f"the CSV file could not be read ({message}); check it is complete and "
            f"comma-separated; got (path={path!r})."
        ) from None
    except OSError as error:  # permission denied, an I/O error
        raise BayesGLMError(
            f"the CSV file could not be read ({error.strerror or error}); check that it "
            f"is readable; got (path={path!r})."
        ) from None
    _check_csv_rows(path)
    if not len(frame):
        raise BayesGLMError(
            f"the CSV file has a header but no data rows; check it is complete; "
            f"got (path={path!r})."
        )
    return frame


def _check_csv_rows(path: str) -> None:
    """Every record as long as the header, every column name once.

    pandas pads a short record with missing values (a file cut mid-row would lose
    its last row with only a warning) and renames a repeated column to 'x.1'.
    """
    with open(path, newline="", encoding="utf-8-sig") as handle:
        records = csv.reader(handle)
        header = next(records, [])
        repeated = sorted({name for name in header if header.count(name) > 1})
        if repeated:
            raise BayesGLMError(
                f"the CSV header repeats column name(s) {', '.join(map(repr, repeated))}; "
                f"rename them; got (path={path!r})."
            )
        for record in records:
            if record and len(record) != len(header):
                line = ",".join(record)
                raise BayesGLMError(
                    f"line {records.line_num} of the CSV file has {len(record)} field(s) but "
                    f"the header has {len(header)}; the file may be cut short or damaged; "
                    f"got (path={path!r}, line {records.line_num}={line[:60]!r})."
                )


def _check_demo_folder(folder: str) -> None:
    """The demo writes its report into ``folder``, creating it (and its parents) if
    needed: refuse a place where that cannot happen before anything is fitted."""
    path = Path(folder)
    if path.is_dir():
        check_output_path(path / "bayesglm_demo_report.html", "--output")
        return
    if path.exists():
        raise BayesGLMError(
            f"the output path is a file, not a folder; give a folder (it is created if "
            f"needed); got (--output {folder!r})."
        )
    existing = next(parent for parent in path.absolute().parents if parent.exists())
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise BayesGLMError(
            f"the output folder cannot be created there ({str(existing)!r} is not a "
            f"writable folder); choose another; got (--output {folder!r})."
        )


def _model(args: argparse.Namespace):
    from .glm import GLM

    # Only the families of categorical outcomes take an order of levels or a reference.
    levels = {} if args.levels is None else {"levels": _split_levels(args.levels)}
    reference = {} if args.reference is None else {"reference": args.reference}
    return GLM(
        args.formula,
        data=_read_csv(args.data),
        family=args.family,
        link=args.link,
        offset=args.offset,
        exposure=args.exposure,
        weights=args.weights,
        trials=args.trials,
        missing=args.missing,
        **levels,
        **reference,
    )


def _split_levels(text: str) -> list[Any]:
    """``"Low,Medium,High"`` as levels; whole numbers as numbers (integer codes)."""
    levels = [part.strip() for part in text.split(",")]
    if all(re.fullmatch(r"-?\d+", part) for part in levels):
        return [int(part) for part in levels]
    return levels


def _cmd_mle(args: argparse.Namespace) -> None:
    print(_model(args).fit_mle().summary())


def _cmd_fit(args: argparse.Namespace) -> None:
    # Every output and prior is checked before the data are read and the sampler runs.
    if args.report is not None:
        check_report_path(args.report, "--report")
    if args.save is not None:
        check_output_path(args.save, "--save")
    priors = dict(parse_prior(text) for text in args.prior)
    model = _model(args)
    fit = model.fit(
        priors=priors or None,
        draws=args.draws,
        tune=args.tune,
        chains=args.chains,
        seed=args.seed,
        sampler=args.sampler,
        progressbar=not args.quiet,
    )
    # Saved first: the draws survive a report that fails.
    if args.save:
        print(f"fit saved to {fit.save(args.save)}")
    print(fit)
    print()
    print("Maximum likelihood vs posterior:")
    print(fit.compare_mle().to_string(float_format=lambda v: f"{v:.4g}"))
    effects = fit.effects()
    if len(effects):
        print()
        print("Effects:")
        for sentence in effects["sentence"]:
            print(f"  - {sentence}")
    if args.report:
        print(f"\nreport written to {fit.report(args.report)}")


def _cmd_predict(args: argparse.Namespace) -> None:
    from .category_results import CategoryPosterior
    from .results import load

    if args.output is not None:
        check_output_path(args.output, "--output")
    fit = load(args.fit)
    if isinstance(fit, CategoryPosterior):  # a probability per level
        table = _category_predict(fit, args)
    else:
        table = fit.predict(
            _read_csv(args.data),
            scale=args.scale,
            prob=args.prob,
            offset=args.offset,
            exposure=args.exposure,
            trials=args.trials,
            weights=args.weights,
        )
    if args.output:
        write_atomic(args.output, table.to_csv)
        print(f"predictions written to {args.output}")
    else:
        print(table.to_string())


def _category_predict(fit: Any, args: argparse.Namespace) -> Any:
    """Each level's probability per new row, with its interval: the options of the
    other families' predictions have nothing to act on here and are refused."""
    for option in ("offset", "exposure", "trials", "weights"):
        if getattr(args, option) is not None:
            raise BayesGLMError(
                f"a categorical or cumulative fit takes no --{option} (its model has "
                f"none); leave it out; got (--{option} {getattr(args, option)})."
            )
    if args.scale != "mean":
        raise BayesGLMError(
            "a categorical or cumulative fit predicts the probabilities of the levels "
            f"(--scale mean, the default); got (--scale {args.scale})."
        )
    return fit.predict(_read_csv(args.data), prob=args.prob)


def _cmd_families(args: argparse.Namespace) -> None:
    from .families import FAMILIES
    from .links import LINKS

    width = max(map(len, FAMILIES)) + 2
    print("family".ljust(width) + "links (* = canonical)")
    for name, family in FAMILIES.items():
        links = [f"{link}*" if link == family.canonical_link else link for link in family.links]
        # Labelled by the --prior key that sets its prior.
        natural = f"   dispersion: {family.natural_param}" if family.natural_param else ""
        # A quasi-family has no likelihood: `bayesglm mle` fits it, `fit` refuses it.
        natural += "" if family.has_likelihood else "   maximum likelihood only"
        print(name.ljust(width) + ", ".join(links) + natural)
    from .category_families import CATEGORY_FAMILIES

    for name, category in CATEGORY_FAMILIES.items():
        links = [
            f"{link}*" if link == category.canonical_link else link for link in category.links
        ]
        order = "ordered" if category.ordered else "unordered"
        note = f"   {order} levels (as {category.r_function}); no compiled engine"
        print(name.ljust(width) + ", ".join(links) + note)
    print()
    for link in LINKS.values():
        print(f"{link.name:<16}{link.formula}")


def _cmd_datasets(args: argparse.Namespace) -> None:
    from . import datasets

    if args.name:
        print(datasets.describe(args.name))
        return
    for name, dataset in datasets.DATASETS.items():
        print(f"{name:<14}{dataset.family:<18}{dataset.description}")


def _cmd_demo(args: argparse.Namespace) -> None:
    from .demo import main as demo

    _check_demo_folder(args.output)
    demo(Path(args.output))


def _cmd_cache_info(args: argparse.Namespace) -> None:
    from . import _cache
    from .compiled import ARTIFACT_KIND, EXECUTABLE_KIND

    summary = _cache.info()
    models = {kind: n for kind, n in summary["kinds"].items() if kind != EXECUTABLE_KIND}
    kinds = ", ".join(f"{kind}: {count}" for kind, count in models.items())
    machines = {key.get("processor") for key in _cache.stored_keys(EXECUTABLE_KIND)}
    print(f"cache folder: {summary['folder']}")
    print(
        f"compiled models: {sum(models.values())}"
        + (f" ({kinds})" if kinds else "")
        + (f", with executables for {len(machines)} machine(s)" if machines else "")
    )
    for line in _stored_structures(_cache.stored_keys(ARTIFACT_KIND)):
        print(f"  {line}")
    print(f"JAX compilation cache entries: {summary['compilation_entries']}")
    print(
        f"size: {summary['bytes'] / 1e6:.1f} MB of at most {summary['max_bytes'] / 1e6:g} MB "
        "(BAYESGLM_CACHE_MAX_MB)"
    )


def _stored_structures(keys: Sequence[dict[str, Any]]) -> list[str]:
    """One line per family, link and number of levels of the stored NUTS programs:
    how many, and for which numbers of coefficients."""
    groups: dict[tuple[str, str, int], list[int]] = {}
    for key in keys:
        structure = key.get("structure")
        if isinstance(structure, dict):  # else not a key of the engine's programs
            group = (str(structure.get("family")), str(structure.get("link")))
            group += (int(structure.get("levels") or 0),)
            groups.setdefault(group, []).append(int(structure.get("p", 0)))
    lines = []
    for (family, link, levels), ps in sorted(groups.items()):
        shown = f"{family} ({link})" + (f", {levels} levels" if levels else "")
        span = f"p = {min(ps)}" + (f" to {max(ps)}" if max(ps) > min(ps) else "")
        lines.append(f"{shown}: {len(ps)} ({span})")
    return lines


def _cmd_cache_clear(args: argparse.Namespace) -> None:
    from . import _cache

    print(f"removed {_cache.clear()} file(s) from {_cache.cache_dir()}")


def _cmd_warmup(args: argparse.Namespace) -> None:
    from .warmup import LEVELS, warm_up

    done = warm_up(
        args.families or None,
        links=args.links or None,
        max_p=args.max_p,
        max_rows=args.max_rows,
        levels=args.levels or LEVELS,
        draws=args.draws,
        tune=args.tune,
        chains=args.chains,
        report=lambda warmed: print(warmed, flush=True),
    )
    built = sum(warmed.origin == "built" for warmed in done)
    seconds = sum(warmed.seconds for warmed in done)
    print(f"{built} program(s) compiled, {len(done) - built} already stored, in {seconds:.0f} s")


def _add_model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", help="CSV file with a header row")
    parser.add_argument("--formula", required=True, help='e.g. "y ~ x1 + C(group)"')
    parser.add_argument("--family", required=True, help="see: bayesglm families")
    parser.add_argument("--link", help="the family's canonical link by default")
    parser.add_argument("--offset", help='a column or an expression, e.g. "log(exposure)"')
    parser.add_argument("--exposure", help="column whose log is the offset (log link)")
    parser.add_argument("--trials", help="binomial: column with the number of trials")
    parser.add_argument("--weights", help="column of prior weights")
    parser.add_argument("--missing", default="drop", choices=["drop", "raise"])
    parser.add_argument(
        "--levels", help='categorical/cumulative: the levels in order, e.g. "Low,Medium,High"'
    )
    parser.add_argument("--reference", help="categorical: the reference level")


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line, like any other bad input (status 2)."""

    def error(self, message: str) -> NoReturn:
        raise BayesGLMError(f"{message}; see '{self.prog} --help'")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``bayesglm`` command."""
    parser = _Parser(
        prog="bayesglm", description="Bayesian GLMs with PyMC, checked against maximum likelihood."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    fit = commands.add_parser("fit", help="sample the posterior (and fit the MLE)")
    _add_model_options(fit)
    fit.add_argument(
        "--prior",
        action="append",
        default=[],
        help='repeatable: "x1=normal(0,1)", "coef=student_t(3,0,2.5)", '
        '"dispersion=exponential(1)"',
    )
    fit.add_argument("--draws", type=int, default=1000)
    fit.add_argument("--tune", type=int, default=1000)
    fit.add_argument("--chains", type=int, default=4)
    fit.add_argument("--seed", type=int)
    fit.add_argument(
        "--sampler", default="auto", choices=["auto", "compiled", "numpyro", "nutpie", "pymc"]
    )
    fit.add_argument("--report", help="write the report (.html or .md)")
    fit.add_argument(
        "--save", help="save the fit (netCDF, e.g. fit.nc; categorical/cumulative: .npz)"
    )
    fit.add_argument("--quiet", action="store_true", help="no progress bar")
    fit.set_defaults(run=_cmd_fit)

    mle = commands.add_parser("mle", help="maximum likelihood only (fast, no PyMC)")
    _add_model_options(mle)
    mle.set_defaults(run=_cmd_mle)

    predict = commands.add_parser("predict", help="predict new rows from a saved fit")
    predict.add_argument("fit", help="a file written by 'bayesglm fit --save'")
    predict.add_argument("data", help="CSV file with the model's columns")
    predict.add_argument("--scale", default="mean", choices=["link", "mean", "response"])
    predict.add_argument("--prob", type=float, default=0.95)
    predict.add_argument("--trials", help="binomial: column of trials (for --scale response)")
    predict.add_argument(
        "--offset", help="column of offsets (a fit whose offset was given as values)"
    )
    predict.add_argument("--exposure", help="column of exposures (log link: offset = log)")
    predict.add_argument(
        "--weights", help="gaussian: column of precision weights (for --scale response)"
    )
    predict.add_argument("--output", help="write a CSV instead of printing")
    predict.set_defaults(run=_cmd_predict)

    families = commands.add_parser("families", help="the family x link table")
    families.set_defaults(run=_cmd_families)

    datasets = commands.add_parser("datasets", help="the bundled datasets")
    datasets.add_argument("name", nargs="?", help="describe one dataset")
    datasets.set_defaults(run=_cmd_datasets)

    demo = commands.add_parser("demo", help="the main job on a bundled dataset")
    demo.add_argument("--output", default=".", help="folder for the report (default: .)")
    demo.set_defaults(run=_cmd_demo)

    warmup = commands.add_parser(
        "warmup", help="compile the engine's programs of the common model structures now"
    )
    warmup.add_argument("--families", nargs="+", help="default: every family with a likelihood")
    warmup.add_argument("--links", nargs="+", help="default: each family's canonical link")
    warmup.add_argument("--max-p", type=int, default=6, help="coefficients, 1 to this")
    warmup.add_argument("--max-rows", type=int, default=1024, help="row buckets up to this")
    warmup.add_argument(
        "--levels",
        type=int,
        nargs="+",
        help="response levels of the categorical and cumulative families (default: 3 4 5)",
    )
    warmup.add_argument("--draws", type=int, default=1000)
    warmup.add_argument("--tune", type=int, default=1000)
    warmup.add_argument("--chains", type=int, default=4)
    warmup.set_defaults(run=_cmd_warmup)

    cache = commands.add_parser("cache", help="the folder of compiled models")
    actions = cache.add_subparsers(dest="action", required=True)
    actions.add_parser("info", help="the folder, what it holds, its size").set_defaults(
        run=_cmd_cache_info
    )
    actions.add_parser("clear", help="delete every compiled model").set_defaults(
        run=_cmd_cache_clear
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    hook = sys.unraisablehook
    sys.unraisablehook = functools.partial(_redeliver_interrupt, fallback=hook)
    try:
        args = build_parser().parse_args(argv)
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.showwarning = _one_line_warning
            args.run(args)
    except BayesGLMError as error:
        print(f"bayesglm: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bayesglm: interrupted", file=sys.stderr)
        return 130
    finally:
        sys.unraisablehook = hook
    return 0


def _redeliver_interrupt(unraisable: Any, fallback: Any) -> None:
    """A Ctrl-C that lands in a library's C callback (numba compiling a model) is
    only printed as "Exception ignored" and the run goes on: deliver it again, a
    moment later, once the callback has returned (raised here, it would be lost)."""
    if issubclass(unraisable.exc_type, KeyboardInterrupt):
        again = threading.Timer(0.05, _thread.interrupt_main)
        again.daemon = True
        again.start()
    else:
        fallback(unraisable)


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"bayesglm: {category.__name__}: {message}", file=sys.stderr)


def main_exit() -> None:
    """Console-script entry point: run and exit with the status."""
    # This process only writes figures to files; a library import must not choose the
    # backend for a caller's session, so the command picks it here (unless set).
    os.environ.setdefault("MPLBACKEND", "Agg")
    status = main()
    # The command's work is done and written: leave without the interpreter's
    # teardown. Tearing down the modules a fit loads (JAX's, pandas's, scipy's) and
    # XLA's native state takes 0.3-0.5 s, a quarter of a small fit's command; and an
    # interrupted sampler may leave native threads (JAX, nutpie) running, under which
    # the teardown can crash. The exit handlers still run and the output is flushed.
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except OSError:  # a closed pipe (`bayesglm fit ... | head`): nothing to deliver
            pass
    os._exit(status)


if __name__ == "__main__":
    main_exit()
