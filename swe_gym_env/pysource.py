"""Parsing Python source on many threads at once.

CPython 3.11 before 3.11.8 can fail ``ast.parse`` run on two threads at once ("AST constructor recursion
depth mismatch", gh-106905). Graders of a vector env make canaries on threads, and synthesis builds and
validates tasks on threads, so every parse in the package goes through :func:`parse_python`.
"""

from __future__ import annotations

import ast
import threading

_PARSE_LOCK = threading.Lock()


def parse_python(text: str) -> ast.Module:
    """``ast.parse(text)``, one thread at a time."""
    with _PARSE_LOCK:
        return ast.parse(text)
