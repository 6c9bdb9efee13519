"""simlock's own exceptions, each carrying a message a person can act on.

The command line turns any of these into a message on stderr and exit code 2; the Python API
raises them as they are. Nothing here imports the rest of the package.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]+")


def field_path(loc: tuple[str | int, ...]) -> str:
    """A field path as a person writes it: `regions[2].signals.vpn_share`. A key that is not a
    plain name (spaces, dots, a line break) is quoted, `variants["No Lift"]`, so a path is always
    one line and cannot be misread."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _PLAIN_KEY.fullmatch(part):
            text += f".{part}" if text else part
        else:
            text += f"[{_quoted(part)}]"
    return text


def _quoted(key: str) -> str:
    """A key in double quotes, every character a terminal would not print as itself escaped
    (a line break, NEL, a control character), letters of any script kept."""
    inner = json.dumps(key, ensure_ascii=False)[1:-1]
    return '"' + "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in inner) + '"'


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where it is, what is wrong, what would be allowed."""

    message: str
    path: str = ""
    file: str | None = None
    line: int | None = None
    allowed: str | None = None

    def __str__(self) -> str:
        where = self.file or "<scenario>"
        if self.line is not None:
            where += f":{self.line}"
        field = f" {self.path}:" if self.path else ""
        text = f"{where}:{field} {self.message}"
        if self.allowed:
            text += f" (allowed: {self.allowed})"
        return text


class SimlockError(Exception):
    """Base class for every error simlock raises on purpose."""


class ScenarioError(SimlockError):
    """A scenario file or mapping is not valid; `problems` lists every issue found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class OutputError(SimlockError):
    """The output folder cannot be written as asked (exists and is not empty, not writable)."""


class SavedRunError(SimlockError):
    """A saved run folder is missing, corrupt, or written by an incompatible simlock version."""


class TooBigError(SimlockError):
    """The scenario needs more memory than the machine has; the message says which --scale fits."""


class ConsistencyError(SimlockError):
    """An internal invariant failed after a run: a simlock bug, reported with the scenario hash."""


class OptionError(SimlockError):
    """An argument to a simlock function or command is not allowed: an unknown variant or
    metric, a replication count, seed, scale or worker count out of range. The message names the
    argument, what was given and what is allowed, in the words the command uses."""
