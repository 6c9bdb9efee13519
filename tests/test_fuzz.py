"""Fuzzing the front door: whatever a file holds, loading it gives a Scenario or a ScenarioError
whose every problem names the file, and `simlock validate` exits 0 or 2 with a message, never a
traceback. Valid scenarios found by the fuzzer also run. Hand-made nasties (wrong encodings,
YAML bombs, deep nesting, huge numbers, oversize files) are refused quickly with a message.

Cases come from random mutations of every valid scenario in the repository (tests/data/small.yaml
and scenarios/*.yaml), random bytes, random YAML-like text and byte-level damage to real files.
The number of cases tried is printed at the end of the module's tests.
"""

from __future__ import annotations

import copy
import datetime as dt
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import simlock
from simlock.analysis.consistency import check_consistency
from simlock.errors import ScenarioError
from simlock.execution import memory as guards
from simlock.scenario.yamlio import MAX_DEPTH, MAX_EXPANDED_NODES, MAX_FILE_BYTES
from tests.cli_helpers import SHIPPED, SMALL, invoke

TRIED: Counter[str] = Counter()
"""Cases tried, by kind; printed when the module's tests are done."""
RAN = "valid scenarios run"
"""Counted apart: these are nudged scenarios that were also simulated, not extra inputs."""


def fuzz_settings(examples: int) -> settings:
    """No deadline (the machine is shared), no complaint that generating a case takes time."""
    return settings(
        max_examples=examples, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )


DOCS = [yaml.safe_load(path.read_text(encoding="utf-8")) for path in SHIPPED]
TEXTS = [path.read_bytes() for path in SHIPPED]


@pytest.fixture(scope="module", autouse=True)
def report_cases_tried(request: pytest.FixtureRequest) -> Iterator[None]:
    """Print how many cases the fuzz tests tried, on the terminal even without `-s`."""
    yield
    inputs = {kind: count for kind, count in TRIED.items() if kind != RAN}
    detail = ", ".join(f"{kind}: {count}" for kind, count in sorted(inputs.items()))
    line = (
        f"fuzz: {sum(inputs.values())} cases tried ({detail}); "
        f"{TRIED[RAN]} of the valid ones were also simulated"
    )
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None:
        print(line)
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line("")
        reporter.write_line(line)


# -- what every outcome must look like -----------------------------------------------------------


def check_outcome(path: Path, kind: str) -> simlock.Scenario | None:
    """Load through the API and the command; both must agree, and neither may crash."""
    TRIED[kind] += 1
    scenario: simlock.Scenario | None = None
    try:
        scenario = simlock.load_scenario(path)
    except ScenarioError as exc:
        assert exc.problems, "a ScenarioError must list its problems"
        for problem in exc.problems:
            assert problem.file == str(path)
            assert problem.message.strip()
            assert str(problem).startswith(f"{path}")
    result = invoke("validate", path)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in result.output
    assert result.exit_code == (0 if scenario is not None else 2), result.output
    if scenario is None:
        lines = [line for line in result.stderr.splitlines() if line]
        assert lines and all(line.startswith(str(path)) for line in lines), result.stderr
    else:
        scenario.warnings()
        scenario.policies()
    return scenario


def assert_tried(fuzz: Any, kind: str, at_least: int) -> None:
    """Run a hypothesis test and check it really tried many cases (settings can silently cut
    them down, e.g. a profile with few examples)."""
    before = TRIED[kind]
    fuzz()
    assert TRIED[kind] - before >= at_least


def write(tmp_path: Path, name: str, content: bytes | str) -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


# -- structural mutations of valid scenarios --------------------------------------------------

ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([0, 1, -1, 2, 10**9 + 1, 2**63, 2**64, 10**400]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, 0.5, 1.0, 1.000001, -0.0, 1e-300, 1e300]),
    st.text(max_size=12),
    st.sampled_from(["CU", "cu", "UA-43", "XX-XXXX", "2021-13-01", "2021-02-30", "", "baseline"]),
    st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31)),
    st.lists(st.integers(min_value=-5, max_value=5), max_size=3),
    st.dictionaries(st.text(max_size=6), st.integers(min_value=-2, max_value=2), max_size=2),
)


def paths_of(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a node of a YAML document (the root excluded)."""
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            found.append((*prefix, key))
            found.extend(paths_of(item, (*prefix, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.append((*prefix, index))
            found.extend(paths_of(item, (*prefix, index)))
    return found


def _parent(doc: Any, path: tuple[Any, ...]) -> Any:
    for part in path[:-1]:
        doc = doc[part]
    return doc


@st.composite
def mutated_docs(draw: st.DrawFn) -> Any:
    """A shipped scenario with one to three random structural mutations."""
    doc = copy.deepcopy(draw(st.sampled_from(DOCS)))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = paths_of(doc)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent, key = _parent(doc, path), path[-1]
        operation = draw(
            st.sampled_from(["replace", "delete", "rename", "duplicate", "add", "wrap", "alias"])
        )
        if operation == "replace":
            parent[key] = draw(ODD_VALUES)
        elif operation == "delete":
            del parent[key]
        elif operation == "rename" and isinstance(parent, dict):
            text = str(key)
            cut = draw(st.integers(min_value=0, max_value=len(text)))
            parent[text[:cut] + draw(st.sampled_from(["", "s", "_", "x"])) + text[cut + 1 :]] = (
                parent.pop(key)
            )
        elif operation == "duplicate" and isinstance(parent, list):
            parent.insert(key, copy.deepcopy(parent[key]))
        elif operation == "add" and isinstance(parent[key], dict):
            parent[key][draw(st.text(min_size=1, max_size=8))] = draw(ODD_VALUES)
        elif operation == "wrap":
            parent[key] = [parent[key]]
        elif operation == "alias":
            other = draw(st.sampled_from(paths))
            parent[key] = copy.deepcopy(_parent(doc, other)[other[-1]])
    if draw(st.integers(min_value=0, max_value=9)) == 0:
        return draw(st.sampled_from([[doc], "just text", 42, None, [], {}]))
    return doc


@pytest.mark.slow
def test_random_mutations_of_every_shipped_scenario_never_crash(tmp_path: Path) -> None:
    @fuzz_settings(150)
    @given(doc=mutated_docs())
    def fuzz(doc: Any) -> None:
        text = yaml.safe_dump(doc, sort_keys=False)
        check_outcome(write(tmp_path, "mutated.yaml", text), "mutated scenarios")

    assert_tried(fuzz, "mutated scenarios", 120)


# -- gentle mutations: valid scenarios that must also run --------------------------------------


OPTIONAL = {
    "description",
    "seed",
    "replications",
    "checkin",
    "jitter_days",
    "offline_rate_per_day",
    "signals",
    "vpn_share",
    "location_share",
    "detection",
    "coverage",
    "windows",
    "lookback_days",
    "lift",
    "warning",
    "exemptions",
    "appeals",
    "variants",
}
"""Fields with defaults: dropping one leaves a scenario that should still be valid."""


@st.composite
def nudged_docs(draw: st.DrawFn) -> Any:
    """A shipped scenario with numbers nudged, flags flipped and optional parts dropped: mostly
    still valid, in corners the shipped files do not visit (no lift, no windows, zero rates)."""
    doc = copy.deepcopy(draw(st.sampled_from(DOCS)))
    doc.pop("expectations", None)
    doc.pop("sweep", None)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        paths = [p for p in paths_of(doc) if "channels" not in p]
        path = draw(st.sampled_from(paths))
        parent, key = _parent(doc, path), path[-1]
        value = parent[key]
        if isinstance(value, bool):
            parent[key] = not value
        elif isinstance(value, int | float) and key != "seed":
            factor = draw(st.sampled_from([0.5, 0.9, 1.1, 2.0]))
            nudged = value * factor if key != "rate_per_day" else value * factor * 2 - value
            nudged = min(nudged, 1.0) if 0 < value <= 1 and isinstance(value, float) else nudged
            parent[key] = type(value)(max(nudged, 0))
        elif isinstance(parent, dict) and key in OPTIONAL:
            del parent[key]
    return doc


@pytest.mark.slow
def test_valid_scenarios_found_by_the_fuzzer_also_run(tmp_path: Path) -> None:
    @fuzz_settings(30)
    @given(doc=nudged_docs())
    def fuzz(doc: Any) -> None:
        path = write(tmp_path, "nudged.yaml", yaml.safe_dump(doc, sort_keys=False))
        scenario = check_outcome(path, "nudged scenarios")
        if scenario is None:
            return
        expected = guards.expected_devices(scenario, 1.0)
        scale = min(1.0, 2_000 / expected) if expected > 0 else 1.0
        results = simlock.run(scenario, replications=1, scale=scale, detail_replications=1)
        check_consistency(results)
        TRIED[RAN] += 1

    ran = TRIED[RAN]
    assert_tried(fuzz, "nudged scenarios", 25)
    assert TRIED[RAN] - ran >= 10, "the nudges should leave most valid"


# -- bytes and text ------------------------------------------------------------------------------


def test_random_bytes_are_refused_with_a_message(tmp_path: Path) -> None:
    @fuzz_settings(100)
    @given(data=st.binary(max_size=3_000))
    def fuzz(data: bytes) -> None:
        check_outcome(write(tmp_path, "bytes.yaml", data), "random bytes")

    assert_tried(fuzz, "random bytes", 80)


YAMLISH = st.text(
    alphabet=st.sampled_from(list(":-[]{}&*!|>'\"#%@`?,\n\t abcxyz019.~")), max_size=300
)


def test_random_yaml_like_text_is_refused_with_a_message(tmp_path: Path) -> None:
    @fuzz_settings(100)
    @given(text=YAMLISH)
    def fuzz(text: str) -> None:
        check_outcome(write(tmp_path, "text.yaml", text), "random YAML-like text")

    assert_tried(fuzz, "random YAML-like text", 80)


DAMAGE = st.lists(
    st.tuples(
        st.floats(min_value=0, max_value=1, exclude_max=True),
        st.sampled_from(["flip", "insert", "delete", "newline", "indent"]),
        st.binary(min_size=1, max_size=3),
    ),
    min_size=1,
    max_size=4,
)


def damaged(original: bytes, edits: list[tuple[float, str, bytes]]) -> bytes:
    data = bytearray(original)
    for where, how, payload in edits:
        at = int(where * len(data))
        if how == "flip":
            data[at] ^= payload[0] or 1
        elif how == "insert":
            data[at:at] = payload
        elif how == "delete":
            del data[at : at + len(payload)]
        elif how == "newline":
            data[at:at] = b"\n"
        else:
            data[at:at] = b"  "
    return bytes(data)


@pytest.mark.slow
def test_byte_level_damage_to_a_real_file_never_crashes(tmp_path: Path) -> None:
    @fuzz_settings(100)
    @given(original=st.sampled_from(TEXTS), edits=DAMAGE)
    def fuzz(original: bytes, edits: list[tuple[float, str, bytes]]) -> None:
        path = write(tmp_path, "damaged.yaml", damaged(original, edits))
        check_outcome(path, "damaged files")

    assert_tried(fuzz, "damaged files", 80)


# -- hand-made nasties ---------------------------------------------------------------------------

SMALL_TEXT = SMALL.read_text(encoding="utf-8")
ACCENTED = SMALL_TEXT.replace("A small scenario", "Un scénario « petit »")


def billion_laughs(levels: int = 9) -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, levels):
        name, previous = chr(ord("a") + level), chr(ord("a") + level - 1)
        lines.append(f"{name}: &{name} [{','.join([f'*{previous}'] * 9)}]")
    return "\n".join(lines) + "\n"


NASTIES: dict[str, tuple[bytes | str, str]] = {
    "utf-16-le": (ACCENTED.encode("utf-16"), "is UTF-16 text; save the file as UTF-8"),
    "utf-16-be": (b"\xfe\xff" + ACCENTED.encode("utf-16-be"), "is UTF-16 text"),
    "utf-16-without-bom": (ACCENTED.encode("utf-16-le"), "holds NUL bytes"),
    "utf-32": (ACCENTED.encode("utf-32"), "is UTF-32 text"),
    "latin-1": (ACCENTED.encode("latin-1"), "is not UTF-8 text (byte "),
    "windows-1252": (
        SMALL_TEXT.replace("A small", "A \u201csmall\u201d").encode("cp1252"),
        "perhaps Latin-1 or Windows-1252",
    ),
    "nul-bytes": (SMALL_TEXT + "\x00", "holds NUL bytes"),
    "billion-laughs": (billion_laughs(), f"expands to more than {MAX_EXPANDED_NODES:,} values"),
    "aliases-in-a-variant": (
        SMALL_TEXT.replace("variants:", billion_laughs(7) + "variants:"),
        "expands to more than",
    ),
    "recursive-alias": ("a: &a [*a]\n", f"nested deeper than {MAX_DEPTH} levels"),
    "alias-chain": (
        "a0: &a0 [x]\n" + "".join(f"a{i}: &a{i} [*a{i - 1}]\n" for i in range(1, 200)),
        f"nested deeper than {MAX_DEPTH} levels",
    ),
    "deep-flow-nesting": ("a: " + "[" * 20_000 + "]" * 20_000, "not valid YAML"),
    "deep-block-nesting": (
        "".join("  " * i + f"k{i}:\n" for i in range(MAX_DEPTH + 5)) + "  " * 70 + "x: 1\n",
        f"nested deeper than {MAX_DEPTH} levels",
    ),
    "huge-integer": (SMALL_TEXT.replace("seed: 7", "seed: " + "9" * 5_000), "seed: "),
    "huge-float": (SMALL_TEXT.replace("rate_per_day: 50", "rate_per_day: 1e400"), "finite"),
    "negative-infinity": (SMALL_TEXT.replace("coverage: 0.05", "coverage: -.inf"), "finite"),
    "hex-and-underscores": (
        SMALL_TEXT.replace("seed: 7", "seed: 0x_ff_ff_ff_ff_ff_ff_ff_ff"),
        "seed",
    ),
    "python-tag": (SMALL_TEXT + "x: !!python/object/apply:os.system [true]\n", "constructor"),
    "integer-key": (SMALL_TEXT + "2021: year\n", "field names must be text"),
    "list-as-key": ("? [a, b]\n: 1\n", "not valid YAML: found unhashable key"),
    "tab-indent": ("name: x\n\tstart: 2021-06-01\n", "not valid YAML"),
    "only-a-comment": ("# nothing here\n", "file is empty"),
    "a-number": ("42\n", "this file holds a number"),
    "a-string": ("just some words\n", "this file holds text"),
}


@pytest.mark.parametrize("name", NASTIES, ids=list(NASTIES))
def test_nasty_files_are_refused_quickly_with_a_message(tmp_path: Path, name: str) -> None:
    content, says = NASTIES[name]
    path = write(tmp_path, f"{name}.yaml", content)
    started = time.perf_counter()
    assert check_outcome(path, "hand-made nasties") is None
    assert time.perf_counter() - started < 5
    with pytest.raises(ScenarioError) as caught:
        simlock.load_scenario(path)
    assert says in str(caught.value)


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as handle:
        handle.write(SMALL.read_bytes())
        handle.truncate(MAX_FILE_BYTES + 1)

    def never(self: Path) -> bytes:
        raise AssertionError("the file was read")

    monkeypatch.setattr(Path, "read_bytes", never)
    with pytest.raises(ScenarioError) as caught:
        simlock.load_scenario(path)
    assert str(caught.value) == (
        f"{path}: file is {MAX_FILE_BYTES + 1:,} bytes; scenario files are limited to "
        f"{MAX_FILE_BYTES:,}"
    )
    TRIED["hand-made nasties"] += 1


def test_a_file_just_under_the_size_limit_is_read(tmp_path: Path) -> None:
    padding = "#" + "x" * 99 + "\n"
    body = SMALL_TEXT + padding * ((MAX_FILE_BYTES - len(SMALL_TEXT)) // len(padding))
    path = write(tmp_path, "padded.yaml", body)
    assert path.stat().st_size <= MAX_FILE_BYTES
    started = time.perf_counter()
    assert check_outcome(path, "hand-made nasties") is not None
    assert time.perf_counter() - started < 5
