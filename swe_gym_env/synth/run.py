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

from ..errors import ConfigError
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
    from .history import synthesize_history
    from .repo import parse_source

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
        if method == "history":
            kind, _, rest = spec.partition(":")
            if kind != "git":
                raise ConfigError(f"history synthesis needs a git:PATH[@REV] source, got {spec!r}")
            path, _, rev = rest.partition("@")
            found, report = synthesize_history(
                path,
                repo_config,
                rev=rev or "HEAD",
                requirements=requirements,
                backend=backend,
                progress=callback,
            )
        else:
            source = (
                parse_source(spec, extra_requirements=requirements)
                if spec.startswith("pypi:")
                else parse_source(spec)
            )
            if requirements and not spec.startswith("pypi:"):
                source = dataclasses.replace(source, requirements=tuple(requirements))
            found, report = synthesize_mutations(source, repo_config, backend=backend, progress=callback)
        report.seconds["total"] = round(time.monotonic() - started, 1)
        tasks += found
        reports.append(report)
        log.info("%s: %d valid tasks in %.0f s", spec, len(found), report.seconds["total"])
    return tasks, reports
