"""The trace tool's overhead: a test file run traced vs plain, side by side in the same container.

    .venv/bin/python -m benchmarks.bench_trace                  # 7 rounds per library
    .venv/bin/python -m benchmarks.bench_trace --rounds 15

For each built-in library, one container at a task's starting state runs, alternately, the plain
command (``python3 -m pytest -q -p no:cacheprovider <test file>`` through ``Sandbox.exec``, like the
``bash`` tool) and the same command through the ``trace`` tool with its default options (putting the
tracer in place, the traced run, collecting and removing the traces). Reported per test file: the
medians of the plain run, the traced run's command alone and the whole tool call, and their ratios to
plain; also a whole test suite (``tests/``) with tracing uncapped (``max_lines`` 1000), where the
tracer follows more of the run, and the same focused on one function, where the cap is never reached
and the whole run is traced (the worst case). Writes ``benchmarks/results/trace_overhead.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.common import git_revision, host

RESULTS = Path(__file__).resolve().parent / "results"
CASES = (  # (task, test target, max_lines, focus)
    ("swe-gym__textkit-1", "tests/test_wrap.py", 200, None),
    ("swe-gym__intervals-1", "tests/test_ops.py", 200, None),
    ("swe-gym__tinyini-1", "tests/test_parse.py", 200, None),
    ("swe-gym__intervals-1", "tests", 1000, None),
    ("swe-gym__textkit-1", "tests", 1000, "truncate"),  # the cap is never reached: traced from start to end
)


def measure(backend: Any, task: Any, target: str, max_lines: int, focus: str | None, rounds: int) -> dict[str, Any]:
    from swe_gym_env.trace import TraceOptions, run_trace

    command = f"python3 -m pytest -q -p no:cacheprovider {target}"
    sandbox = backend.start(task)
    try:
        sandbox.exec(command)  # warm the file cache and the bytecode caches for both sides
        plain, traced_command, tool = [], [], []
        lines = processes = 0
        for _ in range(rounds):
            result = sandbox.exec(command)
            assert result.exit_code in (0, 1), result.output[-2000:]
            plain.append(result.duration)
            started = time.monotonic()
            outcome = run_trace(sandbox, TraceOptions(command=command, max_lines=max_lines, focus=focus))
            tool.append(time.monotonic() - started)
            traced_command.append(outcome.result.duration)
            lines, processes = outcome.lines, outcome.process_count
    finally:
        sandbox.close()
    p, t, w = (statistics.median(values) for values in (plain, traced_command, tool))
    return {
        "task": task.instance_id, "target": target, "command": command, "max_lines": max_lines, "focus": focus,
        "rounds": rounds, "capped": any(process.capped for process in outcome.processes),
        "plain_s": plain, "traced_command_s": traced_command, "tool_s": tool,
        "plain_median_s": p, "traced_command_median_s": t, "tool_median_s": w,
        "traced_command_ratio": t / p, "tool_ratio": w / p, "trace_lines": lines, "processes": processes,
    }


def markdown(report: dict[str, Any]) -> str:
    lines = [
        (f"Trace overhead - {report['time']} - rev `{report['revision'][:12]}` - {report['host']['cpus']} CPUs, "
         f"load avg {report['host']['load_before']:.2f} -> {report['host']['load_after']:.2f}, "
         f"medians of {report['rounds']} alternating rounds\n"),
        "| command (built-in container, Python 3.11, settrace) | plain | traced command | ratio | whole `trace` call | ratio | trace lines |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in report["cases"]:
        lines.append(
            f"| `pytest -q {row['target']}` (max_lines {row['max_lines']}"
            f"{', focus ' + row['focus'] if row['focus'] else ''}{', cap reached' if row['capped'] else ''}) | {row['plain_median_s']:.2f} s | "
            f"{row['traced_command_median_s']:.2f} s | {row['traced_command_ratio']:.2f}x | {row['tool_median_s']:.2f} s | "
            f"{row['tool_ratio']:.2f}x | {row['trace_lines']} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--out", default=str(RESULTS / "trace_overhead.json"))
    args = parser.parse_args(argv)
    import swe_gym_env
    from swe_gym_env.backends.factory import make_backend

    tasks = {task.instance_id: task for task in swe_gym_env.load_tasks("builtin")}
    load_before = os.getloadavg()[0]
    backend = make_backend("docker", warm_pool=0)
    try:
        cases = []
        for task_id, target, max_lines, focus in CASES:
            row = measure(backend, tasks[task_id], target, max_lines, focus, args.rounds)
            print(f"{target:>22} (max_lines {max_lines}): plain {row['plain_median_s']:.2f} s, traced command "
                  f"{row['traced_command_median_s']:.2f} s ({row['traced_command_ratio']:.2f}x), trace call "
                  f"{row['tool_median_s']:.2f} s ({row['tool_ratio']:.2f}x), {row['trace_lines']} lines", flush=True)
            cases.append(row)
    finally:
        backend.close()
    report = {"benchmark": "trace_overhead", "revision": git_revision(), "time": time.strftime("%Y-%m-%d %H:%M:%S"),
              "host": host(load_before), "rounds": args.rounds, "cases": cases}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2))
    Path(args.out).with_suffix(".md").write_text(markdown(report))
    print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
