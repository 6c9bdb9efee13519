"""The test suite itself: its helpers import as `tests.<module>` even when another installed
distribution ships a top-level `tests` package (Ciw 3.2.7 does), and its markers are declared.

Checked by hand once (December 2026): with `ciw==3.2.7` installed into the venv, the suite at the
commit before `tests/__init__.py` failed to collect five modules (`No module named
'tests.engine_helpers'`); this layout collected every test. The test below makes the same
situation with a stand-in package, so it needs no download.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _with_a_foreign_tests_package(folder: Path) -> dict[str, str]:
    """An environment whose path starts with a folder holding a regular `tests` package, as a
    distribution installed into site-packages would (PYTHONPATH comes before site-packages)."""
    foreign = folder / "site" / "tests"
    foreign.mkdir(parents=True)
    (foreign / "__init__.py").write_text('"""Somebody else\'s tests."""\nFOREIGN = True\n')
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(folder / "site"), env.get("PYTHONPATH")]))
    return env


@pytest.mark.process
def test_helpers_import_from_this_suite_when_another_tests_package_is_installed(
    tmp_path: Path,
) -> None:
    env = _with_a_foreign_tests_package(tmp_path)
    # The stand-in does shadow a plain `import tests` outside the repository...
    shadowed = subprocess.run(
        [sys.executable, "-c", "import tests; print(tests.FOREIGN)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shadowed.stdout.strip() == "True", shadowed.stderr
    # ...yet pytest, started elsewhere, imports this suite's helpers.
    modules = ["tests/test_engine_reference.py", "tests/test_figures.py", "tests/test_cli.py"]
    collected = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
        + ["--rootdir", str(ROOT), "-c", str(ROOT / "pyproject.toml")]
        + [str(ROOT / module) for module in modules],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert collected.returncode == 0, collected.stdout[-3000:] + collected.stderr[-3000:]
    assert "error" not in collected.stdout.lower().splitlines()[-1]


def test_every_marker_used_is_declared_with_its_meaning() -> None:
    """`--strict-markers` refuses undeclared markers; this keeps the fast lane's two markers
    declared with a description, since the README's fast lane relies on them."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    declared = {line.split(":")[0]: line for line in config["markers"]}
    assert {"slow", "process"} <= set(declared)
    assert all(len(line.split(":", 1)[1].strip()) > 20 for line in declared.values())
    assert "--strict-markers" in config["addopts"]
