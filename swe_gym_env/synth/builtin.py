"""Rebuild ``tasks.jsonl`` from the specs: patches, eval scripts, measured test lists, validation.

    python -m swe_gym_env.synth.builtin            # build images, measure, validate, write
    python -m swe_gym_env.synth.builtin --offline  # rows without measuring (for a quick look)

Everything but FAIL_TO_PASS/PASS_TO_PASS is derived on the host (the base commit too: the starting
state is committed with a fixed identity and date, so its hash is reproducible); the test lists come
from running the suite in containers without and with the gold patch, three times each to drop
flaky tests. A task whose gold patch does not resolve it, or whose empty or wrong patch does, stops
the run.
"""

from __future__ import annotations

import argparse
import logging
import sys
from concurrent.futures import ThreadPoolExecutor

from ..backends.docker.builtin_images import repo_image_tag
from ..grading.eval_script import pytest_eval_script
from ..patches import make_patch
from ..tasks.builtin import REPO_OWNER, TASKS_FILE, repo_files
from ..tasks.builtin.spec import TaskSpec, edit_files
from ..tasks.task import Task, task_from_row, write_tasks
from .repo import commit_of_files

log = logging.getLogger(__name__)


def is_test_file(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return path.startswith("tests/") and name.startswith("test_") and name.endswith(".py")


def task_for(spec: TaskSpec) -> Task:
    """The row of ``spec`` with everything but the measured test lists."""
    pristine = {name: data.decode() for name, data in repo_files(spec.library).items()}
    buggy = edit_files(pristine, spec.bug)
    with_tests = edit_files(pristine, spec.hidden_tests)
    test_patch = make_patch(pristine, with_tests)
    base = commit_of_files({name: text.encode() for name, text in buggy.items()})
    row = {
        "instance_id": spec.instance_id,
        "repo": f"{REPO_OWNER}/{spec.library}",
        "base_commit": base,
        "problem_statement": spec.problem_statement.strip() + "\n",
        "patch": make_patch(buggy, pristine),
        "test_patch": test_patch,
        "version": "0.1",
        "created_at": "2026-11-21T00:00:00Z",
        "image": repo_image_tag(spec.library),
        "eval_script": pytest_eval_script(base, test_patch, sorted(p for p in pristine if is_test_file(p))),
        "log_parser": "parse_log_pytest",
        "eval_type": "pass_and_fail",
        "setup_patch": make_patch(pristine, buggy),
    }
    return task_from_row(row, where=spec.instance_id)


def wrong_patch(spec: TaskSpec) -> str:
    pristine = {name: data.decode() for name, data in repo_files(spec.library).items()}
    buggy = edit_files(pristine, spec.bug)
    return make_patch(buggy, edit_files(buggy, spec.wrong_fix))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--offline", action="store_true", help="write rows without measuring in containers")
    parser.add_argument("--output", default=str(TASKS_FILE), help="where to write the JSONL")
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement, to drop flaky tests")
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    from ..tasks.builtin.specs import ALL_SPECS

    tasks = [task_for(spec) for spec in ALL_SPECS]
    if args.offline:
        write_tasks(tasks, args.output)
        print(f"wrote {len(tasks)} unmeasured rows to {args.output}")
        return 0

    from ..backends.docker.backend import DockerBackend
    from ..backends.docker.builtin_images import ensure_images
    from ..grading import Grader
    from ..grading.validation import measure_test_lists, validate_task, with_test_cost, with_test_lists

    ensure_images()
    grader = Grader(DockerBackend(pull_policy="never", pool_size=args.workers * 2), timeout=300)
    specs = {spec.instance_id: spec for spec in ALL_SPECS}

    def process(task: Task) -> tuple[Task, list[str]]:
        measured = with_test_lists(task, measure_test_lists(grader, task, repeats=args.repeats))
        result = validate_task(grader, measured, wrong_patches=[wrong_patch(specs[task.instance_id])],
                               repeats=args.repeats)
        return with_test_cost(measured, result.cost), list(result.problems)

    with ThreadPoolExecutor(args.workers) as pool:
        results = list(pool.map(process, tasks))
    failed = False
    for task, problems in results:
        status = "ok" if not problems else "INVALID: " + "; ".join(problems)
        print(f"{task.instance_id:24} F2P={len(task.FAIL_TO_PASS):2} P2P={len(task.PASS_TO_PASS):3}  {status}")
        failed |= bool(problems)
    if failed:
        print("some tasks are invalid; tasks.jsonl was not written", file=sys.stderr)
        return 1
    write_tasks([task for task, _ in results], args.output)
    print(f"wrote {len(results)} validated tasks to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
