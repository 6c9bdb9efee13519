"""The `simlock` command, thin over the library.

Layer 6 of 6, the top: it may import everything; nothing imports it.
"""

from .commands import app, main

__all__ = ["app", "main"]
