"""The JSON Schema of the scenario format, for editors (yaml-language-server) and validators.

pydantic generates the schema from the models; three things are added by hand because a schema
cannot derive them from the models:

- variants are partial policies, deep-merged over the baseline: every field is optional, an
  optional part may be null (removed), and a nested part (`appeals: {agents: 10}`) may itself be
  partial, while unknown keys stay errors. Lists (banned, windows) replace the baseline's whole,
  so their items stay complete.
- variant names follow the same rule as in the loader (lowercase letters, digits, `-`, `_`);
  pydantic's `patternProperties` for them would otherwise take precedence over the override
  schema and let any variant through unchecked.
- a variant (and a file that `extends` another) may change a window by its name, a mapping of
  window names to partial windows (null removes one); a list still replaces the whole list.
- a file with `extends` builds on another file: none of its fields is required, and its policy,
  regions and sweep may be partial (regions may be changed by id, like windows by name).
  Without `extends`, the required fields and complete parts are required as before.
- the schema names itself and its draft.
"""

from __future__ import annotations

import copy
from typing import Any

from .models import NAME_PATTERN, REGION_PATTERN, Scenario

SCHEMA_ID = "https://simlock.invalid/scenario.schema.json"
_REF = "#/$defs/"


def scenario_json_schema() -> dict[str, Any]:
    """The scenario format as a JSON Schema (draft 2020-12)."""
    schema = Scenario.model_json_schema(by_alias=True, mode="validation")
    defs = schema.setdefault("$defs", {})
    override = _partial_object(defs["Policy"], defs)
    override["title"] = "PolicyOverride"
    override["description"] = (
        "A variant: any part of the policy, merged over the baseline (null removes it)."
    )
    required = set(defs["Policy"].get("required", []))
    for name, field in override["properties"].items():
        field.pop("default", None)
        if name not in required and not _allows_null(field):
            override["properties"][name] = {"anyOf": [field, {"type": "null"}]}
    override["properties"]["windows"]["anyOf"].insert(1, _by_name(defs, "Window", NAME_PATTERN))
    defs["PolicyOverride"] = override
    _allow_extends(schema, defs)
    variants = schema["properties"]["variants"]
    variants.pop("patternProperties", None)
    variants["propertyNames"] = {**variants.get("propertyNames", {}), "pattern": NAME_PATTERN}
    variants["additionalProperties"] = {"$ref": f"{_REF}PolicyOverride"}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
    }


def _by_name(defs: dict[str, Any], item: str, pattern: str) -> dict[str, Any]:
    """A mapping of item names to partial items (null removes one): how a variant or an
    extending file changes some items of a named list and keeps the others."""
    return {
        "type": "object",
        "description": f"change {item.lower()}s by name (null removes one); a list replaces all",
        "propertyNames": {"pattern": pattern},
        "additionalProperties": {
            "anyOf": [_partial({"$ref": f"{_REF}{item}"}, defs), {"type": "null"}]
        },
    }


def _allow_extends(schema: dict[str, Any], defs: dict[str, Any]) -> None:
    """`extends: other.yaml` makes every field optional and the policy, regions and sweep
    partial (merged over the other file); without it, the schema is as strict as before."""
    properties = schema["properties"]
    properties["extends"] = {
        "type": "string",
        "minLength": 1,
        "description": "another scenario file (relative to this one) that this file builds on: "
        "this file is deep-merged over it, as a variant over the policy",
    }
    complete = {name: properties[name] for name in ("policy", "regions", "sweep")}
    properties["policy"] = {"anyOf": [complete["policy"], {"$ref": f"{_REF}PolicyOverride"}]}
    properties["regions"] = {
        "anyOf": [complete["regions"], _by_name(defs, "Region", REGION_PATTERN)]
    }
    properties["sweep"] = {"anyOf": [complete["sweep"], _partial(complete["sweep"], defs)]}
    schema["if"] = {"not": {"required": ["extends"]}}
    schema["then"] = {"required": schema.pop("required"), "properties": complete}


def _partial(fragment: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """The schema of a deep-merge override of `fragment`: mappings become partial (recursively,
    through references and unions), anything else is kept as it is."""
    if "$ref" in fragment:
        name = fragment["$ref"].removeprefix(_REF)
        target = defs.get(name, {})
        if target.get("type") != "object" or "properties" not in target:
            return fragment
        partial_name = f"{name}Override"
        if partial_name not in defs:
            defs[partial_name] = {}  # reserve the name first: definitions may refer to themselves
            defs[partial_name] = _partial_object(target, defs)
        return {**{k: v for k, v in fragment.items() if k != "$ref"}, "$ref": _REF + partial_name}
    for union in ("anyOf", "oneOf"):
        if union in fragment:
            rest = {k: v for k, v in fragment.items() if k not in (union, "discriminator")}
            return {**rest, "anyOf": [_partial(member, defs) for member in fragment[union]]}
    if fragment.get("type") == "object" and "properties" in fragment:
        return _partial_object(fragment, defs)
    return fragment


def _partial_object(model: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    partial = copy.deepcopy(model)
    partial.pop("required", None)
    partial["properties"] = {
        name: _partial(field, defs) for name, field in partial["properties"].items()
    }
    return partial


def _allows_null(field: dict[str, Any]) -> bool:
    return any(member.get("type") == "null" for member in field.get("anyOf", []))
