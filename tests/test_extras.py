"""A feature whose library comes with an extra says which extra to install, with exit code 2
from the command, instead of an internal error (the README's first command installs none)."""

from __future__ import annotations

import sys

import pytest

from simlock.errors import SimlockError
from simlock.execution.extras import MissingExtraError, require
from tests.cli_helpers import ROOT, invoke

SEARCH_FILE = ROOT / "scenarios" / "september-2021-search.yaml"


def test_a_missing_library_names_the_extra_that_installs_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)  # import optuna now raises ImportError
    with pytest.raises(MissingExtraError) as caught:
        require("optuna", "search", "policy search")
    assert isinstance(caught.value, SimlockError)
    assert str(caught.value) == (
        "policy search needs optuna; install it with: pip install 'simlock[search]'"
    )


def test_an_installed_library_is_returned():
    assert require("json", "none", "reading JSON").dumps([1]) == "[1]"


@pytest.mark.parametrize(
    ("library", "extra", "args"),
    [
        ("optuna", "search", ["search", SEARCH_FILE, "--trials", "2"]),
        ("SALib", "sensitivity", None),
    ],
)
def test_the_command_stops_with_the_install_line_and_writes_nothing(
    monkeypatch, tmp_path, library, extra, args
):
    if args is None:
        scenario = tmp_path / "sobol.yaml"
        scenario.write_text(
            (ROOT / "tests" / "data" / "small.yaml").read_text()
            + "sweep:\n  design: sobol\n  samples: 4\n  parameters:\n"
            + "    - {path: policy.coverage, low: 0.2, high: 1.0}\n"
        )
        args = ["sweep", scenario, "--scale", "0.05"]
    for name in [library, *(n for n in sys.modules if n.startswith(f"{library}."))]:
        monkeypatch.setitem(sys.modules, name, None)  # submodules imported earlier too
    out = tmp_path / "out"
    result = invoke(*args, "-o", out)
    assert result.exit_code == 2, result.output
    assert f"pip install 'simlock[{extra}]'" in result.stderr
    assert "internal error" not in result.stderr
    assert not out.exists() or not any(out.iterdir())
