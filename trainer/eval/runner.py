"""Run agents over a task set, concurrently, and keep every finished episode on disk as it ends.

A run directory holds ``results.jsonl`` (one record per finished episode, appended and fsynced the
moment it ends), ``trajectories/<instance>/sample-<k>.json`` (messages, actions, observations, timing,
token counts), ``predictions.jsonl`` (SWE-bench format, sample 0 of each instance) and ``report.json``.
With ``resume``, episodes already in ``results.jsonl`` are not run again (those the infrastructure
broke are), so an interrupted evaluation finishes with the same report as an uninterrupted one.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from swe_gym_env import Task
from swe_gym_env.backends.factory import make_backend
from swe_gym_env.env import SWEEnv

from .agents import AgentFactory
from .report import build_report, format_report

log = logging.getLogger(__name__)


class Interrupted(Exception):
    """The evaluation was stopped (SIGINT); finished episodes are on disk."""


@dataclass(frozen=True)
class EvalSettings:
    max_steps: int = 250
    num_samples: int = 1
    max_workers: int = 4
    model_name: str = "model"
    backend: str = "docker"  # where sandboxes live: docker (this machine) or ray (a cluster's nodes)
    ray_address: str | None = None  # backend ray: the cluster to join
    pull_policy: str = "missing"
    schedule: str = "cost"  # cost: costliest tasks first (longest-processing-time), so stragglers start early; given


def schedule(todo: list[tuple[Task, int]], how: str) -> list[tuple[Task, int]]:
    """The episodes in the order they start: as given, or the costliest tasks' first (expected test cost,
    see ``swe_gym_env.grading.cost``; tasks of unknown cost go first, as the costliest may be among them)."""
    if how == "given":
        return todo
    if how != "cost":
        raise ValueError(f"schedule must be 'cost' or 'given', got {how!r}")
    from swe_gym_env.grading.cost import CostCache, expected_cost

    cache = CostCache()
    costs = {task.instance_id: expected_cost(task, cache) for task, _ in todo}
    return sorted(todo, key=lambda item: -(costs[item[0].instance_id].wall if costs[item[0].instance_id] else 1e9))


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)


class ResultLog:
    """``results.jsonl``: append one record per finished episode, durably, from any thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        records = []
        for line in self.path.read_text().splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:  # a line cut by a kill: that episode runs again
                log.warning("ignoring a truncated line in %s", self.path)
        return records

    def append(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, sort_keys=True) + "\n"
        with self._lock, open(self.path, "a", encoding="utf-8") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())


def run_episode(env: SWEEnv, task: Task, agent: Any, settings: EvalSettings, stop: threading.Event) -> dict[str, Any] | None:
    """One episode; returns its trajectory, or None when stopped before it ended."""
    started = time.time()
    observation, info = env.reset(options={"task_id": task.instance_id})
    steps: list[dict[str, Any]] = []
    messages = [{"role": "user", "content": observation}]
    reward, terminated, truncated, failure, last = 0.0, False, False, info.get("failure"), info
    while failure is None and not (terminated or truncated):
        if stop.is_set():
            return None
        t0 = time.time()
        try:
            action = agent.act(observation, last)
        except Exception as error:  # the agent's backend broke (endpoint down, OOM): not the agent's choice
            failure = {"type": getattr(error, "kind", "agent"), "message": f"{type(error).__name__}: {error}",
                       "phase": "agent"}
            break
        t1 = time.time()
        observation, reward, terminated, truncated, last = env.step(action)
        t2 = time.time()
        failure = last.get("failure")
        text = action if isinstance(action, str) else json.dumps(action)
        messages += [{"role": "assistant", "content": text}, {"role": "tool", "content": observation}]
        steps.append({"action": action, "observation": observation, "tool": last.get("tool"),
                      "format_error": last.get("format_error", False), "agent_seconds": t1 - t0, "env_seconds": t2 - t1})
    report = last.get("report") or {}
    return {
        "instance_id": task.instance_id,
        "repo": task.repo,
        "resolved": bool(report.get("resolved")) and failure is None,
        "reward": float(reward),
        "status": report.get("status", "failure" if failure else "not_graded"),
        "model_patch": last.get("patch", ""),
        "turns": len(steps),
        "format_errors": int(last.get("format_errors", 0)),
        "tool_errors": int(last.get("tool_errors", 0)),
        "truncated": bool(truncated) and failure is None,
        "failure": failure,
        "prompt_tokens": agent.usage.prompt_tokens,
        "completion_tokens": agent.usage.completion_tokens,
        "started_at": started,
        "duration_s": time.time() - started,
        "messages": messages,
        "steps": steps,
        "report": report,
    }


def run_eval(
    tasks: Sequence[Task],
    factory: AgentFactory,
    run_dir: str | os.PathLike[str],
    *,
    settings: EvalSettings = EvalSettings(),
    env_factory: Callable[[], SWEEnv] | None = None,
    resume: bool = False,
    progress: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Evaluate ``factory``'s agents on ``tasks``; returns the report (also written to ``run_dir``)."""
    root = Path(run_dir)
    if root.exists() and any(root.iterdir()) and not resume:
        raise FileExistsError(f"{root} is not empty: pass resume=True (--resume) to continue that run, or another run dir")
    (root / "trajectories").mkdir(parents=True, exist_ok=True)
    results = ResultLog(root / "results.jsonl")
    done = {(r["instance_id"], int(r["sample"])) for r in results.read() if not r.get("failure")}
    todo = schedule([(task, k) for task in tasks for k in range(settings.num_samples)
                     if (task.instance_id, k) not in done], settings.schedule)
    (root / "config.json").write_text(json.dumps({"model_name": settings.model_name, "agent": factory.name,
                                                  "num_samples": settings.num_samples, "max_steps": settings.max_steps,
                                                  "instances": [t.instance_id for t in tasks]}, indent=2))
    log.info("%d episodes to run (%d already finished)", len(todo), len(done))
    stop = threading.Event()
    local = threading.local()
    envs: list[SWEEnv] = []
    envs_lock = threading.Lock()
    backend = None
    if env_factory is None:  # one backend for every worker: one warm pool, hinted with the tasks to come
        backend = make_backend(settings.backend, num_envs=settings.max_workers, pull_policy=settings.pull_policy,
                               ray_address=settings.ray_address)
    make_env = env_factory or (lambda: SWEEnv(tasks=list(tasks), backend=backend, max_steps=settings.max_steps,
                                              grade_on_truncation=True))
    upcoming = iter([task.instance_id for task, _ in todo])
    hints_lock = threading.Lock()

    def hint(env: SWEEnv, count: int) -> None:
        """Announce the next ``count`` episodes' tasks: the warm pool prepares them while these run."""
        with hints_lock:
            ids = [task_id for _, task_id in zip(range(count), upcoming)]
        if ids:
            try:
                env.prefetch(ids)
            except Exception as error:  # a hint only
                log.debug("prefetch failed: %s", error)

    def work(task: Task, sample: int) -> dict[str, Any] | None:
        if stop.is_set():
            return None
        env = getattr(local, "env", None)
        if env is None:
            env = local.env = make_env()
            with envs_lock:
                first = not envs
                envs.append(env)
            if first:
                hint(env, settings.max_workers)  # the first wave
        hint(env, 1)  # the episode that will follow this one
        trajectory = run_episode(env, task, factory(task, sample), settings, stop)
        if trajectory is None:
            return None
        trajectory.update(sample=sample, model_name_or_path=settings.model_name)
        folder = root / "trajectories" / _safe(task.instance_id)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"sample-{sample}.json").write_text(json.dumps(trajectory, indent=1, default=str))
        record = {k: v for k, v in trajectory.items() if k not in ("messages", "steps", "report")}
        record["report_status"] = trajectory["report"].get("status")
        results.append(record)
        if progress:
            progress(record)
        return record

    pool = ThreadPoolExecutor(max(1, settings.max_workers), thread_name_prefix="eval")
    pending: set[Future] = set()
    try:
        pending = {pool.submit(work, task, k) for task, k in todo}
        while pending:
            finished, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            for future in finished:
                future.result()
    except KeyboardInterrupt:
        stop.set()
        for future in pending:
            future.cancel()
        raise Interrupted(f"interrupted: finished episodes are kept in {root}; rerun with --resume") from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        for env in envs:
            env.close()
        if backend is not None:
            backend.close()
    return finalize(root, tasks, settings)


def finalize(root: Path, tasks: Sequence[Task], settings: EvalSettings) -> dict[str, Any]:
    """Write predictions.jsonl and report.json from everything in results.jsonl."""
    wanted = {task.instance_id for task in tasks}
    records = [r for r in ResultLog(root / "results.jsonl").read() if r["instance_id"] in wanted]
    latest = {(r["instance_id"], int(r["sample"])): r for r in records}
    with open(root / "predictions.jsonl", "w", encoding="utf-8") as handle:
        for (instance_id, sample), record in sorted(latest.items()):
            if sample == 0 and not record.get("failure"):
                handle.write(json.dumps({"instance_id": instance_id, "model_name_or_path": settings.model_name,
                                         "model_patch": record["model_patch"]}) + "\n")
    report = build_report(latest.values(), num_samples=settings.num_samples)
    (root / "report.json").write_text(json.dumps(report, indent=2))
    (root / "report.txt").write_text(format_report(report) + "\n")
    return report
