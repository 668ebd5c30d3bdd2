"""One call from source specs to a validated task set: what ``swe-gym-env tasks synth`` runs.

Source specs: ``builtin:all`` (the project's three libraries), ``builtin:NAME``, ``pypi:NAME[==VER]``,
``git:PATH[@REV]``, ``dir:PATH``. ``method="mutation"`` injects bugs; ``method="history"`` mines the
commits of ``git:`` sources. Repositories are processed one after another (each run already uses
``config.workers`` containers); every task is validated before it is returned.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import ConfigError, TaskError
from ..tasks.task import Task
from .pipeline import SynthConfig, SynthReport, synthesize_mutations

log = logging.getLogger(__name__)

ProgressFactory = Callable[[str], Callable[[str, int, int], None]]


def expand_sources(specs: Sequence[str]) -> list[str]:
    """``builtin:all`` -> one spec per built-in library; everything else as given."""
    from ..tasks.builtin import libraries

    out: list[str] = []
    for spec in specs:
        if spec in ("builtin", "builtin:all"):
            out += [f"builtin:{name}" for name in libraries()]
        else:
            out.append(spec)
    return out


def synthesize(
    specs: Sequence[str],
    config: SynthConfig = SynthConfig(),
    *,
    method: str = "mutation",
    total: int | None = None,
    requirements: tuple[str, ...] = (),
    progress: ProgressFactory | None = None,
    backend: Any = None,
) -> tuple[list[Task], list[SynthReport]]:
    """Tasks from every source; ``total`` splits a wanted total over the sources (overriding
    ``config.max_tasks``): each gets an even share of what is still missing."""
    if method not in ("mutation", "history"):
        raise ConfigError(f"method must be 'mutation' or 'history', got {method!r}")
    sources = expand_sources(specs)
    if not sources:
        raise ConfigError("no sources given")
    tasks: list[Task] = []
    reports: list[SynthReport] = []
    for index, spec in enumerate(sources):
        started = time.monotonic()
        repo_config = config
        if total is not None:  # an even share of what is still missing: a short source's deficit carries on
            left = max(0, total - len(tasks))
            remaining = len(sources) - index
            repo_config = dataclasses.replace(config, max_tasks=-(-left // remaining))
        callback = progress(spec) if progress else (lambda stage, done, count: None)
        try:
            found, report = _synthesize_one(spec, repo_config, method, requirements, callback, backend)
        except TaskError as error:  # this source cannot give tasks: say why, go on with the others
            log.warning("%s: %s", spec, error)
            found, report = [], SynthReport(spec, error=str(error))
        report.seconds["total"] = round(time.monotonic() - started, 1)
        tasks += found
        reports.append(report)
        log.info("%s: %d valid tasks in %.0f s", spec, len(found), report.seconds["total"])
    return tasks, reports


def _synthesize_one(
    spec: str, repo_config: SynthConfig, method: str, requirements: tuple[str, ...], callback: Any, backend: Any
) -> tuple[list[Task], SynthReport]:
    from .history import synthesize_history
    from .repo import parse_source

    if method == "history":
        kind, _, rest = spec.partition(":")
        if kind != "git":
            raise ConfigError(f"history synthesis needs a git:PATH[@REV] source, got {spec!r}")
        path, _, rev = rest.partition("@")
        return synthesize_history(
            path, repo_config, rev=rev or "HEAD", requirements=requirements, backend=backend, progress=callback
        )
    source = parse_source(spec, extra_requirements=requirements) if spec.startswith("pypi:") else parse_source(spec)
    if requirements and not spec.startswith("pypi:"):
        source = dataclasses.replace(source, requirements=tuple(requirements))
    return synthesize_mutations(source, repo_config, backend=backend, progress=callback)


def format_report(report: SynthReport) -> str:
    """A source's yield, stage by stage, each rejection reason with its count and first example."""
    rate = f" ({report.valid / report.kept:.0%})" if report.kept else ""
    seconds = ", ".join(f"{k} {v:.0f}s" for k, v in report.seconds.items())
    lines = [
        f"{report.repo}: {report.valid} valid of {report.kept} kept{rate}, {report.screened} screened of "
        f"{report.candidates} candidates" + (f"; {report.stable_tests} of {report.tests} tests stable" if report.tests else "")
        + f" ({seconds})"
    ]
    lines += [f"  note: {note}" for note in report.notes]
    if not report.valid:
        lines.append(f"  no valid task: {report.why_nothing()}")
    if report.rejected:
        width = max(map(len, report.rejected))
        lines.append("  rejected:")
        for reason, count in report.rejected.most_common():
            lines.append(f"    {reason:<{width}} {count:>5}  e.g. {report.examples.get(reason, '')[:300]}")
    return "\n".join(lines)
