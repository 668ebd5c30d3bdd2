"""What every benchmark records next to its numbers."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def git_revision() -> str:
    """HEAD of the checkout the benchmark ran from, ``+dirty`` when tracked files were changed."""
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True, cwd=ROOT)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True, check=False, cwd=ROOT)
        return rev.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def host(load_before: float) -> dict[str, object]:
    """The machine and its load (1-minute average) before the benchmark and now."""
    return {"cpus": os.cpu_count(), "platform": platform.platform(), "load_before": load_before,
            "load_after": os.getloadavg()[0]}


def default_signals() -> None:
    """``preexec_fn`` for a child that is sent signals: SIGINT, SIGTERM and SIGHUP back to their defaults
    (a parent started with ``nohup`` or in the background of a non-interactive shell ignores some of them,
    and children inherit that, so the signal would never reach Python's handlers)."""
    import signal

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
