"""Rollout throughput, side by side: our concurrent rollouts vs TRL's ``environment_factory`` tool loop.

    .venv/bin/python -m benchmarks.bench_rollouts                 # 16 episodes per side, 3 rounds
    .venv/bin/python -m benchmarks.bench_rollouts --model runs/<run>/checkpoints/rft

Both sides run the same model and tokenizer, the same tasks (the built-in training tasks, cycled to
16 episodes), the same sampling (temperature 1, no top-p/top-k), the same turn limit, and the very
same environment objects: the sub-envs of one ``gym.make_vec("SWE-v0")`` (shared Docker backend and
warm pool). Only the loop differs:

- ours (``trainer.rollout.collect_episodes``): every env on its own thread - resets, tool calls and
  grading overlap - and one batched generation for all episodes waiting for the model;
- TRL (``GRPOTrainer(environment_factory=...)``, the loop in ``_generate_and_score_completions``):
  environments are reset one after another, each turn is one batched generation, then the tool
  calls of that turn run one rollout after another, then ``get_reward`` one after another.

The TRL side is timed from its first ``reset`` to its last ``get_reward`` (its log-prob scoring pass,
which is training work rather than rollout work, is timed separately and left out).

**The floor.** Each round also measures, apart, the two things a rollout cannot go faster than:

- *generation alone*: every ``generate`` call of our round replayed on the model with no env - the
  same contexts in the same batches, each row made to produce exactly as many tokens as it did
  (no stop token, budget = its length);
- *the env's CPU time*: every episode of our round replayed with no model - the same task, the same
  actions, all envs at once - and the host's busy CPU seconds over the replay (``/proc/stat``, less
  the idle machine's rate measured just before) divided by the cores: resets, tools, grading, the
  daemon and the containers.

``floor = max(generation alone, env CPU / cores)``; we report our wall time as a multiple of it
(target <= 1.3x) beside the ratio to TRL. Without
``--model`` a tiny model is built and warm-started on the demonstrations until it replays them
half the time, so that episodes run several turns of real tool calls. Rounds alternate the two
sides so that load on a shared machine hits both alike. Writes ``benchmarks/results/rollouts.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import git_revision, host
from swe_gym_env.integrations.trl import TRLSWEEnvironment

RESULTS = Path(__file__).resolve().parent / "results"
log = logging.getLogger("bench_rollouts")




def build_model(args: argparse.Namespace, work: Path, train: list[Any]) -> tuple[Any, Any]:
    """The benchmark's policy: ``--model``, or a tiny model warm-started on the demonstrations."""
    from trainer.chat import ChatFormat
    from trainer.demos import collect_demos, demo_actions, starting_files
    from trainer.envs import make_envs
    from trainer.models import load_checkpoint
    from trainer.rft import SFTSettings, fine_tune
    from trainer.tiny import TinyConfig, build_tiny, tokenizer_corpus

    if args.model:
        return load_checkpoint(args.model)
    extra = [action for task in train for action in demo_actions(task, starting_files(task))]
    model, tokenizer = build_tiny(tokenizer_corpus(train, extra), TinyConfig(seed=args.seed))
    with make_envs(len(train), tasks=train, max_steps=args.max_turns) as envs:
        demos = collect_demos(train, envs, ChatFormat(tokenizer))
    print(f"warm start on {len(demos)} demonstrations ...", flush=True)
    fine_tune(model, tokenizer, demos, SFTSettings(learning_rate=3e-3, epochs=80, stop_at_replay=args.replay),
              work / "warm_start", seed=args.seed)
    return model, tokenizer


class RecordingPolicy:
    """The policy, with every ``generate`` call kept (contexts and tokens produced) and timed."""

    def __init__(self, policy: Any) -> None:
        self.policy = policy
        self.chat = policy.chat
        self.calls: list[tuple[list[list[int]], list[int]]] = []
        self.seconds = 0.0

    def generate(self, contexts: Any, max_new_tokens: Any) -> Any:
        started = time.monotonic()
        out = self.policy.generate(contexts, max_new_tokens)
        self.seconds += time.monotonic() - started
        self.calls.append(([list(c) for c in contexts], [len(g.token_ids) for g in out]))
        return out


def generation_alone(policy: Any, calls: list[tuple[list[list[int]], list[int]]]) -> float:
    """Seconds the model needs for ``calls`` with no env: same batches, same token counts per row."""
    stop_ids = policy.stop_ids
    policy.stop_ids = ()  # no early stop: each row runs exactly its recorded length
    try:
        started = time.monotonic()
        for contexts, lengths in calls:
            rows = [i for i, n in enumerate(lengths) if n > 0]
            if rows:
                policy.generate([contexts[i] for i in rows], [lengths[i] for i in rows])
        return time.monotonic() - started
    finally:
        policy.stop_ids = stop_ids


def _busy_jiffies() -> tuple[int, int]:
    """(busy, total) CPU jiffies of the host since boot, summed over cores."""
    with open("/proc/stat") as handle:
        fields = [int(x) for x in handle.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


def host_cpu_seconds(fn: Any, baseline_s: float = 2.0) -> tuple[float, float]:
    """(busy CPU seconds of the host while ``fn()`` ran, less the idle rate measured just before; wall s)."""
    hz = os.sysconf("SC_CLK_TCK")
    busy0, _ = _busy_jiffies()
    time.sleep(baseline_s)
    busy1, _ = _busy_jiffies()
    idle_rate = (busy1 - busy0) / hz / baseline_s
    started = time.monotonic()
    fn()
    wall = time.monotonic() - started
    busy2, _ = _busy_jiffies()
    return max(0.0, (busy2 - busy1) / hz - idle_rate * wall), wall


def env_alone(envs: list[Any], episodes: list[Any]) -> tuple[float, float]:
    """(host CPU seconds, wall seconds) of ``episodes`` replayed with no model: same tasks, same actions,
    every env on its own thread."""
    from concurrent.futures import ThreadPoolExecutor

    def replay(env: Any, episode: Any) -> None:
        env.reset(options={"task_id": episode.task_id})
        for turn in episode.turns:
            _, _, terminated, truncated, _ = env.step(turn.action)
            if terminated or truncated:
                break

    slots = len(envs)

    def run() -> None:
        with ThreadPoolExecutor(max_workers=slots) as executor:
            def lane(slot: int) -> None:
                for episode in episodes[slot::slots]:
                    replay(envs[slot], episode)
            list(executor.map(lane, range(slots)))

    return host_cpu_seconds(run)


def run_ours(policy: Any, pool: Any, task_ids: list[str], limits: Any, floor: bool = False) -> dict[str, Any]:
    from trainer.rollout import Request, collect_episodes

    recording = RecordingPolicy(policy)
    started = time.monotonic()
    episodes = collect_episodes(recording, pool, [Request(t, i) for i, t in enumerate(task_ids)], limits)
    seconds = time.monotonic() - started
    extra: dict[str, Any] = {}
    if floor:
        cores = os.cpu_count() or 1
        generation = generation_alone(policy, recording.calls)
        env_cpu, env_wall = env_alone(pool.envs, episodes)
        bound = max(generation, env_cpu / cores)
        extra = {
            "generation_in_rollout_s": recording.seconds,
            "generate_calls": len(recording.calls),
            "generated_tokens": sum(sum(lengths) for _, lengths in recording.calls),
            "generation_alone_s": generation,
            "env_cpu_s": env_cpu,
            "env_alone_wall_s": env_wall,
            "cores": cores,
            "floor_s": bound,
            "floor_bound_by": "generation" if generation >= env_cpu / cores else "env CPU",
            "multiple_of_floor": seconds / bound if bound > 0 else float("inf"),
        }
    return {
        **extra,
        "seconds": seconds,
        "episodes": len(episodes),
        "turns": statistics.mean(e.num_turns for e in episodes),
        "model_tokens": statistics.mean(e.model_tokens for e in episodes),
        "resolved": sum(e.resolved for e in episodes),
        "failures": sum(bool(e.failure) for e in episodes),
    }


def make_trl_trainer(model: Any, tokenizer: Any, envs: list[Any], task_ids: list[str], args: argparse.Namespace,
                     work: Path) -> Any:
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    from trainer.device import on_cpu

    handed_out = iter(envs)

    def factory() -> TRLSWEEnvironment:
        return TRLSWEEnvironment(next(handed_out))

    cpu = on_cpu()
    config = GRPOConfig(
        output_dir=str(work / "trl"),
        per_device_train_batch_size=len(task_ids),
        num_generations=2,
        max_completion_length=args.max_context_tokens,
        max_tool_calling_iterations=args.max_turns - 1,
        temperature=1.0,
        top_p=1.0,
        top_k=0,
        use_cpu=cpu,
        bf16=not cpu,
        activation_checkpointing=False,
        report_to=[],
        disable_tqdm=True,
        seed=args.seed,
    )
    rows = [{"prompt": [{"role": "user", "content": ""}], "task_id": task_id} for task_id in task_ids]
    trainer = GRPOTrainer(model=model, args=config, processing_class=tokenizer,
                          train_dataset=Dataset.from_list(rows), environment_factory=factory)
    trainer._bench_rows = rows  # type: ignore[attr-defined]
    return trainer


def run_trl(trainer: Any) -> dict[str, Any]:
    """One batch of TRL's environment_factory rollouts; scoring forward passes are timed apart."""
    scoring = [0.0]
    original = trainer._get_per_token_logps_and_entropies

    def timed(*a: Any, **k: Any) -> Any:
        started = time.monotonic()
        try:
            return original(*a, **k)
        finally:
            scoring[0] += time.monotonic() - started

    trainer._get_per_token_logps_and_entropies = timed
    trainer.model.train()
    inputs = [dict(row) for row in trainer._bench_rows]
    started = time.monotonic()
    output = trainer._generate_and_score_completions(inputs)
    total = time.monotonic() - started
    trainer._get_per_token_logps_and_entropies = original
    environments = trainer.environments
    mask = output.get("tool_mask")
    model_tokens = (output["completion_mask"] * (mask if mask is not None else 1)).sum(dim=1).float().mean().item()
    return {
        "seconds": total - scoring[0],
        "seconds_with_scoring": total,
        "episodes": len(inputs),
        "turns": statistics.mean(e.turns for e in environments),
        "model_tokens": model_tokens,
        "resolved": sum(e.reward >= 1.0 for e in environments),
    }


def markdown(report: dict[str, Any]) -> str:
    """The README table."""
    rounds, fl = report["rounds"], report["floor"]
    turns = statistics.median(r[side]["turns"] for r in rounds for side in ("ours", "trl"))
    return (
        f"Rollout benchmark - {report['time']} - rev `{report['revision'][:12]}` - {report['host']['cpus']} CPUs\n\n"
        f"| {report['episodes']} episodes, same model, tasks and envs | wall time (median of {len(rounds)} rounds) |"
        " ratio |\n|---|---|---|\n"
        f"| ours: concurrent envs, one batched generation per turn | {report['ours_seconds']:.1f} s | 1.00 |\n"
        f"| TRL `environment_factory` tool loop | {report['trl_environment_factory_seconds']:.1f} s | "
        f"{report['ratio_trl_over_ours']:.2f}x |\n\n"
        f"Median {turns:.1f} turns per episode; per-round ratios "
        f"{', '.join(f'{r:.2f}' for r in report['ratio_per_round'])}.\n\n"
        f"| the floor (medians) | seconds |\n|---|---|\n"
        f"| generation alone (same batches, same token counts, no env) | {fl['generation_alone_s']:.1f} |\n"
        f"| env CPU (same episodes replayed with no model) / {fl['cores']} cores | "
        f"{fl['env_cpu_s'] / fl['cores']:.1f} |\n"
        f"| floor = the larger | {fl['floor_s']:.1f} |\n"
        f"| ours | {report['ours_seconds']:.1f} = **{fl['multiple_of_floor']:.2f}x the floor** (target <= 1.3x) |\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="model path (default: build and warm-start the tiny model)")
    parser.add_argument("--episodes", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of both sides (medians reported)")
    parser.add_argument("--max-turns", type=int, default=6)
    parser.add_argument("--max-context-tokens", type=int, default=1024)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--replay", type=float, default=0.5, help="warm start until this replay probability")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(RESULTS / "rollouts.json"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    import gymnasium as gym
    import torch
    import transformers

    import swe_gym_env
    from trainer.config import load_config
    from trainer.device import configure_threads
    from trainer.envs import EnvPool
    from trainer.policy import HFPolicy, Sampling
    from trainer.rollout import RolloutLimits
    from trainer.tasks import split_tasks

    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    configure_threads(1)
    torch.manual_seed(args.seed)
    load_before = os.getloadavg()[0]
    train, _ = split_tasks(swe_gym_env.load_tasks("builtin"), load_config(None))
    task_ids = [train[i % len(train)].instance_id for i in range(args.episodes)]
    with tempfile.TemporaryDirectory(prefix="bench_rollouts_") as tmp:
        work = Path(tmp)
        model, tokenizer = build_model(args, work, train)
        vector_env = gym.make_vec("SWE-v0", num_envs=args.episodes, autoreset_mode="Disabled", tasks=train,
                                  max_steps=args.max_turns)
        pool = EnvPool.from_vector_env(vector_env)
        policy = HFPolicy(model, tokenizer, Sampling(max_new_tokens=args.max_new_tokens), seed=args.seed)
        limits = RolloutLimits(args.max_turns, args.max_context_tokens, args.max_new_tokens)
        trainer = make_trl_trainer(model, tokenizer, list(vector_env.envs), task_ids, args, work)
        rounds = []
        try:
            run_ours(policy, pool, task_ids[: min(4, len(task_ids))], limits)  # warm-up: images, caches, pool
            for number in range(args.rounds):
                order = ("ours", "trl") if number % 2 == 0 else ("trl", "ours")
                result = {}
                for side in order:
                    result[side] = (run_ours(policy, pool, task_ids, limits, floor=True) if side == "ours"
                                    else run_trl(trainer))
                    print(f"round {number + 1} {side:>4}: {result[side]['seconds']:6.1f} s, "
                          f"{result[side]['turns']:.1f} turns/episode, {result[side]['resolved']} resolved", flush=True)
                    if side == "ours":
                        r = result[side]
                        print(f"        floor: generation alone {r['generation_alone_s']:.1f} s, env CPU "
                              f"{r['env_cpu_s']:.1f} s / {r['cores']} cores -> {r['floor_s']:.1f} s "
                              f"({r['floor_bound_by']}); ours = {r['multiple_of_floor']:.2f}x the floor", flush=True)
                rounds.append(result)
        finally:
            pool.close()
    ours = statistics.median(r["ours"]["seconds"] for r in rounds)
    trl = statistics.median(r["trl"]["seconds"] for r in rounds)
    floor = {key: statistics.median(r["ours"][key] for r in rounds)
             for key in ("generation_alone_s", "env_cpu_s", "floor_s", "multiple_of_floor", "generation_in_rollout_s")}
    report = {
        "benchmark": "rollouts",
        "revision": git_revision(),
        "time": time.strftime("%Y-%m-%d %H:%M:%S"),
        "host": host(load_before),
        "config": {k: v for k, v in vars(args).items() if k != "out"},
        "episodes": args.episodes,
        "rounds": rounds,
        "ours_seconds": ours,
        "trl_environment_factory_seconds": trl,
        "ratio_trl_over_ours": trl / ours,
        "ratio_per_round": [r["trl"]["seconds"] / r["ours"]["seconds"] for r in rounds],
        "floor": {**floor, "cores": os.cpu_count(), "target_multiple": 1.3,
                  "met": floor["multiple_of_floor"] <= 1.3},
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2))
    Path(args.out).with_suffix(".md").write_text(markdown(report))
    print(f"\n{args.episodes} episodes: ours {ours:.1f} s, TRL environment_factory {trl:.1f} s "
          f"-> TRL takes {trl / ours:.2f}x as long; floor {floor['floor_s']:.1f} s (generation alone "
          f"{floor['generation_alone_s']:.1f} s, env CPU {floor['env_cpu_s']:.1f} s / {os.cpu_count()} cores) -> ours "
          f"{floor['multiple_of_floor']:.2f}x the floor (target <= 1.3x) (written to {args.out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
