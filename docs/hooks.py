"""MkDocs hooks: pages made at build time, so the site cannot drift from the code.

- The notebooks live in `notebooks/` (the tests execute them there); they are added to the site
  as they are, not executed again (mkdocs-jupyter renders them).
- The scenario format reference (`docs/reference/scenario-format.md`) is written from the JSON
  Schema that `simlock schema` prints (`simlock.scenario.schema.scenario_json_schema`): every
  field, type, default, bound and description comes from the models themselves. It is committed,
  so that it reads on GitHub too; `python docs/hooks.py` rewrites it after a change of the
  format, and a test fails while it differs from what the schema gives.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
FORMAT_PAGE = "reference/scenario-format.md"
REF = "#/$defs/"
BOUNDS = {
    "minimum": "≥ {}",
    "exclusiveMinimum": "> {}",
    "maximum": "≤ {}",
    "exclusiveMaximum": "< {}",
    "minLength": "at least {} character(s)",
    "maxLength": "at most {} characters",
    "minItems": "at least {} item(s)",
    "maxItems": "at most {} items",
    "pattern": "matches `{}`",
}


def anchor(name: str) -> str:
    """The heading anchor of one definition's section."""
    return name.lower()


def type_text(field: dict[str, Any]) -> str:
    """A field's type as a reader wants it: `string`, `list of Region`, `Window or null`, ..."""
    if "$ref" in field:
        name = field["$ref"].removeprefix(REF)
        return f"[{name}](#{anchor(name)})"
    if "const" in field:
        return f"`{json.dumps(field['const'])}`"
    if "enum" in field:
        return "one of " + ", ".join(f"`{json.dumps(v)}`" for v in field["enum"])
    for key in ("anyOf", "oneOf"):
        if key in field:
            return " or ".join(type_text(option) for option in field[key])
    kind = field.get("type")
    if kind == "array":
        items = field.get("items")
        return f"list of {type_text(items)}" if items else "list"
    if kind == "object":
        values = field.get("additionalProperties")
        if isinstance(values, dict):
            return f"mapping of name to {type_text(values)}"
        return "mapping"
    if kind == "string" and field.get("format") in ("date", "date-time"):
        return field["format"]
    if isinstance(kind, list):
        return " or ".join(kind)
    return kind or "any"


def constraints_text(field: dict[str, Any]) -> str:
    """Bounds, lengths, patterns and formats of a field (and of its options)."""
    parts = [text.format(field[key]) for key, text in BOUNDS.items() if key in field]
    for option in field.get("anyOf", []):
        parts += [text.format(option[key]) for key, text in BOUNDS.items() if key in option]
    names = field.get("propertyNames")
    if isinstance(names, dict) and "pattern" in names:
        parts.append(f"names match `{names['pattern']}`")
    return "; ".join(parts)


def cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return " ".join(str(text).split()).replace("|", "\\|")


def fields_table(definition: dict[str, Any]) -> list[str]:
    """One row per property: name, type, required or default, constraints, description."""
    required = set(definition.get("required", []))
    rows = [
        "| field | type | required / default | allowed | description |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, field in definition.get("properties", {}).items():
        if name in required:
            need = "required"
        elif "default" in field:
            need = f"default `{json.dumps(field['default'])}`"
        else:
            need = "optional"
        rows.append(
            f"| `{name}` | {cell(type_text(field))} | {cell(need)} | "
            f"{cell(constraints_text(field))} | {cell(field.get('description', ''))} |"
        )
    return rows


def schema_markdown(schema: dict[str, Any]) -> str:
    """The whole reference page: the scenario's top level, then every definition it uses.

    Definitions named `...Override` are the partial forms variants use (every field optional,
    null removes an optional part); they are listed by name rather than repeated field by field.
    """
    lines = [
        "# Scenario format",
        "",
        "Generated from the JSON Schema that `simlock schema` prints (the file "
        "`simlock.schema.json` at the repository's root) by `python docs/hooks.py`; a test "
        "fails while it differs, so it always matches the code. Shipped "
        "scenarios name the schema in their first line, `# yaml-language-server: "
        "$schema=../simlock.schema.json`, so editors validate and complete them.",
        "",
        "## Scenario",
        "",
        cell(schema.get("description", "")),
        "",
        *fields_table(schema),
        "",
    ]
    definitions = schema.get("$defs", {})
    overrides = sorted(name for name in definitions if name.endswith("Override"))
    for name in sorted(n for n in definitions if n not in overrides):
        definition = definitions[name]
        # A plain heading: its id, on the site and on GitHub alike, is the name in lower case,
        # which is what `anchor` links to.
        lines += [f"## {name}", "", cell(definition.get("description", ""))]
        if "properties" in definition:
            lines += ["", *fields_table(definition)]
        lines.append("")
    lines += [
        '<a id="overrides"></a>',
        "",
        "## Variant overrides",
        "",
        cell(definitions.get("PolicyOverride", {}).get("description", "")),
        "Each is the partial form of the definition it is named after: every field optional, "
        "nested parts partial too, lists replaced whole. " + ", ".join(overrides) + ".",
        "",
    ]
    for name in overrides:
        lines.append(f'<a id="{anchor(name)}"></a>')
    return "\n".join(lines) + "\n"


@event_priority(100)  # before mkdocs-jupyter, which claims the notebooks in its own on_files
def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Add the notebooks to the site's files."""
    for notebook in sorted(NOTEBOOKS.glob("*.ipynb")):
        # A plain File rooted at the repository (not File.generated): mkdocs-jupyter wraps
        # it and reads it from its source path.
        files.append(
            File(
                f"notebooks/{notebook.name}",
                src_dir=str(ROOT),
                dest_dir=config.site_dir,
                use_directory_urls=config.use_directory_urls,
            )
        )
    return files


def write_format_page() -> Path:
    """Write the scenario format reference from the schema; return its path."""
    from simlock.scenario.schema import scenario_json_schema

    page = ROOT / "docs" / FORMAT_PAGE
    page.write_text(schema_markdown(scenario_json_schema()), encoding="utf-8")
    return page


if __name__ == "__main__":
    print(f"wrote {write_format_page()}")
