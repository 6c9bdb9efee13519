"""The episode's record ships with the project: every expectation's `source` that points into the
documentation lands on a page and an anchor that exist, and nothing points outside the repository
(a clone has no facts file beside it)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from simlock.scenario.loader import load_scenario
from tests.cli_helpers import ROOT, SCENARIOS

DOCS = ROOT / "docs"
RECORD = DOCS / "record" / "september-2021.md"
DOC_LINK = re.compile(r"docs/[\w./-]+\.md(?:#[\w-]+)?")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*(?:\{#([\w-]+)\})?\s*$", re.MULTILINE)
HTML_ID = re.compile(r"""\bid=["']([\w-]+)["']""")


def slug(text: str) -> str:
    """MkDocs' default heading anchor (Python-Markdown's toc slugify, unicode off)."""
    text = re.sub(r"[^\w\s-]", "", text.strip().lower())
    return re.sub(r"[-\s]+", "-", text)


def anchors(page: Path) -> set[str]:
    """Every anchor a Markdown page defines: `{#id}` on headings, slugs of the other headings,
    and `id="..."` in raw HTML."""
    text = page.read_text(encoding="utf-8")
    found = set(HTML_ID.findall(text))
    for title, explicit in HEADING.findall(text):
        found.add(explicit or slug(title))
    return found


def doc_references() -> list[tuple[str, str, str]]:
    """(scenario file, expectation name, docs reference) for every shipped scenario."""
    refs = []
    for path in SCENARIOS:
        for exp in load_scenario(path).expectations:
            for ref in DOC_LINK.findall(exp.source or ""):
                refs.append((path.name, exp.name, ref))
    return refs


def test_the_2021_scenario_cites_the_record_for_every_expectation() -> None:
    scenario = load_scenario(ROOT / "scenarios" / "september-2021.yaml")
    assert scenario.expectations
    for exp in scenario.expectations:
        assert DOC_LINK.search(exp.source or ""), f"{exp.name}: source {exp.source!r}"
        assert "docs/record/september-2021.md#fact-" in exp.source, exp.name


@pytest.mark.parametrize(("scenario", "expectation", "ref"), doc_references())
def test_every_docs_source_resolves_to_a_page_and_an_anchor(
    scenario: str, expectation: str, ref: str
) -> None:
    page, _, anchor = ref.partition("#")
    target = ROOT / page
    assert target.is_file(), f"{scenario}: {expectation!r} cites {page}, which does not exist"
    if anchor:
        assert anchor in anchors(target), f"{scenario}: {expectation!r} cites #{anchor}"


def test_the_record_states_each_stylized_fact_with_a_source() -> None:
    text = RECORD.read_text(encoding="utf-8")
    sections = re.split(r"^### ", text, flags=re.MULTILINE)[1:]
    facts = [s for s in sections if re.search(r"\{#fact-\d+\}", s.splitlines()[0])]
    assert len(facts) == 9
    for section in facts:
        assert "*Based on:" in section, section.splitlines()[0]


def test_anchor_parsing_sees_explicit_and_implicit_anchors(tmp_path: Path) -> None:
    page = tmp_path / "p.md"
    page.write_text('# The record\n\n## Fact 1: locks {#fact-1}\n\n<a id="raw"></a>\n')
    assert anchors(page) == {"the-record", "fact-1", "raw"}


def tracked_files() -> list[Path]:
    """The repository's files as git tracks them (untracked runs and venvs are not the
    project's)."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [ROOT / name for name in out.decode().split("\0") if name]


def test_nothing_references_a_facts_file_outside_the_repository() -> None:
    # README.md is kept by the integrator; its example cites the record as well.
    skip = {Path(__file__).resolve(), ROOT / "README.md"}
    outside = ("../" + "shared", "FACTS" + ".md")
    offenders = []
    for path in tracked_files():
        if path in skip or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        offenders += [f"{path.relative_to(ROOT)}: {o}" for o in outside if o in text]
    assert not offenders
