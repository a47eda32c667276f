"""The documentation site: it builds with ``mkdocs build --strict``, its reference tables
match the registries, and its Python examples (README.md too) run and print what the
pages say they print."""

from __future__ import annotations

import ast
import contextlib
import io
import itertools
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import bayesglm as bg
from bayesglm.samplers import SAMPLERS

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
FAMILIES_PAGE = DOCS / "families-and-links.md"
TABLE_START = "<!-- family-link-table:start -->"
TABLE_END = "<!-- family-link-table:end -->"


def _cells(line: str) -> list[str]:
    """The cells of a Markdown pipe-table row, stripped, backticks removed."""
    return [cell.strip().strip("`") for cell in line.strip().strip("|").split("|")]


def _family_link_table() -> tuple[list[str], dict[str, list[str]]]:
    text = FAMILIES_PAGE.read_text(encoding="utf-8")
    assert TABLE_START in text and TABLE_END in text, "table markers missing"
    block = text.split(TABLE_START, 1)[1].split(TABLE_END, 1)[0]
    lines = [line for line in block.strip().splitlines() if line.strip()]
    header = _cells(lines[0])
    assert header[0] == "family"
    assert set(lines[1].replace("|", "").strip()) <= {"-", ":", " "}, "no separator row"
    rows = {(cells := _cells(line))[0]: cells[1:] for line in lines[2:]}
    return header[1:], rows


def _expected_cell(family: bg.Family, link: str) -> str:
    if link == family.canonical_link:
        return "**canonical**"
    return "✓" if link in family.links else ""


def test_family_link_table_matches_registries():
    links, rows = _family_link_table()
    assert links == list(bg.LINKS), "columns must be the links of bg.LINKS, in order"
    assert list(rows) == list(bg.FAMILIES), "rows must be the families of bg.FAMILIES, in order"
    for name, family in bg.FAMILIES.items():
        expected = [_expected_cell(family, link) for link in links]
        assert rows[name] == expected, f"row {name!r} of the family x link table is stale"


def test_link_formulas_on_the_page_match_the_registry():
    text = FAMILIES_PAGE.read_text(encoding="utf-8")
    for name, link in bg.LINKS.items():
        label = link.effect_label or "none"
        pattern = rf"\| `{re.escape(name)}` \| `{re.escape(link.formula)}` \|.*\| `?{label}`?"
        assert re.search(pattern, text), f"the links table row for {name!r} is stale"


def test_mkdocs_build_strict(tmp_path):
    # mkdocs is in the test extra: without it this fails (No module named mkdocs)
    # rather than skipping unnoticed.
    site = tmp_path / "site"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--config-file",
            str(ROOT / "mkdocs.yml"),
            "--site-dir",
            str(site),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "WARNING" not in run.stderr, run.stderr
    for page in ("index.html", "api/index.html", "families-and-links/index.html"):
        assert (site / page).is_file(), page
    api = (site / "api" / "index.html").read_text(encoding="utf-8")
    for anchor in ("bayesglm.GLM", "bayesglm.fit_mle", "bayesglm.MLEResult"):
        assert f'id="{anchor}"' in api, f"API reference lacks {anchor}"


# --- the examples: every ```python block runs, and the output it states is checked ---
#
# A ```text block right after a ```python block (blank lines between at most) states
# what that block prints. "..." in it stands for any text; runs of whitespace match
# any whitespace. A block "samples" when it calls .fit() or .sample_prior_predictive(),
# or uses a name bound by a block that samples. The fast test runs every other block
# and checks its output exactly; the slow test runs every block as written, checking
# the output of sampling blocks with numbers within POSTERIOR_RTOL (Monte Carlo error,
# another sampler backend) and the rest exactly.

FENCE = re.compile(r"^```(?P<lang>[\w-]*)[^\n]*\n(?P<body>.*?)^```[ \t]*$", re.M | re.S)
NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
TOKEN = re.compile(rf"(\.\.\.|{NUMBER}|\s+)")
SAMPLING_CALLS = {"fit", "sample_prior_predictive"}
POSTERIOR_RTOL = 0.1
PAGES = [*sorted(DOCS.glob("*.md")), ROOT / "README.md"]


@dataclass(frozen=True)
class Example:
    """One ```python block of a page, the output it states, and whether it samples."""

    line: int
    code: str
    output: str | None
    samples: bool


def _examples(page: Path) -> list[Example]:
    text = page.read_text(encoding="utf-8")
    fences = list(FENCE.finditer(text))
    examples, posterior_names = [], set()
    for here, after in itertools.pairwise([*fences, None]):
        if here["lang"] != "python":
            continue
        stated = None
        if after is not None and after["lang"] == "text":
            if not text[here.end() : after.start()].strip():
                stated = after["body"]
        tree = ast.parse(here["body"])
        samples = _samples(tree, posterior_names)
        if samples:
            posterior_names |= _bound_names(tree)
        line = text.count("\n", 0, here.start()) + 1
        examples.append(Example(line, here["body"], stated, samples))
    return examples


def _samples(tree: ast.AST, posterior_names: set[str]) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in SAMPLING_CALLS:
                return True
        if isinstance(node, ast.Name) and node.id in posterior_names:
            return True
    return False


def _bound_names(tree: ast.AST) -> set[str]:
    return {
        node.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)
    }


def output_matches(stated: str, printed: str, rtol: float = 0.0) -> bool:
    """Whether ``printed`` is the output ``stated`` (see the comment above).

    With ``rtol`` > 0 each number may differ by that relative amount (and 0.01 absolute).
    """
    pattern, numbers = [], []
    for token in TOKEN.split(stated.strip()):
        if token == "...":
            pattern.append(".*?")
        elif token.isspace():
            pattern.append(r"\s+")
        elif re.fullmatch(NUMBER, token) and rtol > 0:
            pattern.append(f"({NUMBER})")
            numbers.append(float(token))
        else:
            pattern.append(re.escape(token))
    match = re.fullmatch("".join(pattern), printed.strip(), re.S)
    if match is None:
        return False
    found = [float(value) for value in match.groups()]
    return all(
        abs(got - want) <= rtol * abs(want) + 0.01
        for got, want in zip(found, numbers, strict=True)
    )


def _run_page(page: Path, tmp_path: Path, monkeypatch, *, sampling: bool) -> None:
    """Run a page's examples in order in one namespace, checking the outputs they state."""
    import matplotlib

    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": f"docs_{page.stem}"}
    for example in _examples(page):
        if example.samples and not sampling:
            continue
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(example.code, f"{page.name}:{example.line}", "exec"), namespace)
        if example.output is None:
            continue
        rtol = POSTERIOR_RTOL if example.samples else 0.0
        assert output_matches(example.output, printed.getvalue(), rtol), (
            f"{page.name}, the example at line {example.line} states\n{example.output}\n"
            f"but prints\n{printed.getvalue()}"
        )


def _page_ids(pages: list[Path]) -> list[str]:
    return [page.name for page in pages]


PAGES_WITHOUT_SAMPLING = [p for p in PAGES if any(not e.samples for e in _examples(p))]
PAGES_WITH_CODE = [p for p in PAGES if _examples(p)]


@pytest.mark.parametrize("page", PAGES_WITHOUT_SAMPLING, ids=_page_ids(PAGES_WITHOUT_SAMPLING))
def test_examples_that_do_not_sample_print_what_the_page_states(page, tmp_path, monkeypatch):
    _run_page(page, tmp_path, monkeypatch, sampling=False)


# Runs in the default suite (about 40 s): the docs' sampled numbers are checked on CI.
@pytest.mark.parametrize("page", PAGES_WITH_CODE, ids=_page_ids(PAGES_WITH_CODE))
def test_every_example_runs_as_written_and_prints_what_the_page_states(
    page, tmp_path, monkeypatch
):
    _run_page(page, tmp_path, monkeypatch, sampling=True)


def test_output_check_fails_when_a_stated_result_changes() -> None:
    printed = "Intercept   1.72762\nage  -0.0270698\n"
    assert output_matches("Intercept 1.72762\nage -0.0270698", printed)
    assert not output_matches("Intercept 1.72763\nage -0.0270698", printed)
    assert not output_matches("Intercept 1.72762", printed)  # a line left out
    assert output_matches("Intercept 1.72762\n...", printed)
    assert output_matches("...\nage -0.0270698", printed)
    sentence = "multiplies the odds by 2.63 (95% interval 1.14–6.18)"
    assert output_matches(sentence, sentence.replace("2.63", "2.71"), rtol=0.1)
    assert not output_matches(sentence, sentence.replace("2.63", "3.10"), rtol=0.1)
    assert not output_matches(sentence, sentence.replace("odds", "risk"), rtol=0.1)


def test_examples_are_split_into_sampling_and_not() -> None:
    page = DOCS / "getting-started.md"
    examples = _examples(page)
    first_fit = next(i for i, e in enumerate(examples) if ".fit(" in e.code)
    assert not any(e.samples for e in examples[:first_fit])
    # Blocks that use the fit sample too; later MLE-only blocks do not.
    uses_fit = [e for e in examples[first_fit:] if re.search(r"\bfit\.", e.code)]
    assert uses_fit and all(e.samples for e in uses_fit)
    assert any(not e.samples and e.output for e in examples[first_fit:])


def test_documented_auto_sampler_order_matches_model_samplers() -> None:
    text = (DOCS / "getting-started.md").read_text(encoding="utf-8")
    stated = re.search(
        r'`sampler="auto"`[^.]*? the first installed of (.+?), in that order', text, re.S
    )
    assert stated, "getting-started.md no longer states the order sampler='auto' tries"
    names = re.split(r",\s*|\s+and\s+", stated[1])
    order = [next(s for s in SAMPLERS if s in name.lower()) for name in names]
    assert tuple(order) == SAMPLERS


def test_the_code_that_regenerates_the_table_prints_it(capsys) -> None:
    text = FAMILIES_PAGE.read_text(encoding="utf-8")
    code = FENCE.search(text, text.index("To regenerate it:"))["body"]
    exec(compile(code, "families-and-links.md", "exec"), {})
    table = text.split(TABLE_START, 1)[1].split(TABLE_END, 1)[0]
    assert capsys.readouterr().out.strip() == table.strip()
