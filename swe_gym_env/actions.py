"""Parse an agent's action - model text or an already-parsed call - into one validated tool call.

Accepted text forms (reasoning in ``<think>...</think>`` is ignored):

1. ``<tool_call>{"name": "bash", "arguments": {"command": "ls"}}</tool_call>`` (Hermes/Qwen templates);
2. ``<function=bash><parameter=command>ls</parameter></function>`` (XML function calls);
3. exactly one fenced block, ```` ```bash ... ``` ````, which runs as a bash command.

A dict may be ``{"name", "arguments"}`` or OpenAI's ``{"type": "function", "function": {...}}``, with
arguments as an object or a JSON string. Anything else raises :class:`ActionError` whose message tells
the agent what was wrong and how to write it correctly; the environment turns it into an observation.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from .tools import TOOL_SCHEMAS, validate_arguments

_THINK = re.compile(r"<think>.*?(</think>|$)", re.S)
_TOOL_CALL = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.S)
_FUNCTION = re.compile(r"<function=([^>\s]*)>(.*?)(?:</function>|$)", re.S)
_PARAMETER = re.compile(r"<parameter=([^>\s]*)>(.*?)</parameter>", re.S)
_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\n(.*?)```", re.S)
_SHELL_LANGS = {"", "bash", "sh", "shell", "console", "zsh"}

EXAMPLE = (
    "Call exactly one tool per turn, for example:\n"
    '<tool_call>{"name": "bash", "arguments": {"command": "ls"}}</tool_call>\n'
    "or\n<function=bash><parameter=command>ls</parameter></function>\n"
)
HOW_TO = EXAMPLE + f"Available tools: {', '.join(schema['function']['name'] for schema in TOOL_SCHEMAS)}."


class ActionError(ValueError):
    """The action could not be understood; ``str(error)`` is the feedback for the agent."""


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: Mapping[str, Any] = field(default_factory=dict)
    form: str = "dict"  # which form it came in: dict, tool_call, function, fence


def _loads(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ActionError(f"The {what} is not valid JSON ({error.msg} at position {error.pos}).\n{HOW_TO}") from None


def _from_mapping(data: Any, form: str) -> ToolCall:
    if not isinstance(data, Mapping):
        raise ActionError(f"A tool call must be a JSON object with 'name' and 'arguments'.\n{HOW_TO}")
    if data.get("type") == "function" and isinstance(data.get("function"), Mapping):
        data = data["function"]
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise ActionError(f"The tool call has no 'name'.\n{HOW_TO}")
    arguments = data.get("arguments", data.get("parameters", {}))
    if isinstance(arguments, str):
        arguments = _loads(arguments, "'arguments' string") if arguments.strip() else {}
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, Mapping):
        raise ActionError(f"'arguments' of {name!r} must be a JSON object.\n{HOW_TO}")
    extra_keys = set(data) - {"name", "arguments", "parameters", "id", "type"}
    if extra_keys:
        raise ActionError(
            f"The tool call has unexpected keys {sorted(extra_keys)}; put tool parameters inside 'arguments'.\n{HOW_TO}"
        )
    return ToolCall(name, dict(arguments), form)


def _parse_text(text: str) -> ToolCall:
    text = _THINK.sub("", text)
    calls = _TOOL_CALL.findall(text)
    if calls:
        if len(calls) > 1:
            raise ActionError(f"Found {len(calls)} tool calls; send exactly one per turn.\n{HOW_TO}")
        if not calls[0].strip():
            raise ActionError(f"The <tool_call> block is empty.\n{HOW_TO}")
        return _from_mapping(_loads(calls[0], "content of <tool_call>"), "tool_call")
    functions = _FUNCTION.findall(text)
    if functions:
        if len(functions) > 1:
            raise ActionError(f"Found {len(functions)} function calls; send exactly one per turn.\n{HOW_TO}")
        name, body = functions[0]
        arguments = {key: _strip_newline(value) for key, value in _PARAMETER.findall(body)}
        leftover = _PARAMETER.sub("", body).strip()
        if leftover.startswith("<parameter="):
            raise ActionError(f"A <parameter=...> block is not closed with </parameter>.\n{HOW_TO}")
        return ToolCall(name, arguments, "function")
    fences = [(lang.lower(), body) for lang, body in _FENCE.findall(text)]
    shell = [body for lang, body in fences if lang in _SHELL_LANGS]
    if len(shell) == 1:
        return ToolCall("bash", {"command": shell[0].strip("\n")}, "fence")
    if len(shell) > 1:
        raise ActionError(f"Found {len(shell)} bash code blocks; send exactly one command block per turn.\n{HOW_TO}")
    if not text.strip():
        raise ActionError(f"The action is empty.\n{HOW_TO}")
    raise ActionError(f"No tool call found in the action.\n{HOW_TO}")


def _strip_newline(value: str) -> str:
    """XML parameters are usually written on their own lines: drop one leading and trailing newline."""
    if value.startswith("\n"):
        value = value[1:]
    if value.endswith("\n"):
        value = value[:-1]
    return value


def parse_action(action: Any, tools: Collection[str] | None = None) -> ToolCall:
    """Parse and validate ``action``; raises :class:`ActionError` with feedback for the agent.

    ``tools``, when given, are the names of the tools on offer: a call to any other is an error.
    """
    if isinstance(action, ToolCall):
        call = action
    elif isinstance(action, str):
        call = _parse_text(action)
    elif isinstance(action, Mapping):
        call = _from_mapping(action, "dict")
    elif isinstance(action, (bytes, bytearray)):
        call = _parse_text(bytes(action).decode("utf-8", errors="replace"))
    else:
        raise ActionError(f"An action must be text or a tool-call dict, got {type(action).__name__}.\n{HOW_TO}")
    if tools is not None and call.name not in tools:
        raise ActionError(f"Unknown tool {call.name!r}.\n{EXAMPLE}Available tools: {', '.join(tools)}.")
    try:
        arguments = validate_arguments(call.name, dict(call.arguments))
    except ValueError as error:
        raise ActionError(f"{error}\n{HOW_TO}") from None
    return ToolCall(call.name, arguments, call.form)
