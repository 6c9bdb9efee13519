"""The JSON Schema of the scenario format, for editors (yaml-language-server) and validators.

pydantic generates the schema from the models; two things are added by hand because a schema
cannot derive them: variants are partial policies (every field optional, no unknown keys), and
the schema names itself and its draft.
"""

from __future__ import annotations

import copy
from typing import Any

from .scenario import Scenario

SCHEMA_ID = "https://simlock.invalid/scenario.schema.json"


def scenario_json_schema() -> dict[str, Any]:
    """The scenario format as a JSON Schema (draft 2020-12)."""
    schema = Scenario.model_json_schema(by_alias=True, mode="validation")
    defs = schema.setdefault("$defs", {})
    policy = copy.deepcopy(defs["Policy"])
    policy.pop("required", None)
    policy["title"] = "PolicyOverride"
    policy["description"] = (
        "A variant: any part of the policy, merged over the baseline (null removes it)."
    )
    for field in policy["properties"].values():
        field.pop("default", None)
        if "anyOf" not in field:
            original = dict(field)
            field.clear()
            field["anyOf"] = [original, {"type": "null"}]
    defs["PolicyOverride"] = policy
    schema["properties"]["variants"]["additionalProperties"] = {"$ref": "#/$defs/PolicyOverride"}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
    }
