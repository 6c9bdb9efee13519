"""The documentation site builds without a warning, and its scenario format reference is made
from the JSON Schema itself, so it lists every field the format has."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from simlock.scenario.schema import scenario_json_schema
from tests.cli_helpers import ROOT


def hooks() -> ModuleType:
    """docs/hooks.py, the MkDocs hooks, imported as a module."""
    spec = importlib.util.spec_from_file_location("simlock_docs_hooks", ROOT / "docs" / "hooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_format_reference_has_every_field_of_every_definition() -> None:
    schema = scenario_json_schema()
    page = hooks().schema_markdown(schema)
    for name in schema["properties"]:
        assert f"| `{name}` |" in page, name
    for name, definition in schema["$defs"].items():
        if name.endswith("Override"):
            assert name in page
            continue
        assert f"\n## {name}\n" in page
        for field in definition.get("properties", {}):
            assert f"| `{field}` |" in page, f"{name}.{field}"


def test_the_committed_format_reference_is_what_the_schema_gives() -> None:
    """The page is committed so that it reads on GitHub; after a change of the format it must be
    written again (`python docs/hooks.py`), as simlock.schema.json must."""
    committed = (ROOT / "docs" / "reference" / "scenario-format.md").read_text(encoding="utf-8")
    assert committed == hooks().schema_markdown(scenario_json_schema()), (
        "docs/reference/scenario-format.md is out of date: run python docs/hooks.py"
    )


def test_the_format_reference_follows_a_change_of_the_schema() -> None:
    schema = scenario_json_schema()
    schema["$defs"]["Window"]["properties"]["brand_new"] = {
        "type": "number",
        "minimum": 0,
        "description": "a field added to the models",
    }
    page = hooks().schema_markdown(schema)
    assert "| `brand_new` | number | optional | ≥ 0 | a field added to the models |" in page


def test_types_read_as_words_with_links_to_their_sections() -> None:
    type_text = hooks().type_text
    assert type_text({"$ref": "#/$defs/Window"}) == "[Window](#window)"
    assert type_text({"type": "array", "items": {"$ref": "#/$defs/Region"}}) == (
        "list of [Region](#region)"
    )
    assert type_text({"anyOf": [{"$ref": "#/$defs/Lift"}, {"type": "null"}]}) == (
        "[Lift](#lift) or null"
    )
    assert type_text({"type": "string", "format": "date"}) == "date"
    assert type_text({"enum": ["any", "all"]}) == 'one of `"any"`, `"all"`'


@pytest.mark.process
def test_the_site_builds_strictly(tmp_path: Path) -> None:
    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    record = (site / "record" / "september-2021" / "index.html").read_text()
    for fact in range(1, 10):
        assert f'id="fact-{fact}"' in record
    reference = (site / "reference" / "scenario-format" / "index.html").read_text()
    assert "lookback_days" in reference and "rate_per_day" in reference
    api = (site / "reference" / "api" / "index.html").read_text()
    assert "load_scenario" in api and "Results.check" in api
    for notebook in (ROOT / "notebooks").glob("*.ipynb"):
        assert (site / "notebooks" / notebook.stem / "index.html").is_file(), notebook.name
