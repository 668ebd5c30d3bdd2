"""Each task's expected test cost, and the limits it sets (seed: expected-cost bounds, arXiv 1711.08847).

Resource use is estimated ahead and bounded: a task's tests take about as long as they took before.

- **Where the estimate comes from**: validation writes the gold run's cost into the row
  (``extra["swe_gym_test_cost"]``: wall and CPU seconds, the wall time's spread over repeats, how many
  runs); a row without it is measured at its first grading that resolves (a run of the real suite, not
  of a patch that broke the import), and cached by instance id and image in
  ``$SWE_GYM_CACHE_DIR/test_cost.json`` (default ``~/.cache/swe-gym-env``).
- **The grading timeout** (:func:`grading_bound`): ``min(CAP, max(FLOOR, FACTOR x wall + SIGMAS x
  spread))`` - 60 s at least, so a loaded machine does not fail a one-second suite, five times the
  expected wall time plus six standard deviations above that, and never more than SWE-bench's 1800 s,
  which is also what applies when nothing is known.
- **Command timeouts** (:func:`command_timeout`): an agent's commands get at least twice the expected
  test time (plus 30 s), so running the task's own suite is never cut short by the default; a
  command timeout set explicitly (``command_timeout=`` or a ``Limits`` other than the default) is kept.
"""

from __future__ import annotations

import json
import logging
import math
import os
import statistics
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

COST_KEY = "swe_gym_test_cost"  # the row's column (in Task.extra)
FLOOR = 60.0  # seconds: the least a grading may take before it is ended
FACTOR = 5.0  # times the expected wall time
SIGMAS = 6.0  # standard deviations of the wall time on top
CAP = 1800.0  # SWE-bench's own timeout: the most, and what applies when nothing is known
HISTORY = 20  # measurements kept per task in the cache


@dataclass(frozen=True)
class TestCost:
    """What a task's tests cost: mean wall seconds, its standard deviation, CPU seconds, over ``runs``."""

    __test__ = False  # not a pytest test class

    wall: float
    wall_std: float = 0.0
    cpu: float | None = None
    runs: int = 1
    source: str = "row"  # row (measured by validation) or cache (measured at grading)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_runs(cls, walls: list[float], cpus: list[float], source: str) -> TestCost:
        return cls(
            wall=statistics.fmean(walls),
            wall_std=statistics.pstdev(walls) if len(walls) > 1 else 0.0,
            cpu=statistics.fmean(cpus) if cpus else None,
            runs=len(walls),
            source=source,
        )


@dataclass(frozen=True)
class Bound:
    """A time limit and the reason for it (the grading report shows both)."""

    seconds: float
    rule: str
    expected: TestCost | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"seconds": round(self.seconds, 1), "rule": self.rule,
                "expected": self.expected.as_dict() if self.expected else None}


def row_cost(task: Any) -> TestCost | None:
    """The cost validation recorded in ``task``'s row, if any."""
    value = (getattr(task, "extra", None) or {}).get(COST_KEY)
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return None
    if not isinstance(value, dict) or not isinstance(value.get("wall"), (int, float)):
        return None
    return TestCost(float(value["wall"]), float(value.get("wall_std") or 0.0),
                    float(value["cpu"]) if isinstance(value.get("cpu"), (int, float)) else None,
                    int(value.get("runs") or 1), "row")


class CostCache:
    """Measured test costs by instance id and image, in a JSON file shared by the processes of a machine."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        root = os.environ.get("SWE_GYM_CACHE_DIR") or Path.home() / ".cache" / "swe-gym-env"
        self.path = Path(path) if path is not None else Path(root) / "test_cost.json"
        self._lock = threading.Lock()

    @staticmethod
    def key(task: Any) -> str:
        return f"{task.instance_id}@{task.image}"

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return data if isinstance(data, dict) else {}
        except (OSError, json.JSONDecodeError):
            return {}

    def get(self, task: Any) -> TestCost | None:
        entry = self._load().get(self.key(task))
        if not entry or not entry.get("wall"):
            return None
        return TestCost.from_runs(entry["wall"], entry.get("cpu") or [], "cache")

    def record(self, task: Any, wall: float, cpu: float | None) -> None:
        """Add one measurement of ``task``'s tests (a run that resolved it)."""
        with self._lock:
            data = self._load()
            entry = data.setdefault(self.key(task), {"wall": [], "cpu": []})
            entry["wall"] = (entry.get("wall") or [])[-(HISTORY - 1):] + [round(wall, 3)]
            if cpu is not None:
                entry["cpu"] = (entry.get("cpu") or [])[-(HISTORY - 1):] + [round(cpu, 3)]
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
                tmp.write_text(json.dumps(data, sort_keys=True), encoding="utf-8")
                tmp.replace(self.path)
            except OSError as error:  # a read-only home: the bound stays at what is known
                log.warning("could not write the test cost cache %s: %s", self.path, error)


def expected_cost(task: Any, cache: CostCache | None = None) -> TestCost | None:
    """The row's recorded cost, else the cache's, else None."""
    return row_cost(task) or (cache.get(task) if cache is not None else None)


def grading_bound(cost: TestCost | None, *, floor: float = FLOOR, factor: float = FACTOR, sigmas: float = SIGMAS,
                  cap: float = CAP) -> Bound:
    """The grading timeout for a task whose tests cost ``cost`` (see the module docstring)."""
    if cost is None:
        return Bound(cap, f"{cap:g} s (SWE-bench's timeout): nothing is known of this task's test cost")
    raw = factor * cost.wall + sigmas * cost.wall_std
    seconds = min(cap, max(floor, raw))
    rule = (f"max({floor:g} s, {factor:g} x {cost.wall:.2f} s + {sigmas:g} x {cost.wall_std:.2f} s) = "
            f"{max(floor, raw):.1f} s, capped at {cap:g} s; expected cost from the {cost.source} "
            f"({cost.runs} run{'s' if cost.runs != 1 else ''})")
    return Bound(seconds, rule, cost)


def command_timeout(default: float, cost: TestCost | None, cap: float = CAP, *, explicit: bool = False) -> float:
    """An agent command's timeout: ``default``, raised to twice the expected test time plus 30 s.

    A timeout the user chose (``explicit``) is kept as given: it is a decision, not a default.
    """
    if cost is None or explicit:
        return default
    return min(cap, max(default, math.ceil(2 * cost.wall + 30)))
