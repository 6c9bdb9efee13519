"""The terminal every command writes to, and the exit codes they share.

Rich consoles with markup, highlighting and emoji off: scenario names and messages are printed as
written, whatever brackets or colons they hold.
"""

from __future__ import annotations

from rich.console import Console

err = Console(stderr=True, highlight=False, emoji=False)
out = Console(highlight=False, emoji=False)

EXIT_CHECK_FAILED = 1
"""`simlock run --check`: an expectation failed."""
EXIT_BAD_INPUT = 2
"""Bad input: a scenario file, an option, a folder; the message says what and where."""
EXIT_BUG = 3
"""Something simlock did not foresee: one paragraph asking for a report, no traceback."""
