"""The ``trace`` tool's arguments: checked once, with messages that say how to write them right."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..tools import ToolError

DEFAULT_MAX_LINES = 200  # a test's path through a small library fits; an agent's context does not want more
MAX_MAX_LINES = 1000  # past this a trace is too long to read in one observation
DEFAULT_MAX_DEPTH = 10  # deep enough for a library's own call chains, shallow enough to cut recursion
BYTES_PER_LINE = 80  # the byte cap follows the line cap: 200 lines -> 16 KB, like bash's output cap
MIN_MAX_BYTES = 16_000
REPR_LIMIT = 60  # characters of one value's repr
LOOP_ITERATIONS = 2  # iterations of a loop shown before the rest are folded into one line
ENGINES = ("auto", "settrace", "sys.monitoring")
_RANGE = re.compile(r"^(?P<path>[^:]+):(?P<start>\d+)(?:-(?P<end>\d+))?$")


@dataclass(frozen=True)
class TraceOptions:
    """What to run and what to show of it. ``engine`` is for tests: ``auto`` takes sys.monitoring where present."""

    command: str
    focus: str | None = None
    include: tuple[str, ...] = ()
    include_tests: bool = False
    max_depth: int = DEFAULT_MAX_DEPTH
    max_lines: int = DEFAULT_MAX_LINES
    loop_iterations: int = LOOP_ITERATIONS
    repr_limit: int = REPR_LIMIT
    engine: str = "auto"

    def __post_init__(self) -> None:
        if not self.command.strip():
            raise ToolError("command is empty: give the command to trace, e.g. python -m pytest -q tests/test_x.py")
        if not 0 <= self.max_depth <= 100:
            raise ToolError(f"max_depth must be between 0 and 100, got {self.max_depth}")
        if not 1 <= self.max_lines <= MAX_MAX_LINES:
            raise ToolError(f"max_lines must be between 1 and {MAX_MAX_LINES}, got {self.max_lines}")
        if self.engine not in ENGINES:
            raise ToolError(f"engine must be one of {ENGINES}, got {self.engine!r}")
        for pattern in self.include:
            if not pattern.strip() or pattern.startswith("/") and not pattern.startswith("/testbed/"):
                raise ToolError(f"include entries are paths or globs under /testbed, got {pattern!r}")
        self.focus_spec()  # raises on a malformed range

    @classmethod
    def from_arguments(cls, arguments: Mapping[str, Any]) -> TraceOptions:
        """From the tool call's (schema-checked) arguments."""
        include = arguments.get("include") or ()
        return cls(
            command=arguments["command"],
            focus=(arguments.get("focus") or "").strip() or None,
            include=tuple(_relative(pattern) for pattern in include),
            include_tests=bool(arguments.get("include_tests", False)),
            max_depth=int(arguments.get("max_depth", DEFAULT_MAX_DEPTH)),
            max_lines=int(arguments.get("max_lines", DEFAULT_MAX_LINES)),
        )

    @property
    def max_bytes(self) -> int:
        return max(MIN_MAX_BYTES, self.max_lines * BYTES_PER_LINE)

    def focus_spec(self) -> str | dict[str, Any] | None:
        """The focus as the tracer takes it: a function name, or ``{"path", "start", "end"}`` for a line range."""
        if self.focus is None:
            return None
        match = _RANGE.match(self.focus)
        if match is None:
            if ":" in self.focus or "/" in self.focus or " " in self.focus:
                raise ToolError(
                    f"focus {self.focus!r} is neither a function name (e.g. parse or Parser.parse) nor a line "
                    "range path:first-last (e.g. pkg/mod.py:10-40)"
                )
            return self.focus
        start = int(match["start"])
        end = int(match["end"] or start)
        if start < 1 or end < start:
            raise ToolError(f"focus {self.focus!r}: the line range must be first-last with 1 <= first <= last")
        return {"path": _relative(match["path"]), "start": start, "end": end}

    def config(self, root: str) -> dict[str, Any]:
        """The JSON config the tracer reads in the sandbox."""
        return {
            "root": root,
            "include": list(self.include),
            "include_tests": self.include_tests,
            "focus": self.focus_spec(),
            "max_depth": self.max_depth,
            "max_lines": self.max_lines,
            "max_bytes": self.max_bytes,
            "repr_limit": self.repr_limit,
            "loop_iterations": self.loop_iterations,
            "engine": self.engine,
        }


def _relative(path: str) -> str:
    return path.strip().removeprefix("/testbed/").removeprefix("./")
