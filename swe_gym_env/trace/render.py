"""The trace tool's observation: each traced process's records under the caps, then the command's output."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from ..backends.base import ExecResult, format_observation
from .options import TraceOptions

log = logging.getLogger(__name__)

MARKER = "#swe-gym-trace"  # the tracer's own lines in a trace file (tracer.MARKER)
OUTPUT_HEAD = 3000  # characters of the command's output shown first: the trace is what this tool is for
OUTPUT_TAIL = 3000  # ... and last (a test run's summary is at its end)


@dataclass(frozen=True)
class ProcessTrace:
    """One Python process's trace file: its header, its records, and how it ended."""

    header: dict[str, Any]
    records: tuple[str, ...]
    capped: bool = False  # the tracer stopped at its line or byte cap
    ended: bool = False  # the process wrote its summary at exit (False: killed, timed out, os._exit)
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def start(self) -> float:
        return float(self.header.get("start", 0.0))

    def describe(self) -> str:
        argv = self.header.get("argv") or ["python"]
        command = " ".join(str(part) for part in argv)
        if len(command) > 120:
            command = command[:117] + "..."
        return (f"process {self.header.get('pid', '?')}: {command} (Python {self.header.get('python', '?')}, "
                f"{self.header.get('engine', '?')})")


def parse_trace_file(text: str) -> ProcessTrace | None:
    """A trace file's text as a :class:`ProcessTrace` (None when it has no header: not a trace file)."""
    lines = text.split("\n")
    if not lines or not lines[0].startswith(MARKER + " {"):
        return None
    try:
        header = json.loads(lines[0][len(MARKER) + 1 :])
    except json.JSONDecodeError:
        return None
    records: list[str] = []
    capped = ended = False
    summary: dict[str, Any] = {}
    for line in lines[1:]:
        if line.startswith(MARKER + " cap"):
            capped = True
        elif line.startswith(MARKER + " end "):
            ended = True
            try:
                summary = json.loads(line[len(MARKER) + 5 :])
            except json.JSONDecodeError:
                summary = {}
        elif line.startswith(MARKER):
            continue
        elif line:
            records.append(line)
    return ProcessTrace(header, tuple(records), capped, ended, summary)


def parse_collected(output: str, separator: str) -> tuple[list[ProcessTrace], int]:
    """The collect script's output as process traces (in start order) and the number of trace files found."""
    processes: list[ProcessTrace] = []
    count = 0
    current: list[str] | None = None

    def close() -> None:
        if current is not None:
            trace = parse_trace_file("\n".join(current))
            if trace is not None:
                processes.append(trace)

    for line in output.split("\n"):
        if line.startswith(separator + " file "):
            close()
            current = []
        elif line.startswith(separator + " count "):
            close()
            current = None
            try:
                count = int(line.split()[-1])
            except ValueError:
                count = 0
        elif current is not None:
            current.append(line)
    processes.sort(key=lambda trace: trace.start)
    return processes, max(count, len(processes))


def _trim_output(result: ExecResult) -> ExecResult:
    text = result.output
    if len(text) <= OUTPUT_HEAD + OUTPUT_TAIL + 200:
        return result
    omitted = len(text) - OUTPUT_HEAD - OUTPUT_TAIL
    text = (text[:OUTPUT_HEAD] + f"\n[... {omitted} characters of output omitted here ...]\n" + text[-OUTPUT_TAIL:])
    return ExecResult(text, result.exit_code, result.timed_out, True, result.duration, result.killed_background,
                      result.output_bytes)


def render(processes: list[ProcessTrace], count: int, result: ExecResult, options: TraceOptions, timeout: float) -> str:
    """The observation text: the traces within ``options``' line and byte caps, then the command's output."""
    traced = [process for process in processes if process.records]
    quiet = count - len(traced)
    parts: list[str] = []
    lines_left, bytes_left = options.max_lines, options.max_bytes
    if traced:
        total = sum(len(process.records) for process in traced)
        folded = sum(int(process.summary.get("folded", 0)) for process in traced)
        hidden = sum(int(process.summary.get("hidden", 0)) for process in traced)
        notes = [f"{total} line{'s' if total != 1 else ''}"]
        if folded:
            notes.append(f"{folded} line events folded in loops")
        if hidden:
            notes.append(f"{hidden} hidden by depth or focus")
        parts.append(f"[trace of the repository's code: {', '.join(notes)}]")
    for number, process in enumerate(traced):
        if lines_left <= 0 or bytes_left <= 0:
            parts.append(f"[{len(traced) - number} more traced process(es) not shown: the cap of "
                         f"{options.max_lines} lines / {options.max_bytes} bytes is spent]")
            break
        if len(traced) > 1:
            parts.append(f"[{process.describe()}]")
        shown = 0
        for record in process.records:
            size = len(record.encode("utf-8", "replace")) + 1
            if lines_left <= 0 or size > bytes_left:
                break
            parts.append(record)
            shown += 1
            lines_left -= 1
            bytes_left -= size
        if process.capped or shown < len(process.records):
            parts.append(
                f"[... trace cap reached ({options.max_lines} lines / {options.max_bytes} bytes): tracing stopped "
                "there and the program ran on untraced; narrow the trace with focus, include or max_depth ...]"
            )
        elif not process.ended:
            parts.append("[the process ended before its trace was complete: killed, timed out or os._exit]")
    if not traced:
        if count:
            parts.append(
                f"[{count} Python process(es) ran but executed no code of the repository outside the tests"
                f"{' that the include patterns select' if options.include else ''}; trace the tests too with "
                "include_tests=true, or choose files with include]"
            )
        else:
            parts.append(
                "[no Python process was traced: the command ran no Python, or ran it without site customization "
                "(python -I, -S or -E), or replaced PYTHONPATH (extend it instead: PYTHONPATH=dir:$PYTHONPATH)]"
            )
    elif quiet > 0:
        parts.append(f"[{quiet} other Python process(es) executed no traced code]")
    body = "\n".join(parts) + "\n"
    return body + "[output of the command]\n" + format_observation(_trim_output(result), timeout)
