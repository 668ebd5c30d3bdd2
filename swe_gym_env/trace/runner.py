"""Run one command traced: put the tracer in place in the sandbox, run the command, collect, clean up.

Three commands through :meth:`Sandbox.exec`, so any sandbox that runs bash gets the tool:

1. write the tracer, its ``sitecustomize`` bootstrap and the config into a fresh directory under
   ``/tmp`` with a random name (outside ``/testbed``: nothing reaches the agent's diff or the grading);
2. run the agent's command in a subshell with that directory first on ``PYTHONPATH``, under the same
   timeout, output and process limits as ``bash`` (every Python process of the command traces itself
   into a file of its own there); the subshell keeps the command's cd and variables out of the
   terminal state;
3. read the trace files (bounded) and remove the directory - also when the command failed or timed out.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import shlex
import textwrap
from dataclasses import dataclass
from pathlib import Path

from ..backends.base import WORKDIR, ExecResult, Limits, Sandbox
from ..errors import InfraError
from ..tools import ToolError
from .options import TraceOptions
from .render import ProcessTrace, parse_collected, render

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
TRACE_DIR_PREFIX = "/tmp/.swe-gym-trace-"
SETUP_TIMEOUT = 30.0  # writing three small files or reading them back; a sandbox that needs longer is broken
MAX_FILES = 16  # trace files read back per command (one per Python process); the rest are counted


def tracer_files(options: TraceOptions, root: str) -> dict[str, bytes]:
    """The files the tracer needs in its directory, by name."""
    return {
        "sitecustomize.py": (HERE / "bootstrap.py").read_bytes(),
        "swe_gym_tracer.py": (HERE / "tracer.py").read_bytes(),
        "config.json": json.dumps(options.config(root)).encode(),
    }


def install_script(directory: str, files: dict[str, bytes]) -> str:
    """Shell code that creates ``directory`` (it must not exist) holding ``files``; prints ``ok`` at the end."""
    quoted = shlex.quote(directory)
    parts = ["set -e", "umask 022", f"builtin command mkdir -- {quoted}"]
    for name, data in files.items():
        encoded = "\n".join(textwrap.wrap(base64.b64encode(data).decode(), 76))
        parts.append(f"builtin command base64 -d > {quoted}/{name} <<'SWE_GYM_TRACE_EOF'\n{encoded}\nSWE_GYM_TRACE_EOF")
    parts.append("builtin echo ok")
    return "(\n" + "\n".join(parts) + "\n)\n"  # a subshell: nothing of it reaches the terminal state


def traced_command(directory: str, command: str) -> str:
    """The agent's command in a subshell, with the tracer's directory first on PYTHONPATH."""
    return (
        f"( builtin export PYTHONPATH={shlex.quote(directory)}\"${{PYTHONPATH:+:$PYTHONPATH}}\"\n"
        f"builtin eval {shlex.quote(command)}\n)"
    )


def collect_script(directory: str, separator: str, per_file: int) -> str:
    """Shell code that prints up to MAX_FILES trace files (``per_file`` bytes each), then removes ``directory``."""
    quoted = shlex.quote(directory)
    return (  # in a subshell, like the others: its cd and variables stay out of the terminal state
        "(\n"
        f"builtin cd -- {quoted} 2>/dev/null || {{ builtin echo '{separator} count 0'; exit 0; }}\n"
        "n=0\n"
        "for f in trace-*.txt; do\n"
        "  [ -f \"$f\" ] || continue\n"
        "  n=$((n + 1))\n"
        f"  if [ \"$n\" -le {MAX_FILES} ]; then builtin printf '%s file %s\\n' '{separator}' \"$f\"; "
        f"builtin command head -c {per_file} -- \"$f\"; builtin echo; fi\n"
        "done\n"
        f"builtin printf '%s count %s\\n' '{separator}' \"$n\"\n"
        f"builtin cd / && builtin command rm -rf -- {quoted}\n"
        ")\n"
    )


@dataclass(frozen=True)
class TraceOutcome:
    """The observation, the command's own result, and the traces of its Python processes."""

    observation: str
    result: ExecResult
    processes: tuple[ProcessTrace, ...]
    process_count: int  # trace files found (Python processes that started tracing), shown or not

    @property
    def lines(self) -> int:
        return sum(len(process.records) for process in self.processes)


def run_trace(
    sandbox: Sandbox,
    options: TraceOptions,
    limits: Limits | None = None,
    *,
    root: str = WORKDIR,
    timeout: float | None = None,
) -> TraceOutcome:
    """Run ``options.command`` in ``sandbox`` traced; raises :class:`ToolError` when the tracer cannot be put in
    place (the agent's own sandbox is broken: no /tmp, no base64) and :class:`InfraError` as ``exec`` does."""
    limits = limits or Limits()
    directory = TRACE_DIR_PREFIX + secrets.token_hex(8)
    setup = sandbox.exec(install_script(directory, tracer_files(options, root)), timeout=SETUP_TIMEOUT, max_output=4096)
    if not setup.ok or "ok" not in setup.output.split():
        sandbox.exec(f"builtin command rm -rf -- {shlex.quote(directory)}", timeout=SETUP_TIMEOUT)
        raise ToolError(f"the tracer could not be put in place under /tmp (exit {setup.exit_code}): {setup.output[-500:]}")
    separator = "SWEGYM-TRACE-" + secrets.token_hex(8)
    per_file = options.max_bytes + 4096  # the tracer caps its records; the header and markers fit in the rest
    try:
        result = sandbox.exec(traced_command(directory, options.command), timeout=timeout)
    except InfraError:
        try:
            sandbox.exec(collect_script(directory, separator, 0), timeout=SETUP_TIMEOUT, max_output=4096)
        except InfraError:
            pass
        raise
    collected = sandbox.exec(
        collect_script(directory, separator, per_file), timeout=SETUP_TIMEOUT, max_output=MAX_FILES * (per_file + 200)
    )
    processes, count = parse_collected(collected.output, separator)
    observation = render(processes, count, result, options, timeout or limits.command_timeout)
    return TraceOutcome(observation, result, tuple(processes), count)
