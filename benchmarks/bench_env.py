"""Environment speed, side by side with the raw container runtime: one command, JSON + table + plot.

    .venv/bin/python -m benchmarks.bench_env            # full run (a few minutes)
    .venv/bin/python -m benchmarks.bench_env --quick    # fewer samples, N up to 8

Measured in the same run, interleaved so that load on a shared machine hits both sides alike (medians
and p95; ratios against the baseline):

- reset, each way a caller resets (random draws; an explicit task id repeated; explicit ids cycling over
  the tasks of one image with no hint; explicit ids announced with ``prefetch``), 0.5 s of episode apart,
  vs a plain ``containers.run`` + the first ``exec_run`` - and, for context, our isolated cold run and
  reset without a pool. Each way is a phase of its own (so that one way's reset does not overlap the
  pool work another way's reset set off), in two alternating blocks with the baselines' phase;
- step overhead of a trivial command (``true``): ``env.step`` (session shell) vs one raw
  ``exec_run`` vs the ``docker exec`` CLI - and, for context, ``env.step`` with ``exec_mode="stateless"``;
- grading: ``Grader.grade`` (warm pool, patch, eval script, log parsing) vs running the same eval
  script directly in a running container that already holds the patch;
- throughput of ``gym.make_vec`` for N envs: steps/s on ``sleep 0.2`` commands, episodes/min on full
  episodes (4 commands, then submit and grading), and memory per env.

Writes ``benchmarks/results/env.json`` (with the git revision, config and host), ``env.md`` and
``env.png``. Nothing here asserts a timing: the tests never do.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import gymnasium as gym

import swe_gym_env
from benchmarks.common import git_revision
from swe_gym_env.backends.base import WORKDIR
from swe_gym_env.backends.docker.backend import DockerBackend
from swe_gym_env.backends.docker.client import get_client, labels_for
from swe_gym_env.backends.docker.network import ensure_network
from swe_gym_env.backends.docker.sandbox import CONTAINER_ENV
from swe_gym_env.env import SWEEnv
from swe_gym_env.grading import Grader

RESULTS = Path(__file__).resolve().parent / "results"
SLEEP = "sleep 0.2"
TARGETS = {
    "reset": ("reset p50 <= 1/10 of a plain run + first exec (random, repeated id, hinted ids)", 0.1),
    "cycle": ("reset p50 <= 3/10 of a plain run + first exec (ids over one image, no hint)", 0.3),
    "step": ("step overhead p50 <= 1/5 of one exec_run", 0.2),
    "grading": ("grading <= 1.2x the same tests run directly", 1.2),
    "scaling": ("steps/s with 8 envs >= 5x with 1 env", 5.0),
}


def bash(command: str) -> dict[str, Any]:
    return {"name": "bash", "arguments": {"command": command}}


SUBMIT = {"name": "submit", "arguments": {}}


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50": statistics.median(ordered), "p95": p95, "min": ordered[0], "n": len(ordered)}


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000.0


def plain_container(client, image: str):
    """The issue's reference: a plain containers.run (no limits, no network) + the first exec."""
    container = client.containers.run(
        image, ["sleep", "infinity"], detach=True, labels=labels_for("bench"), network_mode="none"
    )
    container.exec_run(["true"])
    return container


def fresh_container(client, image: str):
    """What a reset costs without a pool, at its minimum: containers.run (our isolation) + the first exec."""
    network = ensure_network(client, "internal")
    container = client.containers.run(
        image,
        ["sleep", "infinity"],
        detach=True,
        init=True,
        labels=labels_for("bench"),
        network_mode=network,
        mem_limit="2g",
        memswap_limit="2g",
        pids_limit=512,
        cap_drop=["ALL"],
        security_opt=["no-new-privileges"],
        working_dir=WORKDIR,
        environment=CONTAINER_ENV,
    )
    container.exec_run(["true"])
    return container


# -- reset -----------------------------------------------------------------------------------------
RESET_WAYS = {
    "random": "random draws (reset())",
    "repeat": "an explicit id repeated",
    "cycle": "explicit ids over one image's tasks, no hint",
    "hint": "explicit ids announced with prefetch() (at each episode start, the reset after next)",
}


def bench_reset(rounds: int, gap: float = 0.5) -> dict[str, Any]:
    """Reset p50/p95 for each way of calling reset, side by side with a plain cold container run and
    our isolated cold run in the same run; ``gap`` seconds of episode between resets."""
    client = get_client()
    synth = swe_gym_env.load_tasks("synth")
    image = max({t.image for t in synth}, key=lambda i: sum(t.image == i for t in synth))
    same_image = [t for t in synth if t.image == image][:24]
    builtin = swe_gym_env.load_tasks("builtin")
    envs = {
        "random": SWEEnv(builtin, max_steps=1000),
        "repeat": SWEEnv(builtin, max_steps=1000),
        "cycle": SWEEnv(same_image, max_steps=1000),
        "hint": SWEEnv(same_image, max_steps=1000),
    }
    cold = SWEEnv(builtin, max_steps=1000, warm_pool=0)
    repeat_id, ids = builtin[0].instance_id, [t.instance_id for t in same_image]
    samples: dict[str, list[float]] = {name: [] for name in (*envs, "fresh_run", "plain_run", "no_pool")}
    warm: dict[str, list[str]] = {name: [] for name in envs}
    options = {
        "random": lambda i: None,
        "repeat": lambda i: {"task_id": repeat_id},
        "cycle": lambda i: {"task_id": ids[i % len(ids)]},
        "hint": lambda i: {"task_id": ids[i % len(ids)]},
    }
    try:
        for name, env in envs.items():
            if name == "hint":
                env.prefetch([ids[1]])
            env.reset(seed=0, options=options[name](0))
        cold.reset(seed=0)
        # Each way runs as its own phase of resets ``gap`` s apart (a step, then the gap: an episode's worth
        # of time), so that one way's reset never overlaps the pool work another way's reset set off; the
        # baselines get a phase of their own, gap s apart too. Two blocks of all phases, alternating, so
        # that drifting load hits every way alike.
        blocks = 2
        per_block = max(1, rounds // blocks)
        counters = {name: 0 for name in envs}
        for _ in range(blocks):
            for name, env in envs.items():
                for _ in range(per_block):
                    counters[name] += 1
                    i = counters[name]
                    if name == "hint":  # at each episode's start, the caller announces the reset after next
                        env.prefetch([ids[(i + 1) % len(ids)]])
                    env.step(bash("true"))
                    time.sleep(gap)
                    box: dict[str, Any] = {}
                    samples[name].append(timed(lambda env=env, name=name, i=i: box.update(
                        info=env.reset(options=options[name](i))[1])))
                    warm[name].append(box["info"].get("warm", "?"))
            for i in range(per_block):
                task_image = builtin[i % len(builtin)].image
                box = {}
                time.sleep(gap)
                samples["fresh_run"].append(timed(lambda: box.setdefault("c", fresh_container(client, task_image))))
                box["c"].remove(force=True)
                box.clear()
                time.sleep(gap)
                samples["plain_run"].append(timed(lambda: box.setdefault("c", plain_container(client, task_image))))
                box["c"].remove(force=True)
                cold.step(bash("true"))
                time.sleep(gap)
                samples["no_pool"].append(timed(cold.reset))
        stats = {name: env.stats() for name, env in envs.items()}
    finally:
        for env in (*envs.values(), cold):
            env.close()
    result: dict[str, Any] = {name: summary(values) for name, values in samples.items()}
    baseline = result["plain_run"]["p50"]
    result["ratios"] = {name: result[name]["p50"] / baseline for name in envs}
    result["warm"] = {name: {kind: kinds.count(kind) for kind in sorted(set(kinds))} for name, kinds in warm.items()}
    result["pool"] = {name: {k: stats[name].get(k, 0) for k in ("hits", "image_hits", "misses")} for name in envs}
    result["ratio"] = max(result["ratios"][name] for name in ("random", "repeat", "hint"))
    result["cycle_ratio"] = result["ratios"]["cycle"]
    result["gap_s"] = gap
    return result


# -- step overhead ---------------------------------------------------------------------------------
def bench_step(rounds: int) -> dict[str, Any]:
    tasks = swe_gym_env.load_tasks("builtin")
    env = SWEEnv(tasks, max_steps=10 * rounds + 10, warm_pool=0)
    stateless = SWEEnv(tasks, max_steps=10 * rounds + 10, warm_pool=0, exec_mode="stateless")
    env.reset(seed=0)
    stateless.reset(seed=0)
    container = env.sandbox.container
    samples: dict[str, list[float]] = {"env_step": [], "exec_run": [], "docker_cli": [], "env_step_stateless": []}
    try:
        for _ in range(3):  # warm up every path
            env.step(bash("true"))
            container.exec_run(["true"])
        for _ in range(rounds):
            samples["env_step"].append(timed(lambda: env.step(bash("true"))))
            samples["exec_run"].append(timed(lambda: container.exec_run(["true"])))
            samples["docker_cli"].append(
                timed(lambda: subprocess.run(["docker", "exec", container.id, "true"], check=True))
            )
            samples["env_step_stateless"].append(timed(lambda: stateless.step(bash("true"))))
    finally:
        env.close()
        stateless.close()
    result = {name: summary(values) for name, values in samples.items()}
    result["ratio"] = result["env_step"]["p50"] / result["exec_run"]["p50"]
    return result


# -- grading ---------------------------------------------------------------------------------------
def bench_grading(rounds: int) -> dict[str, Any]:
    from swebench.harness.utils import make_test_spec

    task = swe_gym_env.load_tasks("builtin")[0]
    backend = DockerBackend(warm_pool=2)
    grader = Grader(backend, timeout=600)
    direct = DockerBackend(warm_pool=0)
    box = direct.start(task, role="grader")
    box.write_file("/tmp/.gold.patch", task.patch.encode())
    box.exec("git apply /tmp/.gold.patch", timeout=60)
    box.write_file("/tmp/.eval.sh", make_test_spec(task.to_row()).eval_script.encode())
    container = box.container
    samples: dict[str, list[float]] = {"grade": [], "direct": []}
    resolved = []
    try:
        container.exec_run(["bash", "/tmp/.eval.sh"], workdir=WORKDIR)  # warm the page cache
        for _ in range(rounds):
            backend.prefetch(task)  # as the agent's reset does, an episode before grading
            backend.pool.wait_idle(120)
            report = {}
            samples["grade"].append(timed(lambda: report.setdefault("r", grader.grade(task, task.patch))))
            resolved.append(report["r"].resolved)
            samples["direct"].append(timed(lambda: container.exec_run(["bash", "/tmp/.eval.sh"], workdir=WORKDIR)))
    finally:
        box.close()
        backend.close()
        direct.close()
    result = {name: summary(values) for name, values in samples.items()}
    result["resolved"] = all(resolved)
    result["ratio"] = result["grade"]["p50"] / result["direct"]["p50"]
    return result


# -- throughput ------------------------------------------------------------------------------------
def container_memory(sandboxes: list[Any]) -> list[int]:
    usage = []
    for sandbox in sandboxes:
        try:
            stats = sandbox.container.client.api.stats(sandbox.id, stream=False, one_shot=True)
            usage.append(int(stats["memory_stats"].get("usage") or 0))
        except Exception:  # a container gone mid-measure: skip it
            continue
    return usage


def bench_throughput(n: int, steps: int, episodes: int) -> dict[str, Any]:
    envs = gym.make_vec("SWE-v0", num_envs=n, max_steps=1000)
    try:
        envs.reset(seed=n)
        envs.step([bash("true")] * n)  # warm up
        envs.backend.pool.wait_idle(300)  # steady state: the pool has made what the resets asked for
        started = time.perf_counter()
        for _ in range(steps):
            envs.step([bash(SLEEP)] * n)
        sleep_wall = time.perf_counter() - started
        sandboxes = [env.sandbox for env in envs.envs if env.sandbox is not None]
        agent_memory = container_memory(sandboxes)
        pool = envs.backend.pool
        stock = [item.memory for items in pool._ready.values() for item in items if item.memory]
        # full episodes: 4 commands, then submit (graded by the hidden tests)
        envs.reset(seed=100 + n)
        counters = [0] * n
        done_episodes, real_steps, failures = 0, 0, 0
        started = time.perf_counter()
        while done_episodes < episodes * n:
            actions = [SUBMIT if c == 4 else bash(SLEEP) for c in counters]
            resetting = envs._autoreset_envs.copy()
            _, _, terminated, truncated, info = envs.step(actions)
            for i in range(n):
                if resetting[i]:
                    counters[i] = 0
                    continue
                real_steps += 1
                counters[i] += 1
                if terminated[i] or truncated[i]:
                    done_episodes += 1
                    failures += bool(info.get("_failure", [False] * n)[i])
        episode_wall = time.perf_counter() - started
    finally:
        envs.close()
    return {
        "num_envs": n,
        "steps_per_s": steps * n / sleep_wall,
        "step_wall_s": sleep_wall / steps,
        "episodes_per_min": done_episodes / episode_wall * 60,
        "episode_steps_per_s": real_steps / episode_wall,
        "episodes": done_episodes,
        "infra_failures": failures,
        "memory_per_env_mb": (statistics.mean(agent_memory) / 2**20) if agent_memory else None,
        "pool_memory_per_env_mb": (sum(stock) / n / 2**20) if stock else 0.0,
    }


# -- report ----------------------------------------------------------------------------------------


def verdicts(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out = {}
    for key in ("reset", "step", "grading"):
        text, bound = TARGETS[key]
        ratio = results[key]["ratio"]
        out[key] = {"target": text, "ratio": ratio, "bound": bound, "met": ratio <= bound}
    text, bound = TARGETS["cycle"]
    ratio = results["reset"]["cycle_ratio"]
    out["cycle"] = {"target": text, "ratio": ratio, "bound": bound, "met": ratio <= bound}
    by_n = {row["num_envs"]: row for row in results["throughput"]}
    if 1 in by_n and 8 in by_n:
        text, bound = TARGETS["scaling"]
        ratio = by_n[8]["steps_per_s"] / by_n[1]["steps_per_s"]
        out["scaling"] = {"target": text, "ratio": ratio, "bound": bound, "met": ratio >= bound}
    return out


def markdown(results: dict[str, Any]) -> str:
    def ms(entry: dict[str, float]) -> str:
        return f"{entry['p50']:.1f} / {entry['p95']:.1f}"

    r, s, g = results["reset"], results["step"], results["grading"]
    v = results["verdicts"]
    lines = [
        f"Environment benchmark - {results['started']} - rev `{results['git_revision']}` - "
        f"{results['host']['cpus']} CPUs, load avg {results['host']['load_before']} -> {results['host']['load_after']}",
        "",
        "| measure | ours p50 / p95 (ms) | baseline p50 / p95 (ms) | ratio | target | met |",
        "|---|---|---|---|---|---|",
    ]
    for way, label in RESET_WAYS.items():
        target = TARGETS["cycle" if way == "cycle" else "reset"][1]
        ratio = r["ratios"][way]
        lines.append(f"| reset, {label} | {ms(r[way])} | plain run + first exec: {ms(r['plain_run'])} | "
                     f"{ratio:.3f} | <= {target} | {'yes' if ratio <= target else 'NO'} |")
    lines += [
        f"| step overhead (`true`) | env.step: {ms(s['env_step'])} | exec_run: {ms(s['exec_run'])} | "
        f"{s['ratio']:.3f} | <= 0.2 | {'yes' if v['step']['met'] else 'NO'} |",
        f"| grading | grade(): {ms(g['grade'])} | same tests, direct exec_run: {ms(g['direct'])} | "
        f"{g['ratio']:.2f} | <= 1.2 | {'yes' if v['grading']['met'] else 'NO'} |",
    ]
    if "scaling" in v:
        by_n = {row["num_envs"]: row for row in results["throughput"]}
        lines.append(
            f"| throughput (`{SLEEP}`) | 8 envs: {by_n[8]['steps_per_s']:.1f} steps/s | "
            f"1 env: {by_n[1]['steps_per_s']:.1f} steps/s | {v['scaling']['ratio']:.2f}x | >= 5x | "
            f"{'yes' if v['scaling']['met'] else 'NO'} |"
        )
    lines += [
        "",
        f"Context: resets {r['gap_s']:g} s apart (plus a step); reset without a pool {ms(r['no_pool'])} ms; fresh run "
        f"with our isolation (limits, internal network) {ms(r['fresh_run'])} ms, plain run (no limits, no network) "
        f"{ms(r['plain_run'])} ms; how resets were served (task / image spare / cold): "
        + ", ".join(f"{way} {p['hits']}/{p['image_hits']}/{p['misses']}" for way, p in r["pool"].items())
        + f"; `docker exec` CLI {ms(s['docker_cli'])} ms; env.step stateless {ms(s['env_step_stateless'])} ms.",
        "",
        "| envs | steps/s (`sleep 0.2`) | s per vector step | episodes/min (4 steps + submit + grading) "
        "| infra failures | container MB per env | pool MB per env |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in results["throughput"]:
        memory = f"{row['memory_per_env_mb']:.1f}" if row["memory_per_env_mb"] is not None else "-"
        lines.append(
            f"| {row['num_envs']} | {row['steps_per_s']:.1f} | {row['step_wall_s']:.3f} | "
            f"{row['episodes_per_min']:.1f} | {row['infra_failures']} | {memory} | {row['pool_memory_per_env_mb']:.1f} |"
        )
    return "\n".join(lines) + "\n"


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    panels = [
        (axes[0][0], "reset (ms)", results["reset"], [*RESET_WAYS, "no_pool", "fresh_run", "plain_run"]),
        (axes[0][1], "trivial step (ms)", results["step"], ["env_step", "env_step_stateless", "exec_run", "docker_cli"]),
        (axes[1][0], "grading (ms)", results["grading"], ["grade", "direct"]),
    ]
    for ax, title, data, names in panels:
        p50 = [data[name]["p50"] for name in names]
        p95 = [data[name]["p95"] for name in names]
        x = range(len(names))
        ax.bar([i - 0.2 for i in x], p50, width=0.4, label="p50")
        ax.bar([i + 0.2 for i in x], p95, width=0.4, label="p95")
        ax.set_xticks(list(x), names, rotation=15)
        if title != "grading (ms)":
            ax.set_yscale("log")
        ax.set_title(title)
        ax.legend()
    ax = axes[1][1]
    rows = results["throughput"]
    ns = [row["num_envs"] for row in rows]
    ax.plot(ns, [row["steps_per_s"] for row in rows], "o-", label="steps/s (sleep 0.2)")
    if rows:
        ax.plot(ns, [rows[0]["steps_per_s"] * n / rows[0]["num_envs"] for n in ns], "--", label="linear")
    ax.plot(ns, [row["episodes_per_min"] for row in rows], "s-", label="episodes/min")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("envs")
    ax.set_title("throughput")
    ax.legend()
    fig.suptitle(f"swe_gym_env speed - rev {results['git_revision'][:12]}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def _sections(only: set[str], config: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "reset" in only:
        print("reset ...", flush=True)
        out["reset"] = bench_reset(config["reset_rounds"])
    if "step" in only:
        print("step overhead ...", flush=True)
        out["step"] = bench_step(config["step_rounds"])
    if "grading" in only:
        print("grading ...", flush=True)
        out["grading"] = bench_grading(config["grading_rounds"])
    if "throughput" in only:
        out["throughput"] = []
        for n in config["sizes"]:
            print(f"throughput, {n} envs ...", flush=True)
            out["throughput"].append(bench_throughput(n, config["throughput_steps"], config["episodes_per_env"]))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer samples and N up to 8")
    parser.add_argument("--sizes", default=None, help="comma-separated env counts (default 1,2,4,8,16)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--only", default=None, help="comma-separated sections: reset,step,grading,throughput")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    sizes = [int(x) for x in (args.sizes or ("1,2,4,8" if args.quick else "1,2,4,8,16")).split(",")]
    config = {
        "reset_rounds": 8 if args.quick else 20,
        "step_rounds": 30 if args.quick else 60,
        "grading_rounds": 3 if args.quick else 6,
        "throughput_steps": 8 if args.quick else 15,
        "episodes_per_env": 1 if args.quick else 2,
        "sizes": sizes,
        "sleep_command": SLEEP,
    }
    results: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "git_revision": git_revision(),
        "config": config,
        "host": {
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "docker": get_client().version().get("Version"),
            "load_before": round(os.getloadavg()[0], 2),
        },
    }
    only = set((args.only or "reset,step,grading,throughput").split(","))
    if only != {"reset", "step", "grading", "throughput"}:
        print(json.dumps(_sections(only, config), indent=2, default=str))
        return 0
    results.update(_sections(only, config))
    results["host"]["load_after"] = round(os.getloadavg()[0], 2)
    results["verdicts"] = verdicts(results)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "env.json").write_text(json.dumps(results, indent=2) + "\n")
    table = markdown(results)
    (args.out / "env.md").write_text(table)
    plot(results, args.out / "env.png")
    print(table)
    print(f"wrote {args.out / 'env.json'}, env.md, env.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
