"""The one writer of manifests: a run's `manifest.json` and a sweep's `sweep.json`.

Both start from the same record of what made the numbers (simlock and library versions, the git
commit, the scenario's content hash, seed and replications: `common`), so a run and a sweep of
the same scenario cite it the same way; each adds its own entries. Both are written as JSON
through `outputs.write_atomic`, so a reader never sees half a manifest.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from simlock.analysis.provenance import record_environment
from simlock.scenario.models import Scenario

from .outputs import write_atomic


def common(scenario: Scenario, replications: int) -> dict[str, Any]:
    """Entries every manifest has: versions, commit, content hash, name, seeds."""
    return {
        **record_environment(scenario),
        "scenario": scenario.name,
        "seed": scenario.seed,
        "replications": replications,
        "replication_seeds": [[scenario.seed, r] for r in range(replications)],
    }


def manifest_text(manifest: dict[str, Any]) -> str:
    """A manifest as it is written: indented JSON, anything else (dates) as text."""
    return json.dumps(manifest, indent=2, default=str) + "\n"


def write_manifest(path: Path, manifest: dict[str, Any]) -> None:
    """Write a manifest whole or not at all."""
    text = manifest_text(manifest)
    write_atomic(path, lambda temporary: temporary.write_text(text))
