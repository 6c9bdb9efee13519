"""The package's layers stay one-way and the scenario layer stays light.

The import contracts live in pyproject.toml (`[tool.importlinter]`): each stage imports only the
stages below it (scenario -> model -> analysis -> report -> execution -> cli), and the scenario
layer imports no numpy-heavy library, so that `simlock validate` starts fast. The first tests run
import-linter on them; the others check, in a fresh interpreter, what loading and validating a
scenario actually imports.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_helpers import ROOT, SMALL

HEAVY = ("numpy", "pandas", "scipy", "simpy", "matplotlib", "pyarrow")
LINT = (
    "import sys; from importlinter.cli import lint_imports_command; "
    "sys.exit(lint_imports_command())"
)


def lint_imports(config: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports --config CONFIG` in a fresh interpreter, from the repository's root (the
    package it analyses is the one on this interpreter's path)."""
    return subprocess.run(
        [sys.executable, "-c", LINT, "--no-cache", "--config", str(config)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def imported_after(code: str) -> list[str]:
    """The numpy-heavy modules a fresh interpreter has imported after running `code`."""
    probe = f"import sys\n{code}\nprint(__import__('json').dumps(sorted(sys.modules)))\n"
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    modules = json.loads(done.stdout.strip().splitlines()[-1])
    return [m for m in HEAVY if m in modules]


@pytest.mark.process
def test_every_import_contract_is_kept() -> None:
    result = lint_imports(ROOT / "pyproject.toml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 2 kept, 0 broken." in result.stdout


@pytest.mark.process
def test_a_broken_contract_fails_the_check(tmp_path: Path) -> None:
    """The check above can fail: a contract the code breaks (the analysis layer does import
    numpy) is reported as broken, with a non-zero exit code."""
    config = tmp_path / ".importlinter"
    config.write_text(
        "[importlinter]\nroot_package = simlock\ninclude_external_packages = True\n\n"
        "[importlinter:contract:analysis-without-numpy]\n"
        "name = analysis imports no numpy\ntype = forbidden\n"
        "source_modules = simlock.analysis\nforbidden_modules = numpy\n",
        encoding="utf-8",
    )
    result = lint_imports(config)
    assert result.returncode != 0
    assert "analysis imports no numpy BROKEN" in result.stdout


@pytest.mark.process
@pytest.mark.parametrize(
    "code",
    [
        "import simlock",
        f"import simlock; simlock.load_scenario({str(SMALL)!r})",
        "from simlock.scenario.loader import load_with_warnings; "
        f"load_with_warnings({str(ROOT / 'scenarios' / 'september-2021.yaml')!r})",
        "from simlock.scenario.schema import scenario_json_schema; scenario_json_schema()",
        "from simlock.cli.commands import app; from typer.testing import CliRunner; "
        f"assert CliRunner().invoke(app, ['validate', {str(SMALL)!r}]).exit_code == 0",
    ],
    ids=["import", "load_scenario", "load_with_warnings", "schema", "validate-command"],
)
def test_loading_and_validating_import_no_numpy_heavy_library(code: str) -> None:
    assert imported_after(code) == []


@pytest.mark.process
def test_the_lazy_api_still_imports_what_it_names() -> None:
    """The probe above can see heavy imports: asking for `simlock.run` loads the engine."""
    assert "numpy" in imported_after("import simlock; simlock.run")


def test_every_public_name_is_listed_and_resolves() -> None:
    import simlock

    listed = set(simlock.__all__)
    assert {"run", "Results", "run_sweep", "load_scenario", "Scenario", "compare"} <= listed
    assert listed <= set(dir(simlock))
    for name in simlock.__all__:
        assert getattr(simlock, name) is not None, name
    from simlock.analysis.results import Results
    from simlock.execution.runner import run

    assert simlock.Results is Results
    assert simlock.run is run
    with pytest.raises(AttributeError, match="no attribute 'runn'"):
        _ = simlock.runn  # type: ignore[attr-defined]
