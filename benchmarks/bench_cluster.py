"""The Ray backend against the local Docker backend, side by side on this machine: one command, JSON + table.

    .venv/bin/python -m benchmarks.bench_cluster            # needs root (a second node on a private dockerd)
    .venv/bin/python -m benchmarks.bench_cluster --quick

Measured in one run, on one local Ray cluster (``LocalCluster``: a head node on the host's daemon, a second
node on a private dockerd), interleaved round by round so that load hits both sides alike:

- reset (warm pool, random draws, an episode's worth of steps between resets) and step overhead of a
  trivial command (``true``): ``backend="ray"`` vs ``backend="docker"``, every pool idle (``wait_idle``)
  before each measured block on either side; then resets over explicit ids of one image (a new id each
  time: nothing to predict, both sides prepare a spare on the spot - on Ray behind one actor call);
- episodes/min of a vector env (N envs; each episode 3 ``sleep 0.2`` commands, then submit and grading) on
  the local backend, on Ray with one node, and on Ray with two nodes;
- what one driver costs: its own CPU seconds per step (``time.process_time`` over the whole rollout, env
  threads included), and so the steps/s one driver core can dispatch - the bound past which more nodes
  need more drivers (or processes) rather than more raylets.

Both nodes share this machine's cores, so two simulated nodes cannot give twice the episodes/min here;
the figures that carry over to N real nodes are the per-step overheads and the driver's CPU per step.
Writes ``benchmarks/results/cluster.json`` and ``cluster.md``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import gymnasium as gym

import swe_gym_env  # noqa: F401  (registers SWE-v0)
from benchmarks.common import git_revision, host
from swe_gym_env.backends.ray.local import LocalCluster
from swe_gym_env.env import SWEEnv

RESULTS = Path(__file__).resolve().parent / "results"
SUBMIT = {"name": "submit", "arguments": {}}
TARGETS = {"step": 1.5, "reset": 2.0}  # ray / local, p50


def bash(command: str) -> dict[str, Any]:
    return {"name": "bash", "arguments": {"command": command}}


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50": statistics.median(ordered), "p95": p95, "n": len(ordered)}


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000.0


def bench_single(rounds: int, steps: int) -> dict[str, Any]:
    """Reset and step overhead of one env, Ray vs local, interleaved."""
    envs = {"local": SWEEnv("builtin", backend="docker", max_steps=10_000),
            "ray": SWEEnv("builtin", backend="ray", max_steps=10_000)}
    samples: dict[str, list[float]] = {f"{kind}_{name}": [] for kind in ("reset", "step", "walk") for name in envs}
    try:
        for name, env in envs.items():  # images on every node, pools filled
            env.reset(seed=0)
            env.step(bash("true"))
        for _ in range(rounds):
            for name, env in envs.items():
                # the same protocol for both: every pool idle before a measured block, so that neither side
                # pays for the other's (or its own) refill - an episode lasts longer than a refill
                for other in envs.values():
                    other.backend.wait_idle(120)
                for _ in range(steps):
                    samples[f"step_{name}"].append(timed(lambda env=env: env.step(bash("true"))))
                for other in envs.values():
                    other.backend.wait_idle(120)
                samples[f"reset_{name}"].append(timed(lambda env=env: env.reset()))  # a random draw
        # then a caller walking over explicit ids (one image's tasks, a new id each time): nothing to predict,
        # so both sides serve a spare of the image, prepared on the spot - on Ray behind one actor call
        walk = [task.instance_id for task in envs["local"].tasks if task.image == envs["local"].tasks[0].image]
        for name, env in envs.items():
            env.reset(options={"task_id": walk[-1]})
            for i in range(rounds):
                for other in envs.values():
                    other.backend.wait_idle(120)
                task_id = walk[i % len(walk)]
                samples[f"walk_{name}"].append(timed(lambda env=env, task_id=task_id: env.reset(options={"task_id": task_id})))
        ray_stats = envs["ray"].backend.stats()
    finally:
        for env in envs.values():
            env.close()
    result = {key: summary(values) for key, values in samples.items()}
    result["ray_pool"] = {k: ray_stats.get(k, 0) for k in ("hits", "image_hits", "misses")}
    result["step_ratio"] = result["step_ray"]["p50"] / result["step_local"]["p50"]
    result["reset_ratio"] = result["reset_ray"]["p50"] / result["reset_local"]["p50"]
    result["walk_ratio"] = result["walk_ray"]["p50"] / result["walk_local"]["p50"]
    return result


def bench_episodes(backend: str, num_envs: int, episodes: int, node_ids: list[str] | None = None) -> dict[str, Any]:
    """Episodes/min of a vector env (on ``node_ids`` only, when given), and the driver's CPU per step."""
    shared: Any = backend
    if node_ids is not None:
        from swe_gym_env.backends.ray.backend import RayBackend

        shared = RayBackend(warm_pool=2 * num_envs + 2, node_ids=node_ids)
    envs = gym.make_vec("SWE-v0", num_envs=num_envs, backend=shared, max_steps=1000)
    try:
        envs.reset(seed=num_envs)
        envs.step([bash("true")] * num_envs)
        counters = [0] * num_envs
        done, steps, failures = 0, 0, 0
        cpu0, started = time.process_time(), time.perf_counter()
        while done < episodes:
            actions = [SUBMIT if c == 3 else bash("sleep 0.2") for c in counters]
            resetting = envs._autoreset_envs.copy()
            _, _, terminated, truncated, info = envs.step(actions)
            for i in range(num_envs):
                if resetting[i]:
                    counters[i] = 0
                    continue
                steps += 1
                counters[i] += 1
                if terminated[i] or truncated[i]:
                    done += 1
                    failures += bool(info.get("_failure", [False] * num_envs)[i])
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu0
        used = envs.envs[0].unwrapped.backend
        nodes = len(used.stats().get("nodes", {})) if backend == "ray" else 1
    finally:
        envs.close()
        if shared is not backend:
            shared.close()
    return {"backend": backend, "nodes": nodes, "num_envs": num_envs, "episodes": done,
            "episodes_per_min": done / wall * 60, "steps": steps, "infra_failures": failures,
            "driver_cpu_ms_per_step": cpu / steps * 1000, "driver_steps_per_cpu_s": steps / cpu}


def markdown(report: dict[str, Any]) -> str:
    single = report["single"]
    lines = [
        f"Cluster benchmark - {report['time']} - rev `{report['revision'][:12]}` - {report['host']['cpus']} CPUs, "
        f"local Ray cluster of 2 nodes (the second on a private dockerd)",
        "",
        "| measure | Ray backend p50 / p95 (ms) | local Docker backend p50 / p95 (ms) | ratio | target | met |",
        "|---|---|---|---|---|---|",
    ]
    rows = (("reset", "reset (warm pool, random draws)"), ("step", "step overhead (`true`)"),
            ("walk", "reset (explicit ids walked, no guess: a spare of the image)"))
    for kind, label in rows:
        if f"{kind}_ray" not in single:
            continue
        ray_, local = single[f"{kind}_ray"], single[f"{kind}_local"]
        ratio = single[f"{kind}_ratio"]
        target = TARGETS.get(kind)
        verdict = f"<= {target} | {'yes' if ratio <= target else 'no'}" if target else "- | -"
        lines.append(f"| {label} | {ray_['p50']:.1f} / {ray_['p95']:.1f} | {local['p50']:.1f} / {local['p95']:.1f} | "
                     f"{ratio:.2f} | {verdict} |")
    lines += ["", "| backend | nodes | envs | episodes/min | driver CPU per step (ms) | steps one driver core dispatches per s |",
              "|---|---|---|---|---|---|"]
    for row in report["episodes"]:
        lines.append(f"| {row['backend']} | {row['nodes']} | {row['num_envs']} | {row['episodes_per_min']:.1f} | "
                     f"{row['driver_cpu_ms_per_step']:.2f} | {row['driver_steps_per_cpu_s']:.0f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer rounds and episodes")
    parser.add_argument("--envs", type=int, default=4)
    parser.add_argument("--out", type=Path, default=RESULTS / "cluster.json")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    rounds, steps, episodes = (6, 5, 8) if args.quick else (15, 10, 24)
    load = os.getloadavg()[0]
    with LocalCluster(nodes=2, cpus_per_node=1) as cluster:
        single = bench_single(rounds, steps)
        episode_rows = [
            bench_episodes("docker", args.envs, episodes),
            bench_episodes("ray", args.envs, episodes, node_ids=cluster.node_ids[:1]),
            bench_episodes("ray", args.envs, episodes),
        ]
        nodes = cluster.node_ids
    report = {"time": time.strftime("%Y-%m-%d %H:%M:%S"), "revision": git_revision(), "host": host(load),
              "config": {"rounds": rounds, "steps": steps, "episodes": episodes, "envs": args.envs, "nodes": nodes},
              "single": single, "episodes": episode_rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    table = markdown(report)
    args.out.with_suffix(".md").write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
