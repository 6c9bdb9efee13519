"""Interrupted runs and sweeps, with real signals sent to real `simlock` processes.

Each process runs on a pseudo-terminal, so it shows its progress bar as it would to a person; the
test waits until the bar says some work is done, then sends Ctrl-C (SIGINT to the whole process
group) or a signal to the main process (SIGINT, or SIGTERM as `kill` sends). A run then leaves no
output folder and no temporary folder; an earlier run replaced with --force survives; a sweep
keeps its finished parts and no temporary file, and --resume reruns nothing that finished; no
worker process outlives its command. Worker processes ignore Ctrl-C and leave the interruption
to the main process, which stops them: a worker dying of the SIGINT used to make the pool's
manager thread fail, and the command hung at exit.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from simlock.execution import outputs
from simlock.execution.sweep import MANIFEST_FILE, PARTS_DIR, SWEEP_FILE
from tests.cli_helpers import (
    FAST,
    SMALL,
    invoke,
    leftovers,
    quiet_env,
    simlock_command,
    small_doc,
    write_yaml,
)

pytestmark = pytest.mark.skipif(
    sys.platform == "win32", reason="POSIX signals and pseudo-terminals"
)

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_SLOW_SAVE = """
import sys, time
from simlock.execution import folder
write = folder.write_tables
def slow_write(results, staging):
    write(results, staging)
    print("TABLES WRITTEN", flush=True)
    time.sleep(60)
folder.write_tables = slow_write
from simlock.cli.commands import main
sys.argv = ["simlock", *sys.argv[1:]]
main()
"""
"""`simlock` with a table writer that pauses once the tables are in the temporary folder, so a
signal can be sent while the run is being written (the pause is the only change)."""


class Terminal:
    """A real process on a pseudo-terminal, in its own process group."""

    def __init__(self, command: list[str], cwd: Path) -> None:
        master, slave = pty.openpty()
        env = {**quiet_env(), "TERM": "xterm", "COLUMNS": "120"}
        self.process = subprocess.Popen(
            command,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=cwd,
            env=env,
            start_new_session=True,
        )
        os.close(slave)
        self.master = master
        self.raw = b""

    @property
    def text(self) -> str:
        return _ANSI.sub("", self.raw.decode(errors="replace"))

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return True
        try:
            chunk = os.read(self.master, 65536)
        except OSError:
            return False
        self.raw += chunk
        return bool(chunk)

    def wait_for(self, pattern: str, timeout: float = 60) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(pattern, self.text)
            if found:
                return found
            if not self._read(0.05) and self.process.poll() is not None:
                break
        pytest.fail(f"never saw {pattern!r}; output:\n{self.text[-2000:]}")

    def wait_for_progress(self, counter: str, at_least: int) -> None:
        """Until a progress bar shows `counter done/total` with at least `at_least` done and
        fewer than all."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            counts = [(int(a), int(b)) for a, b in re.findall(counter, self.text)]
            if counts and counts[-1][0] >= at_least:
                assert counts[-1][0] < counts[-1][1], "finished before it could be interrupted"
                return
            if not self._read(0.05) and self.process.poll() is not None:
                break
        pytest.fail(f"no progress past {at_least}; output:\n{self.text[-2000:]}")

    def press_ctrl_c(self) -> None:
        os.killpg(self.process.pid, signal.SIGINT)

    def kill(self) -> None:
        self.send(signal.SIGTERM)

    def send(self, signum: int) -> None:
        """Send a signal to the main process only (as `kill` does)."""
        os.kill(self.process.pid, signum)

    def finish(self, timeout: float = 60) -> int:
        deadline = time.monotonic() + timeout
        while self._read(0.1) and time.monotonic() < deadline:
            if self.process.poll() is not None and not select.select([self.master], [], [], 0)[0]:
                break
        code = self.process.wait(timeout=max(1.0, deadline - time.monotonic()))
        os.close(self.master)
        return code

    def group_is_gone(self, timeout: float = 10) -> bool:
        """Every process of the group (worker processes, the fork server) has exited."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                return True
            time.sleep(0.1)
        return False


def busy_scenario(tmp_path: Path, sweep: dict | None = None) -> Path:
    """small.yaml with enough replications to take many seconds, each a fraction of one."""
    doc = small_doc()
    doc["replications"] = 400
    if sweep is not None:
        doc["sweep"] = sweep
    return write_yaml(tmp_path / "busy.yaml", doc)


@pytest.mark.process
@pytest.mark.parametrize(
    ("how", "workers", "code"),
    [("ctrl-c", "1", 130), ("ctrl-c", "2", 130), ("kill", "1", 143), ("kill", "2", 143)],
    ids=[
        "ctrl-c-to-the-group",
        "ctrl-c-to-the-group-with-workers",
        "sigterm-to-the-main-process",
        "sigterm-to-the-main-process-with-workers",
    ],
)
def test_a_run_interrupted_midway_leaves_nothing(
    tmp_path: Path, how: str, workers: str, code: int
) -> None:
    file = busy_scenario(tmp_path)
    out = tmp_path / "run"
    command = [*simlock_command(), "run", str(file), "-o", str(out), "--scale", "0.3"]
    terminal = Terminal([*command, "--workers", workers], tmp_path)
    terminal.wait_for_progress(r"(\d+)/(\d+)", at_least=3)
    terminal.press_ctrl_c() if how == "ctrl-c" else terminal.kill()
    assert terminal.finish() == code
    assert "interrupted; nothing was written" in terminal.text
    assert "Traceback" not in terminal.text
    assert not out.exists()
    assert leftovers(tmp_path) == []
    assert terminal.group_is_gone()


@pytest.mark.process
@pytest.mark.parametrize(
    ("how", "earlier_run", "code"),
    [("ctrl-c", False, 130), ("kill", True, 143)],
    ids=["ctrl-c-into-a-new-folder", "sigterm-while-replacing-an-earlier-run"],
)
def test_a_run_interrupted_while_writing_leaves_no_partial_folder(
    tmp_path: Path, how: str, earlier_run: bool, code: int
) -> None:
    out = tmp_path / "run"
    force: list[str] = []
    if earlier_run:
        assert invoke("run", SMALL, "-o", out, *FAST, "--seed", "1").exit_code == 0
        before = {p.name: p.read_bytes() for p in out.iterdir()}
        force = ["--force"]
    terminal = Terminal(
        [sys.executable, "-c", _SLOW_SAVE, "run", str(SMALL), "-o", str(out), *FAST, *force],
        tmp_path,
    )
    terminal.wait_for("TABLES WRITTEN")
    partial = [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]
    assert len(partial) == 1 and (partial[0] / "summary.parquet").is_file()
    terminal.press_ctrl_c() if how == "ctrl-c" else terminal.kill()
    assert terminal.finish() == code
    assert "Traceback" not in terminal.text
    assert leftovers(tmp_path) == []
    if earlier_run:
        assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    else:
        assert not out.exists()
        assert "interrupted; nothing was written" in terminal.text


SWEEP = {
    "design": "grid",
    "replications": 2,
    "parameters": [{"path": "policy.coverage", "values": [0.2, 0.5, 0.8]}],
}
SWEEP_TASKS = 6


@pytest.mark.process
@pytest.mark.parametrize(
    ("how", "workers", "code"),
    [("sigint", "2", 130), ("kill", "1", 143)],
    ids=["sigint-to-the-main-process-with-workers", "sigterm-to-the-main-process"],
)
def test_an_interrupted_sweep_keeps_finished_parts_and_resumes_without_rerunning_them(
    tmp_path: Path, how: str, workers: str, code: int
) -> None:
    doc = small_doc()
    for region in doc["regions"]:
        for segment in region["activations"]:
            segment["rate_per_day"] *= 3
    doc["sweep"] = SWEEP
    file = write_yaml(tmp_path / "sweep.yaml", doc)
    out = tmp_path / "sweep"
    terminal = Terminal(
        [*simlock_command(), "sweep", str(file), "-o", str(out), "--workers", workers], tmp_path
    )
    terminal.wait_for_progress(r"tasks\s+(\d+)/(\d+)", at_least=2)
    terminal.send(signal.SIGINT if how == "sigint" else signal.SIGTERM)
    assert terminal.finish() == code
    text = " ".join(terminal.text.split())
    assert f"continue with: simlock sweep {file} -o {out} --resume" in text
    assert "Traceback" not in terminal.text
    assert terminal.group_is_gone(), "worker processes outlived the sweep"
    assert not (out / SWEEP_FILE).exists()
    assert leftovers(tmp_path) == []
    parts = {p.name: p.stat().st_mtime_ns for p in (out / PARTS_DIR).iterdir()}
    assert 2 <= len(parts) < SWEEP_TASKS
    saved = re.search(r"interrupted; (\d+) finished task\(s\) are saved", text)
    assert saved and int(saved[1]) == len(parts)

    resumed = invoke("sweep", file, "-o", out, "--resume", "--workers", "1", "-q")
    assert resumed.exit_code == 0, resumed.output
    manifest = json.loads((out / MANIFEST_FILE).read_text())
    assert manifest["tasks_resumed"] == len(parts)
    assert manifest["tasks_run"] == SWEEP_TASKS - len(parts)
    assert {name: (out / PARTS_DIR / name).stat().st_mtime_ns for name in parts} == parts
    assert (out / SWEEP_FILE).is_file()


class _SignalsInFinalizer:
    """Sends a signal to this process while Python runs its finalizer: the exception the handler
    raises there is only printed ("Exception ignored in ..."), never propagated."""

    def __init__(self, signum: int) -> None:
        self.signum = signum

    def __del__(self) -> None:
        os.kill(os.getpid(), self.signum)
        time.sleep(0.01)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize(
    ("signum", "raised"),
    [(signal.SIGINT, KeyboardInterrupt), (signal.SIGTERM, outputs.Terminated)],
    ids=["sigint", "sigterm"],
)
def test_an_interruption_swallowed_by_a_finalizer_is_raised_at_the_next_task(
    signum: int, raised: type[KeyboardInterrupt]
) -> None:
    # The handler this process started with: Python's default, or SIG_IGN when the suite was
    # started in the background by a shell without job control.
    before = signal.getsignal(signal.SIGINT)
    with outputs.interruptible():
        _SignalsInFinalizer(signum)
        with pytest.raises(raised):
            outputs.raise_if_interrupted()
    outputs.raise_if_interrupted()  # outside, nothing is remembered
    assert signal.getsignal(signal.SIGINT) is before
