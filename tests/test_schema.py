"""The JSON Schema editors use: `simlock schema` prints exactly the committed file, a third-party
validator (jsonschema, draft 2020-12) accepts every shipped scenario and rejects broken ones, and
shipped scenarios name the schema in their first line for yaml-language-server."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

import simlock
from tests.cli_helpers import SCENARIOS, SCHEMA_FILE, SHIPPED, invoke, small_doc

SCHEMA_COMMENT = "# yaml-language-server: $schema="


def as_json(value: Any) -> Any:
    """A YAML document as an editor's language server sees it: dates are strings."""
    if isinstance(value, dict):
        return {str(k): as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_json(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def errors(validator: Draft202012Validator, doc: dict[str, Any]) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(as_json(doc))
    ]


def test_the_schema_command_prints_the_committed_schema() -> None:
    result = invoke("schema")
    assert result.exit_code == 0
    assert result.stdout == SCHEMA_FILE.read_text(encoding="utf-8"), (
        "simlock.schema.json is stale: regenerate it with `simlock schema > simlock.schema.json`"
    )


def test_the_schema_is_draft_2020_12_and_names_itself() -> None:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].endswith("scenario.schema.json")
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize("file", SHIPPED, ids=lambda f: f.name)
def test_the_schema_accepts_every_shipped_scenario(
    validator: Draft202012Validator, file: Path
) -> None:
    doc = yaml.safe_load(file.read_text(encoding="utf-8"))
    assert errors(validator, doc) == []


def _set(doc: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    target = doc
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return doc


@pytest.mark.parametrize(
    ("path", "value", "complaint"),
    [
        (("policy", "coverag"), 0.5, "Additional properties are not allowed ('coverag'"),
        (("regions", 0, "signals", "vpn_share"), 1.5, "1.5 is greater than the maximum of 1"),
        (("regions", 0, "id"), "Cuba", "'Cuba' does not match"),
        (("policy", "lock_delay"), {"distribution": "gamma"}, "is not valid under any"),
        (("replications",), "many", "'many' is not of type 'integer'"),
        (("variants", "no-lift"), {"covrage": 0.5}, "('covrage' was unexpected)"),
        (("checkin", "model"), "hourly", "'hourly' is not one of ['periodic', 'poisson']"),
    ],
    ids=["unknown-key", "share", "region-code", "distribution", "type", "variant", "literal"],
)
def test_the_schema_rejects_a_broken_scenario(
    validator: Draft202012Validator, path: tuple[Any, ...], value: Any, complaint: str
) -> None:
    broken = _set(small_doc(), path, value)
    found = errors(validator, broken)
    assert any(complaint in e for e in found), found
    with pytest.raises(simlock.ScenarioError):
        simlock.load_scenario(broken)


def test_the_schema_requires_what_the_loader_requires(validator: Draft202012Validator) -> None:
    doc = small_doc()
    del doc["policy"]
    assert errors(validator, doc) == [": 'policy' is a required property"]


def test_variants_may_override_any_part_of_the_policy_or_remove_it(
    validator: Draft202012Validator,
) -> None:
    doc = small_doc()
    doc["variants"] = {
        "strict": {"detection": {"rule": "any"}, "coverage": 1.0},
        "no-appeals": {"appeals": None, "lift": None},
        "bigger-desk": {"appeals": {"agents": 10, "delay": {"mean_days": 3}}},
    }
    assert errors(validator, doc) == []
    scenario = simlock.load_scenario(doc)
    assert scenario.variant("bigger-desk").appeals.agents == 10


@pytest.mark.parametrize(
    ("variants", "complaint"),
    [
        ({"No Lift": {"lift": None}}, "'No Lift' does not match"),
        ({"loose": {"lock_delay": None}}, "None is not valid under any of the given schemas"),
        ({"loose": {"appeals": {"agentz": 3}}}, "{'agentz': 3} is not valid under any"),
        ({"loose": {"lock_delay": {"distribution": "gamma"}}}, "is not valid under any"),
    ],
    ids=["name", "required-part-removed", "nested-unknown-key", "distribution"],
)
def test_the_schema_checks_variants_as_the_loader_does(
    validator: Draft202012Validator, variants: dict[str, Any], complaint: str
) -> None:
    doc = small_doc()
    doc["variants"] = variants
    found = errors(validator, doc)
    assert any(complaint in e for e in found), found
    with pytest.raises(simlock.ScenarioError):
        simlock.load_scenario(doc)


@pytest.mark.parametrize("file", SCENARIOS, ids=lambda f: f.name)
def test_shipped_scenarios_name_the_schema_in_their_first_line(file: Path) -> None:
    first = file.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith(SCHEMA_COMMENT)
    target = (file.parent / first.removeprefix(SCHEMA_COMMENT).strip()).resolve()
    assert target == SCHEMA_FILE.resolve()
