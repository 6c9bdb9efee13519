"""The README's API example saved as a script and run with workers: without
`if __name__ == "__main__":` simlock says in one warning that the guard is needed (and runs the
tasks itself, same numbers), instead of every worker printing Python's 90-line traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from simlock.execution.executors import _has_main_guard
from tests.cli_helpers import SMALL, quiet_env

GUARD = 'if __name__ == "__main__":'
BODY = f"""scenario = simlock.load_scenario({str(SMALL)!r})
results = simlock.run(scenario, replications=4, scale=0.1, workers=2)
print("executor:", results.manifest["executor"], results.manifest["executor_fallback"])
"""


def _run_script(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "example.py"
    script.write_text(text)
    return subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env=quiet_env(),
        check=False,
    )


def _indented(text: str) -> str:
    return "".join(f"    {line}\n" for line in text.splitlines())


@pytest.mark.slow
def test_a_script_without_the_guard_gets_one_plain_warning_not_tracebacks(tmp_path: Path) -> None:
    done = _run_script(tmp_path, "import simlock\n\n" + BODY)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "bootstrapping" not in done.stderr
    assert GUARD in done.stderr
    assert "example.py:4: SequentialFallbackWarning" in done.stderr  # the line of simlock.run
    assert len(done.stderr.splitlines()) <= 3, done.stderr
    assert "executor: processes" in done.stdout


@pytest.mark.slow
def test_a_worker_re_running_the_script_stops_with_one_line(tmp_path: Path) -> None:
    """A guard that exists but leaves the call outside: each worker reaches simlock while it
    re-runs the script, says so in a line and stops; the tasks run in the main process."""
    done = _run_script(tmp_path, "import simlock\n\n" + BODY + f"\n{GUARD}\n    pass\n")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "bootstrapping" not in done.stderr
    assert "a worker process re-running" in done.stderr
    assert GUARD in done.stderr
    assert len(done.stderr.splitlines()) <= 6, done.stderr


@pytest.mark.slow
def test_a_script_with_the_guard_uses_its_workers(tmp_path: Path) -> None:
    done = _run_script(tmp_path, f"import simlock\n\n{GUARD}\n" + _indented(BODY))
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert "executor: processes None" in done.stdout


@pytest.mark.parametrize(
    ("text", "guarded"),
    [
        ("import simlock\nsimlock.run(s)\n", False),
        (f"import simlock\n{GUARD}\n    main()\n", True),
        ("if '__main__' == __name__:\n    main()\n", True),
        ("def main():\n    if __name__ == '__main__':\n        pass\n", False),
        ("if __name__ != '__main__':\n    main()\n", False),
        ("this is not python (\n", True),
    ],
)
def test_the_guard_is_found_at_the_top_level_only(tmp_path: Path, text: str, guarded: bool) -> None:
    path = tmp_path / f"script{abs(hash(text))}.py"
    path.write_text(text)
    assert _has_main_guard(str(path)) is guarded
