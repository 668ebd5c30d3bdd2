"""The agent's tools: their JSON schemas, argument checks, and the file editor that runs them in a sandbox.

``TOOL_SCHEMAS`` is in the OpenAI/Hugging Face ``tools`` format, so a chat template can render it.
Editor mistakes (a missing file, an ``old_str`` found 0 or 2 times) are :class:`ToolError`: the
environment shows their message to the agent, with how to do it right.
"""

from __future__ import annotations

import copy
import json
import posixpath
from collections.abc import Sequence
from typing import Any

from .backends.base import WORKDIR, Sandbox, decode, quote

TOOL_SCHEMAS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": "bash",
            "description": (
                "Run a bash command in the repository at /testbed and return its output and exit code. "
                "Like a terminal, the working directory, variables and functions carry over between calls "
                "(the first starts in /testbed); long commands are killed at the timeout, long output is "
                "truncated; stdin is empty. No network access."
            ),
            "parameters": {
                "type": "object",
                "properties": {"command": {"type": "string", "description": "The command to run."}},
                "required": ["command"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "str_replace_editor",
            "description": (
                "View, create and edit files. `view` shows a file with line numbers (or lists a directory); "
                "`create` writes a new file; `str_replace` replaces `old_str`, which must occur exactly once, "
                "by `new_str`; `insert` adds `new_str` after line `insert_line` (0 = at the top); "
                "`undo_edit` reverts the last edit of `path`. Paths are absolute or relative to /testbed."
            ),
            "parameters": {
                "type": "object",
                "properties": {
                    "command": {"type": "string", "enum": ["view", "create", "str_replace", "insert", "undo_edit"]},
                    "path": {"type": "string", "description": "File or directory path."},
                    "file_text": {"type": "string", "description": "Content of the new file (create)."},
                    "old_str": {"type": "string", "description": "Exact text to replace (str_replace)."},
                    "new_str": {"type": "string", "description": "Replacement or inserted text."},
                    "insert_line": {"type": "integer", "description": "Insert after this line (insert)."},
                    "view_range": {
                        "type": "array",
                        "items": {"type": "integer"},
                        "description": "[first, last] lines to show (view); last = -1 means to the end.",
                    },
                },
                "required": ["command", "path"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "trace",
            "description": (
                "Run a command (a test: `python3 -m pytest -q tests/test_x.py::test_y`, or `python3 script.py`) "
                "with its Python code traced, and return what the repository's own code executed (not the "
                "standard library, installed packages or, unless asked, the tests): each line as "
                "`path:line  source  # the local variables it changed`, calls with their arguments, returns "
                "with their values, exceptions where they are raised; later loop iterations are folded. "
                "Then the command's output. Runs like bash (same timeout and limits), in a subshell: cd and "
                "variables do not carry over. Extend PYTHONPATH with PYTHONPATH=dir:$PYTHONPATH, not by replacing it."
            ),
            "parameters": {
                "type": "object",
                "properties": {
                    "command": {"type": "string", "description": "The command to run traced."},
                    "focus": {
                        "type": "string",
                        "description": "Show only this function (name or Class.method) and what it calls, "
                        "or only the lines path:first-last (e.g. pkg/mod.py:10-40).",
                    },
                    "include": {
                        "type": "array",
                        "items": {"type": "string"},
                        "description": "Paths or globs under /testbed to trace instead of all non-test code.",
                    },
                    "include_tests": {"type": "boolean", "description": "Also trace test files (default false)."},
                    "max_depth": {
                        "type": "integer",
                        "description": "Do not show calls nested deeper than this (default 10).",
                    },
                    "max_lines": {"type": "integer", "description": "Trace lines to show at most (default 200)."},
                },
                "required": ["command"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "submit",
            "description": "Finish: your changes to /testbed are graded by hidden tests. Call it once, when done.",
            "parameters": {"type": "object", "properties": {}, "required": []},
        },
    },
]

_SCHEMA_BY_NAME = {schema["function"]["name"]: schema["function"]["parameters"] for schema in TOOL_SCHEMAS}
STATELESS_BASH = (
    "Run a bash command in the repository at /testbed and return its output and exit code. Each call "
    "runs in a fresh shell that starts in /testbed (cd and variables do not carry over: chain commands "
    "with && instead); long commands are killed at the timeout, long output is truncated; stdin is "
    "empty. No network access."
)


TOOL_NAMES = tuple(_SCHEMA_BY_NAME)


def check_tool_names(tools: Sequence[str] | None) -> tuple[str, ...]:
    """The tool names an env offers (``None``: all of them); ``submit`` is required. Raises ``ValueError``."""
    if tools is None:
        return TOOL_NAMES
    if isinstance(tools, str):
        raise ValueError(f"tools must be a list of tool names, not the string {tools!r}")  # noqa: TRY004
    unknown = sorted(set(tools) - set(TOOL_NAMES))
    if unknown:
        raise ValueError(f"unknown tool(s) {unknown}; the tools are {list(TOOL_NAMES)}")
    if "submit" not in tools:
        raise ValueError("tools must include 'submit': without it an episode cannot end with a graded answer")
    return tuple(name for name in TOOL_NAMES if name in tools)


def tool_schemas(persistent_shell: bool = True, tools: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The schemas of ``tools`` (default: all), with the ``bash`` description matching how commands run (a copy)."""
    names = check_tool_names(tools)
    schemas = [schema for schema in copy.deepcopy(TOOL_SCHEMAS) if schema["function"]["name"] in names]
    if not persistent_shell and "bash" in names:
        bash = next(schema for schema in schemas if schema["function"]["name"] == "bash")
        bash["function"]["description"] = STATELESS_BASH
    return schemas


EDITOR_ARGUMENTS = {
    "view": ({"path"}, {"view_range"}),
    "create": ({"path", "file_text"}, set()),
    "str_replace": ({"path", "old_str"}, {"new_str"}),
    "insert": ({"path", "insert_line", "new_str"}, set()),
    "undo_edit": ({"path"}, set()),
}


class ToolError(Exception):
    """A tool could not do what was asked; the message is the agent's feedback."""


def _coerce(value: Any, spec: dict[str, Any], where: str) -> Any:
    kind = spec.get("type")
    if kind == "string":
        if not isinstance(value, str):
            raise ValueError(f"{where} must be a string, got {type(value).__name__}")
        if "enum" in spec and value not in spec["enum"]:
            raise ValueError(f"{where} must be one of {spec['enum']}, got {value!r}")
        return value
    if kind == "integer":
        if isinstance(value, str):
            try:
                value = int(value.strip())
            except ValueError:
                raise ValueError(f"{where} must be an integer, got {value!r}") from None
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{where} must be an integer, got {type(value).__name__}")
        return value
    if kind == "boolean":
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        if not isinstance(value, bool):
            raise ValueError(f"{where} must be true or false, got {value!r}")
        return value
    if kind == "array":
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                raise ValueError(f"{where} must be a JSON list such as [1, 40], got {value!r}") from None
        if not isinstance(value, list):
            raise ValueError(f"{where} must be a list, got {type(value).__name__}")
        return [_coerce(item, spec.get("items", {}), f"{where}[{i}]") for i, item in enumerate(value)]
    return value


def validate_arguments(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """Check ``arguments`` against the tool's schema and coerce XML strings; raises ``ValueError``."""
    schema = _SCHEMA_BY_NAME.get(name)
    if schema is None:
        raise ValueError(f"Unknown tool {name!r}. Available tools: {', '.join(_SCHEMA_BY_NAME)}.")
    properties = schema["properties"]
    unknown = sorted(set(arguments) - set(properties))
    if unknown:
        allowed = ", ".join(properties) or "none"
        raise ValueError(f"Tool {name!r} got unexpected argument(s) {unknown}. Its arguments: {allowed}.")
    missing = [key for key in schema["required"] if key not in arguments]
    if missing:
        raise ValueError(f"Tool {name!r} is missing required argument(s) {missing}.")
    coerced = {key: _coerce(value, properties[key], f"{name}.{key}") for key, value in arguments.items()}
    if name == "str_replace_editor":
        required, optional = EDITOR_ARGUMENTS[coerced["command"]]
        given = set(coerced) - {"command"}
        if required - given:
            raise ValueError(
                f"str_replace_editor {coerced['command']} needs argument(s) {sorted(required - given)}."
            )
        if given - required - optional:
            raise ValueError(
                f"str_replace_editor {coerced['command']} does not take {sorted(given - required - optional)}; "
                f"it takes {sorted(required | optional)}."
            )
    return coerced


def _numbered(lines: list[str], first: int) -> str:
    return "".join(f"{number:6}\t{line}\n" for number, line in enumerate(lines, start=first))


class Editor:
    """The ``str_replace_editor`` tool over one sandbox, with per-file undo history."""

    def __init__(self, sandbox: Sandbox, max_view_chars: int = 16_000, snippet_lines: int = 4):
        self.sandbox = sandbox
        self.max_view_chars = max_view_chars
        self.snippet_lines = snippet_lines
        self.history: dict[str, list[bytes | None]] = {}

    @staticmethod
    def resolve(path: str) -> str:
        if not path.strip():
            raise ToolError("The path is empty. Give a file path such as /testbed/package/module.py.")
        return posixpath.normpath(path if path.startswith("/") else posixpath.join(WORKDIR, path))

    def _read(self, path: str) -> str | None:
        """The text of ``path``, None when it does not exist."""
        try:
            data = self.sandbox.read_file(path)
        except FileNotFoundError:
            return None
        except IsADirectoryError:
            raise ToolError(f"{path} is a directory; this command needs a file.") from None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise ToolError(f"{path} is not a UTF-8 text file; inspect it with bash instead.") from None

    def _require(self, path: str) -> str:
        text = self._read(path)
        if text is None:
            raise ToolError(f"The path {path} does not exist. Use `view` on its directory to find the right name.")
        return text

    def _write(self, path: str, old: bytes | None, text: str) -> None:
        try:
            self.sandbox.write_file(path, text.encode("utf-8"))
        except (NotADirectoryError, IsADirectoryError):
            raise ToolError(f"Cannot write {path}: a parent of it is a file, or it is a directory.") from None
        self.history.setdefault(path, []).append(old)

    def _snippet(self, text: str, line: int, count: int) -> str:
        lines = text.split("\n")
        first = max(1, line - self.snippet_lines)
        last = min(len(lines), line + count + self.snippet_lines)
        return _numbered(lines[first - 1 : last], first)

    def run(self, arguments: dict[str, Any]) -> str:
        command = arguments["command"]
        path = self.resolve(arguments["path"])
        return getattr(self, f"_{command}")(path, arguments)

    def _view(self, path: str, arguments: dict[str, Any]) -> str:
        try:
            data = self.sandbox.read_file(path)
        except FileNotFoundError:
            raise ToolError(f"The path {path} does not exist. Use `view` on /testbed to see the files.") from None
        except IsADirectoryError:
            if "view_range" in arguments:
                raise ToolError("view_range applies to files, not directories.") from None
            listing = self.sandbox.exec(
                f"find {quote(path)} -maxdepth 2 -not -path '*/.*' -not -name '__pycache__' | sort | head -n 400",
                timeout=30,
            )
            return f"Files and directories up to 2 levels deep in {path}:\n{listing.output}"
        lines = decode(data).split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        first, last = 1, len(lines)
        if "view_range" in arguments:
            view_range = arguments["view_range"]
            if len(view_range) != 2:
                raise ToolError("view_range must be two integers [first, last], e.g. [10, 40]; last -1 = end of file.")
            first, last = view_range
            last = len(lines) if last == -1 else min(last, len(lines))
            if not 1 <= first <= max(1, len(lines)) or last < first:
                raise ToolError(
                    f"view_range {view_range} is outside the file: it has {len(lines)} lines "
                    "(use [first, last] with 1 <= first <= last <= number of lines, or last = -1)."
                )
        body = _numbered(lines[first - 1 : last], first)
        if len(body) > self.max_view_chars:
            body = body[: self.max_view_chars]
            body = body[: body.rfind("\n") + 1]
            body += "[... file truncated: view a smaller part with view_range=[first, last] ...]\n"
        return f"Here is {path} (lines {first}-{last} of {len(lines)}):\n{body}"

    def _create(self, path: str, arguments: dict[str, Any]) -> str:
        try:
            existing = self._read(path)
        except ToolError:
            raise ToolError(f"{path} already exists and is a directory.") from None
        if existing is not None:
            raise ToolError(f"{path} already exists; `create` only makes new files. Use `str_replace` to edit it.")
        self._write(path, None, arguments["file_text"])
        return f"File created: {path}"

    def _str_replace(self, path: str, arguments: dict[str, Any]) -> str:
        text = self._require(path)
        old, new = arguments["old_str"], arguments.get("new_str", "")
        if old == "":
            raise ToolError("old_str is empty; give the exact text to replace (use `insert` to add text).")
        count = text.count(old)
        if count == 0:
            raise ToolError(
                f"old_str was not found in {path}. It must match the file exactly, whitespace and "
                "indentation included; `view` the file to copy the exact text."
            )
        if count > 1:
            starts, at = [], text.find(old)
            while at != -1:
                starts.append(text.count("\n", 0, at) + 1)
                at = text.find(old, at + 1)
            raise ToolError(
                f"old_str occurs {count} times in {path} (at lines {starts}); it must be unique: "
                "include more surrounding lines in old_str."
            )
        at = text.find(old)
        updated = text[:at] + new + text[at + len(old) :]
        self._write(path, text.encode(), updated)
        line = text.count("\n", 0, at) + 1
        return f"Edited {path}. The changed region:\n" + self._snippet(updated, line, new.count("\n"))

    def _insert(self, path: str, arguments: dict[str, Any]) -> str:
        text = self._require(path)
        lines = text.split("\n")
        has_final_newline = text.endswith("\n")
        count = len(lines) - 1 if has_final_newline else len(lines)
        at = arguments["insert_line"]
        if not 0 <= at <= count:
            raise ToolError(f"insert_line {at} is outside the file: use 0 (top) to {count} (after the last line).")
        new_lines = arguments["new_str"].split("\n")
        body = lines[:count]
        updated_lines = body[:at] + new_lines + body[at:]
        updated = "\n".join(updated_lines) + ("\n" if has_final_newline or not text else "")
        self._write(path, text.encode(), updated)
        return f"Inserted {len(new_lines)} line(s) into {path}. The changed region:\n" + self._snippet(
            updated, at + 1, len(new_lines) - 1
        )

    def _undo_edit(self, path: str, arguments: dict[str, Any]) -> str:
        history = self.history.get(path)
        if not history:
            raise ToolError(f"There is no edit of {path} to undo.")
        previous = history.pop()
        if previous is None:
            self.sandbox.exec(f"rm -f -- {quote(path)}", timeout=30)
            return f"Undid the creation of {path}: the file is removed."
        self.sandbox.write_file(path, previous)
        return f"Undid the last edit of {path}. It now has {decode(previous).count(chr(10))} lines."
