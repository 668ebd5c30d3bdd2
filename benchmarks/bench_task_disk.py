"""Disk per task: what a synthesized task costs on top of its repository image, measured end to end.

    .venv/bin/python -m benchmarks.bench_task_disk            # textkit (our library) and python-slugify (PyPI)
    .venv/bin/python -m benchmarks.bench_task_disk --source pypi:isodate --tasks 8

For each repository it measures the repository image (its size, and what it adds on top of the
base image), the Docker engine's image storage (the sum of unique layers, as ``docker system df``
counts it) before the image is built, after, and after ``--tasks`` tasks were synthesized and
validated on it, and the bytes of the task rows themselves. The first task on a repository pays
for the repository image; every later one for its row and any storage the engine gained. A task is its row (setup patch, gold and test patches, eval script, lists) plus the
container it runs in, which is removed after each episode; the writable layer of a container after
reset is measured too, for scale. For comparison: SWE-Gym ships one ~2.6 GB image per task.

The built-in textkit library is measured as ``dir:`` source, so its repository image is its own
(removed and rebuilt here) rather than the built-in one other runs use. Writes
``benchmarks/results/task_disk.json`` (with the git revision and config) and prints a table.
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.common import git_revision

RESULTS = Path(__file__).resolve().parent / "results"
SWE_GYM_BYTES_PER_TASK = 2.6e9  # the SWE-Gym paper's per-instance image size


def layers_size(client: Any) -> int:
    """Bytes of image storage the engine holds (shared layers counted once)."""
    return int(client.df().get("LayersSize") or 0)


def row_bytes(task: Any) -> tuple[int, int]:
    line = (json.dumps(task.to_row(), sort_keys=True) + "\n").encode()
    return len(line), len(gzip.compress(line, mtime=0))


def writable_layer(client: Any, backend: Any, task: Any) -> int:
    """SizeRw of a container after reset (the task state applied; removed with the container)."""
    sandbox = backend.start(task)
    try:
        found = client.api.containers(all=True, filters={"id": sandbox.id}, size=True)
        return int(found[0].get("SizeRw") or 0) if found else 0
    finally:
        sandbox.close()




def measure(spec: str, tasks_wanted: int, workers: int, keep_image: bool) -> dict[str, Any]:
    from swe_gym_env.backends.docker.backend import DockerBackend
    from swe_gym_env.backends.docker.client import get_client
    from swe_gym_env.backends.docker.images import image_exists, image_size
    from swe_gym_env.synth.pipeline import SynthConfig, synthesize_mutations
    from swe_gym_env.synth.repo import parse_source

    client = get_client()
    source = parse_source(spec)
    tag = source.image_tag()
    if (
        image_exists(client, tag)
        and not keep_image
        and not client.containers.list(all=True, filters={"ancestor": tag}, ignore_removed=True)
    ):
        client.images.remove(tag, force=True)
    before_image = layers_size(client)
    started = time.monotonic()
    tag = source.ensure_image(client, "never")
    build_seconds = time.monotonic() - started
    after_image = layers_size(client)
    config = dataclasses.replace(SynthConfig(), max_tasks=tasks_wanted, workers=workers)
    started = time.monotonic()
    tasks, report = synthesize_mutations(source, config)
    synth_seconds = time.monotonic() - started
    after_tasks = layers_size(client)
    if len(tasks) < 2:
        raise SystemExit(f"{spec}: fewer than two tasks synthesized; nothing to measure")
    rows = [row_bytes(task) for task in tasks]
    backend = DockerBackend(pull_policy="never")
    try:
        writable = [writable_layer(client, backend, task) for task in tasks[:3]]
    finally:
        backend.close()
    sizes = image_size(client, tag)
    # the first task pays for what its repository image adds on top of the base image (counted from
    # the image itself: the engine may already share those layers, e.g. with the built-in image)
    first_task = max(sizes["own"], after_image - before_image) + rows[0][0]
    per_task_after_first = ((after_tasks - after_image) + sum(r[0] for r in rows[1:])) / (len(rows) - 1)
    return {
        "source": spec,
        "repository": source.name,
        "repo_image": tag,
        "repo_image_bytes": sizes["size"],
        "repo_image_own_bytes": sizes["own"],
        "repo_image_build_seconds": round(build_seconds, 1),
        "engine_bytes_added_by_repo_image": after_image - before_image,
        "engine_bytes_added_by_tasks": after_tasks - after_image,
        "tasks": len(tasks),
        "synthesis_seconds": round(synth_seconds, 1),
        "row_bytes_mean": round(sum(r[0] for r in rows) / len(rows)),
        "row_bytes_gzip_mean": round(sum(r[1] for r in rows) / len(rows)),
        "writable_layer_after_reset_bytes": writable,
        "first_task_bytes": first_task,
        "per_task_after_first_bytes": round(per_task_after_first),
        "per_task_after_first_under_1MB": per_task_after_first < 1_000_000,
        "synthesis_report": report.as_dict(),
    }


def print_table(results: list[dict[str, Any]]) -> None:
    mb = 1e6
    for r in results:
        print(f"{r['repository']} ({r['source']}): image {r['repo_image']}")
        print(
            f"  repository image          {r['repo_image_bytes'] / mb:9.1f} MB  "
            f"({r['repo_image_own_bytes'] / mb:.2f} MB on top of the base image, built in {r['repo_image_build_seconds']:.0f} s)"
        )
        print(
            f"  engine storage            +{r['engine_bytes_added_by_repo_image'] / mb:.2f} MB for the repository image, "
            f"+{r['engine_bytes_added_by_tasks'] / mb:.2f} MB for {r['tasks']} tasks"
        )
        print(
            f"  task row                  {r['row_bytes_mean'] / 1e3:9.1f} KB  ({r['row_bytes_gzip_mean'] / 1e3:.1f} KB gzipped)"
        )
        print(
            f"  container after reset     {max(r['writable_layer_after_reset_bytes']) / 1e3:9.1f} KB  (removed with the episode)"
        )
        print(f"  first task                {r['first_task_bytes'] / mb:9.2f} MB")
        print(
            f"  each task after the first {r['per_task_after_first_bytes'] / 1e3:9.1f} KB  "
            f"(SWE-Gym: {SWE_GYM_BYTES_PER_TASK / 1e9:.1f} GB per task)"
        )


def main(argv: list[str] | None = None) -> int:
    from swe_gym_env.backends.docker.images import base_image_tag
    from swe_gym_env.tasks.builtin import REPOS_DIR

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--source", action="append", help="a synthesis source (repeatable; see `tasks synth`)"
    )
    parser.add_argument("--tasks", type=int, default=10, help="tasks to synthesize per source")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep-image", action="store_true", help="do not remove the repository image first")
    parser.add_argument("--out", default=str(RESULTS / "task_disk.json"))
    args = parser.parse_args(argv)
    sources = args.source or [f"dir:{REPOS_DIR / 'textkit'}", "pypi:python-slugify"]
    results = [measure(spec, args.tasks, args.workers, args.keep_image) for spec in sources]
    document = {
        "benchmark": "task_disk",
        "git_revision": git_revision(),
        "host": {"python": platform.python_version(), "machine": platform.machine()},
        "config": {"sources": sources, "tasks": args.tasks, "workers": args.workers},
        "base_image": base_image_tag(),
        "swe_gym_bytes_per_task": SWE_GYM_BYTES_PER_TASK,
        "results": results,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(document, indent=2) + "\n")
    print_table(results)
    print(f"wrote {out}")
    return 0 if all(r["per_task_after_first_under_1MB"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
