"""``swe-gym-env``: set up images, list, convert, synthesize and validate tasks, and clean up.

    swe-gym-env setup                                  # base + built-in images
    swe-gym-env tasks list verified                    # any source load_tasks reads
    swe-gym-env tasks synth builtin:all --total 210 --out tasks.jsonl
    swe-gym-env tasks synth pypi:python-slugify --max-tasks 20 --out slugify.jsonl
    swe-gym-env tasks synth git:/path/to/repo --method history --out mined.jsonl
    swe-gym-env tasks validate tasks.jsonl             # gold resolves, empty/no-op/broken do not
    swe-gym-env tasks convert old_rows.jsonl new.jsonl --eval-scripts DIR
    swe-gym-env images list | build SOURCE... | validate | prune --keep tasks.jsonl
    swe-gym-env swe-rl mine git:/path/to/repo --out records.jsonl   # single-turn records (SWE-RL)
    swe-gym-env swe-rl mine synth --out synth_records.jsonl
    swe-gym-env swe-rl mine verified --from-image --out verified_records.jsonl
    swe-gym-env swe-rl show records.jsonl --index 0    # a record's prompt and oracle answer
    swe-gym-env gc                                     # remove leftover containers
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from concurrent.futures import ThreadPoolExecutor

from .errors import SweGymError


def _cmd_gc(args: argparse.Namespace) -> int:
    from .backends.docker.cleanup import gc, remove_orphans

    if args.ray:
        from .backends.ray.backend import gc_cluster

        if args.run:
            raise SweGymError("--run and --ray do not go together: a run's containers live on one node")
        counts = gc_cluster(args.ray, all_runs=not args.orphans)
        for node_id, count in counts.items():
            print(f"node {node_id[:12]}: removed {count} container(s)")
        print(f"removed {sum(counts.values())} container(s) on {len(counts)} node(s)")
        return 0
    removed = remove_orphans() if args.orphans else gc(run_id=args.run)
    print(f"removed {removed} container(s)")
    return 0


def _cmd_engine(args: argparse.Namespace) -> int:
    from .backends.docker.engine import ensure_engine

    print(ensure_engine())
    return 0


def _cmd_setup(args: argparse.Namespace) -> int:
    from .backends.docker.builtin_images import ensure_images
    from .backends.docker.engine import ensure_engine

    ensure_engine()

    tags = ensure_images(pull_policy=args.pull_policy)
    from .backends.docker.images import base_image_tag

    print(f"base image: {base_image_tag()}")
    for library, tag in tags.items():
        print(f"{library}: {tag}")
    return 0


def _progress_bars():
    """A progress factory for the synthesis pipeline: one tqdm bar per (source, stage)."""
    from tqdm import tqdm

    bars: dict[tuple[str, str], tqdm] = {}

    def factory(source: str):
        def update(stage: str, done: int, total: int) -> None:
            bar = bars.get((source, stage))
            if bar is None:
                bar = bars[(source, stage)] = tqdm(total=total, desc=f"{source} {stage}", leave=True, dynamic_ncols=True)
            bar.total = max(total, done)
            bar.n = done
            bar.refresh()

        return update

    factory.close = lambda: [bar.close() for bar in bars.values()]  # type: ignore[attr-defined]
    return factory


def _cmd_images_list(args: argparse.Namespace) -> int:
    from .backends.docker.client import get_client
    from .backends.docker.images import list_project_images

    total = 0
    for image in sorted(list_project_images(get_client()), key=lambda i: (i.tags or [""])[0]):
        size = image.attrs.get("Size", 0)
        total += size
        source = (image.labels or {}).get("swe-gym-env.source") or (image.labels or {}).get("swe-gym-env.library", "")
        print(f"{', '.join(image.tags) or image.short_id:62} {size / 1e6:8.1f} MB  {source}")
    print(f"{'(layers are shared: the sum counts the base image once per image)':62} {total / 1e6:8.1f} MB")
    return 0


def _cmd_images_base(args: argparse.Namespace) -> int:
    from .backends.docker.client import get_client
    from .backends.docker.images import ensure_base_image

    print(ensure_base_image(get_client(), args.pull_policy))
    return 0


def _cmd_images_build(args: argparse.Namespace) -> int:
    """Build repository images of sources (``builtin:all``, ``pypi:...``, ``git:...``, ``dir:...``) or of
    the synthesized task files that name them, in parallel, with a progress bar."""
    from concurrent.futures import as_completed

    from tqdm import tqdm

    from .backends.docker.client import get_client
    from .backends.docker.images import ensure_base_image
    from .synth.repo import parse_source
    from .synth.run import expand_sources

    client = get_client()
    print(f"base image: {ensure_base_image(client, args.pull_policy)}")
    specs: list[str] = []
    for item in args.sources or ["builtin:all"]:
        if item.endswith((".json", ".jsonl", ".jsonl.gz", ".parquet")):
            from .tasks.task import load_tasks

            specs += sorted({(t.extra.get("synth") or {}).get("source", "") for t in load_tasks(item)} - {""})
        else:
            specs.append(item)
    specs = expand_sources(specs)
    with ThreadPoolExecutor(max(1, args.workers)) as pool, tqdm(total=len(specs), desc="images") as bar:
        futures = {pool.submit(lambda spec: parse_source(spec).ensure_image(client, args.pull_policy), spec): spec
                   for spec in specs}
        for future in as_completed(futures):
            bar.update(1)
            tqdm.write(f"{futures[future]}: {future.result()}")
    return 0


def _cmd_images_validate(args: argparse.Namespace) -> int:
    """No way back to a fix: repository images hold no .git; a task's reset state holds one commit
    and nothing else (no refs HEAD does not reach, stashes, reflog, unreachable objects, remotes)."""
    from .backends.docker.backend import DockerBackend
    from .backends.docker.images import no_way_back
    from .tasks.task import load_tasks

    tasks = load_tasks(args.source)
    if args.limit:
        by_image: dict[str, list] = {}
        for task in tasks:
            by_image.setdefault(task.image, []).append(task)
        tasks = [task for group in by_image.values() for task in group[: args.limit]]
    backend = DockerBackend(pull_policy=args.pull_policy)
    bad = 0
    try:
        for task in tasks:
            sandbox = backend.start(task, role="audit")
            try:
                problems = no_way_back(sandbox)
            finally:
                sandbox.close()
            bad += bool(problems)
            print(f"{task.instance_id:48} {task.image:50} {'ok' if not problems else 'LEAK: ' + '; '.join(problems)}")
    finally:
        backend.close()
    print(f"{len(tasks) - bad}/{len(tasks)} without a way back to the fix")
    return 1 if bad else 0


def _cmd_images_prune(args: argparse.Namespace) -> int:
    from .backends.docker.builtin_images import repo_image_tag
    from .backends.docker.client import get_client
    from .backends.docker.images import prune_images
    from .tasks.builtin import libraries
    from .tasks.task import load_tasks

    keep = {repo_image_tag(name) for name in libraries()}
    for source in args.keep or []:
        keep |= {task.image for task in load_tasks(source)}
    removed = prune_images(get_client(), keep, dry_run=args.dry_run)
    for name in removed:
        print(("would remove " if args.dry_run else "removed ") + name)
    print(f"{len(removed)} image(s) {'to remove' if args.dry_run else 'removed'}; kept {len(keep)} in use and the base image")
    return 0


def _cmd_tasks_list(args: argparse.Namespace) -> int:
    from .tasks.task import load_tasks

    for task in load_tasks(args.source, split=args.split, family=args.family):
        if args.json:
            print(json.dumps({"instance_id": task.instance_id, "repo": task.repo, "image": task.image,
                              "runnable": task.runnable}))
        else:
            flag = "" if task.runnable else "  (not runnable: see `tasks convert`)"
            print(f"{task.instance_id:44} {task.repo:28} F2P={len(task.FAIL_TO_PASS)} P2P={len(task.PASS_TO_PASS)}{flag}")
    return 0


def _cmd_tasks_convert(args: argparse.Namespace) -> int:
    """Rows of any source -> swebench 5.x JSONL (image, eval_script, log_parser derived where possible)."""
    from collections import Counter

    from .tasks.sources import missing_reasons
    from .tasks.task import load_tasks, write_tasks

    tasks = load_tasks(args.source, split=args.split, family=args.family, eval_scripts=args.eval_scripts)
    write_tasks(tasks, args.out)
    missing = Counter(name for task in tasks for name in missing_reasons(task))
    runnable = sum(task.runnable for task in tasks)
    print(f"wrote {len(tasks)} rows to {args.out}: {runnable} runnable")
    for name, count in missing.items():
        example = next(missing_reasons(t)[name] for t in tasks if name in missing_reasons(t))
        print(f"  {count} row(s) lack {name}: {example}")
    return 0 if runnable == len(tasks) else 1


def _cmd_tasks_synth(args: argparse.Namespace) -> int:
    import dataclasses

    from .synth.pipeline import SynthConfig
    from .synth.run import format_report, synthesize
    from .tasks.task import write_tasks

    config = dataclasses.replace(
        SynthConfig(), max_tasks=args.max_tasks, workers=args.workers, seed=args.seed, canaries=args.canaries,
        gold_repeats=args.gold_repeats, max_per_function=args.max_per_function,
    )
    if args.operators:
        config = dataclasses.replace(config, operators=tuple(args.operators.split(",")))
    bars = _progress_bars()
    try:
        tasks, reports = synthesize(args.sources, config, method=args.method, total=args.total,
                                    requirements=tuple(args.requirements or ()), progress=bars)
    finally:
        bars.close()  # type: ignore[attr-defined]
    for report in reports:
        print(format_report(report))
    if args.report:
        with open(args.report, "w") as handle:
            json.dump([r.as_dict() for r in reports], handle, indent=2)
    if not tasks:
        why = "; ".join(f"{r.repo}: {r.why_nothing()}" for r in reports)
        print(f"no valid task came out, so nothing was written to {args.out}: {why}", file=sys.stderr)
        return 1
    write_tasks(tasks, args.out)
    print(f"wrote {len(tasks)} validated tasks to {args.out}")
    return 0


def _cmd_tasks_validate(args: argparse.Namespace) -> int:
    from concurrent.futures import as_completed

    from tqdm import tqdm

    from .backends.docker.backend import DockerBackend
    from .grading import Grader
    from .grading.validation import validate_task
    from .tasks.task import load_tasks

    tasks = load_tasks(args.source, split=args.split, instance_ids=args.instances or None)
    backend = DockerBackend(pull_policy=args.pull_policy, pool_size=args.workers * 2)
    grader = Grader(backend, timeout=args.timeout)
    bad = 0
    try:
        with ThreadPoolExecutor(args.workers) as pool, tqdm(total=len(tasks), desc="validate") as bar:
            futures = [pool.submit(validate_task, grader, task, repeats=args.repeats, canaries=args.canaries)
                       for task in tasks]
            for future in as_completed(futures):
                result = future.result()
                bar.update(1)
                tqdm.write(f"{result.instance_id:44} {'ok' if result.ok else 'INVALID: ' + '; '.join(result.problems)}")
                bad += not result.ok
    finally:
        backend.close()
    print(f"{len(tasks) - bad}/{len(tasks)} valid")
    return 1 if bad else 0


def _cmd_swe_rl_mine(args: argparse.Namespace) -> int:
    """Single-turn records from a git history (``git:PATH[@REV]``) or from any task source."""
    import dataclasses

    from tqdm import tqdm

    from .errors import ConfigError
    from .swe_rl import MiningConfig, write_records

    config = MiningConfig(related_files=args.related_files, max_changed_files=args.max_changed_files,
                          max_changed_lines=args.max_changed_lines, max_file_bytes=args.max_file_bytes,
                          min_message_chars=args.min_message_chars, merges=args.merges, max_commits=args.max_commits)
    if args.extensions:
        config = dataclasses.replace(config, extensions=tuple(e if e.startswith(".") else f".{e}"
                                                              for e in args.extensions.split(",") if e))
    bar = tqdm(desc="records", unit="change", dynamic_ncols=True)

    def advance(record, reason: str) -> None:
        bar.update(1)

    backend = None
    try:
        if args.source.startswith("git:"):
            from .swe_rl.git_history import mine_history

            if args.checkout or args.from_image:
                raise ConfigError("--checkout and --from-image are for task sources, not git:PATH")
            path, _, rev = args.source[len("git:"):].partition("@")
            records, skipped = mine_history(path, rev or "HEAD", name=args.name, config=config, on_change=advance)
        else:
            from .swe_rl.from_tasks import records_from_tasks
            from .swe_rl.sources import builtin_files, checkout_files, image_files
            from .tasks.task import load_tasks

            if args.checkout and args.from_image:
                raise ConfigError("give --checkout DIR or --from-image, not both")
            tasks = load_tasks(args.source, split=args.split, instance_ids=args.instances or None)
            bar.total = len(tasks)
            if args.checkout:
                source = checkout_files(args.checkout)
            elif args.from_image:
                from .backends.docker.backend import DockerBackend

                backend = DockerBackend(pull_policy=args.pull_policy)
                source = image_files(backend)
            else:
                source = builtin_files
            records, skipped = records_from_tasks(tasks, source, config, name=args.source, on_record=advance)
    finally:
        bar.close()
        if backend is not None:
            backend.close()
    if args.limit:
        records = records[: args.limit]
    write_records(records, args.out)
    print(f"wrote {len(records)} records to {args.out}" + (f"; skipped: {dict(skipped)}" if skipped else ""))
    return 0 if records else 1


def _cmd_swe_rl_show(args: argparse.Namespace) -> int:
    from .swe_rl import load_records, oracle_answer, prompt_messages

    records = load_records(args.records)
    if args.id:
        chosen = [r for r in records if r.id == args.id]
        if not chosen:
            raise SweGymError(f"no record {args.id!r} in {args.records}")
        record = chosen[0]
    else:
        if not 0 <= args.index < len(records):
            raise SweGymError(f"--index {args.index} is out of range: {args.records} has {len(records)} records")
        record = records[args.index]
    for message in prompt_messages(record):
        print(f"===== {message['role']} =====\n{message['content']}\n")
    print(f"===== oracle answer =====\n{oracle_answer(record)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="swe-gym-env", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("gc", help="remove every container the project made (or one run's)")
    p.add_argument("--run", help="only this run id (the label swe-gym-env.run)")
    p.add_argument("--orphans", action="store_true", help="only containers of processes on this host that have died")
    p.add_argument("--ray", nargs="?", const="auto", metavar="ADDRESS",
                   help="sweep every node of a Ray cluster (the one at ADDRESS, default RAY_ADDRESS or a local one)")
    p.set_defaults(func=_cmd_gc)

    p = sub.add_parser("engine", help="make sure a Docker engine runs (installs and starts one as root)")
    p.set_defaults(func=_cmd_engine)

    p = sub.add_parser("setup", help="start the engine if needed, build the base image and the built-in task images")
    p.add_argument("--pull-policy", default="missing", choices=["never", "missing", "always"])
    p.set_defaults(func=_cmd_setup)

    policy = dict(default="missing", choices=["never", "missing", "always"])
    images = sub.add_parser("images", help="list, build, validate or prune images").add_subparsers(
        dest="images_command", required=True)
    p = images.add_parser("list", help="the project's images, their sizes and sources")
    p.set_defaults(func=_cmd_images_list)
    p = images.add_parser("base", help="build (or pull) the base image")
    p.add_argument("--pull-policy", **policy)
    p.set_defaults(func=_cmd_images_base)
    p = images.add_parser("build", help="build repository images (content-tagged: unchanged ones are kept)")
    p.add_argument("sources", nargs="*", help="builtin:all, builtin:NAME, pypi:NAME[==VER], git:PATH[@REV], dir:PATH, "
                   "or a synthesized task file")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--pull-policy", **policy)
    p.set_defaults(func=_cmd_images_build)
    p = images.add_parser("validate", help="check that tasks' images and reset states hold no way back to the fix")
    p.add_argument("source", nargs="?", default="builtin")
    p.add_argument("--limit", type=int, default=0, help="only this many tasks per image")
    p.add_argument("--pull-policy", **policy)
    p.set_defaults(func=_cmd_images_validate)
    p = images.add_parser("prune", help="remove project images no task in use needs")
    p.add_argument("--keep", nargs="*", help="task sources whose images stay (built-in ones always do)")
    p.add_argument("--dry-run", action="store_true")
    p.set_defaults(func=_cmd_images_prune)

    tasks = sub.add_parser("tasks", help="list, convert, synthesize or validate tasks").add_subparsers(
        dest="tasks_command", required=True)
    p = tasks.add_parser("list", help="list the tasks of a source")
    p.add_argument("source", nargs="?", default="builtin")
    p.add_argument("--split", default=None)
    p.add_argument("--family", default=None, help="swe-bench, swe-gym, swe-rebench or swe-smith (else detected)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_tasks_list)
    p = tasks.add_parser("convert", help="write a source as swebench 5.x JSONL, deriving what older rows lack")
    p.add_argument("source")
    p.add_argument("out")
    p.add_argument("--split", default=None)
    p.add_argument("--family", default=None)
    p.add_argument("--eval-scripts", default=None, help="DIR/<instance_id>/eval.sh or DIR/<instance_id>.sh")
    p.set_defaults(func=_cmd_tasks_convert)
    p = tasks.add_parser("synth", help="synthesize validated tasks from repositories")
    p.add_argument("sources", nargs="+", help="builtin:all, builtin:NAME, pypi:NAME[==VER], git:PATH[@REV], dir:PATH")
    p.add_argument("--out", required=True, help="the JSONL to write (.jsonl.gz compresses)")
    p.add_argument("--method", default="mutation", choices=["mutation", "history"])
    p.add_argument("--total", type=int, default=None, help="valid tasks wanted in all, split over the sources")
    p.add_argument("--max-tasks", type=int, default=None, help="valid tasks wanted per source")
    p.add_argument("--max-per-function", type=int, default=4)
    p.add_argument("--operators", default="", help="comma-separated mutation operators (default: all)")
    p.add_argument("--requirements", nargs="*", help="extra requirements for the repository image")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--gold-repeats", type=int, default=1)
    p.add_argument("--canaries", default="sample", choices=["all", "sample", "none"])
    p.add_argument("--report", default=None, help="write the per-source report as JSON here")
    p.set_defaults(func=_cmd_tasks_synth)
    p = tasks.add_parser("validate", help="gold patch resolves; empty, no-op and broken-collection patches do not")
    p.add_argument("source", nargs="?", default="builtin")
    p.add_argument("--split", default=None)
    p.add_argument("--instances", nargs="*", help="only these instance ids")
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--timeout", type=float, default=1800.0)
    p.add_argument("--no-canaries", dest="canaries", action="store_false")
    p.add_argument("--pull-policy", **policy)
    p.set_defaults(func=_cmd_tasks_validate)

    swe_rl = sub.add_parser("swe-rl", help="single-turn records from software evolution (SWE-RL)").add_subparsers(
        dest="swe_rl_command", required=True)
    p = swe_rl.add_parser("mine", help="records from a git history or from tasks, as JSONL")
    p.add_argument("source", help="git:PATH[@REV] (a repository's history), or a task source: builtin, synth, "
                   "a task file, a dataset id")
    p.add_argument("--out", required=True, help="the JSONL to write (.jsonl.gz compresses)")
    p.add_argument("--checkout", help="tasks' files from local clones: the repository, or a folder of owner__name clones")
    p.add_argument("--from-image", action="store_true", help="tasks' files read from their images (Docker)")
    p.add_argument("--related-files", type=int, default=2, help="unchanged related files per context")
    p.add_argument("--max-changed-files", type=int, default=5)
    p.add_argument("--max-changed-lines", type=int, default=200)
    p.add_argument("--max-file-bytes", type=int, default=200_000)
    p.add_argument("--min-message-chars", type=int, default=10)
    p.add_argument("--extensions", default="", help="comma-separated source suffixes (default: common languages)")
    p.add_argument("--merges", action="store_true", help="also mine merge commits (a merged branch as one change)")
    p.add_argument("--max-commits", type=int, default=1000)
    p.add_argument("--name", default=None, help="the repository's name in the records (default local/<dir>)")
    p.add_argument("--split", default=None)
    p.add_argument("--instances", nargs="*", help="only these task ids")
    p.add_argument("--limit", type=int, default=0, help="write at most this many records")
    p.add_argument("--pull-policy", **policy)
    p.set_defaults(func=_cmd_swe_rl_mine)
    p = swe_rl.add_parser("show", help="print a record's prompt and oracle answer")
    p.add_argument("records")
    p.add_argument("--index", type=int, default=0)
    p.add_argument("--id", default=None)
    p.set_defaults(func=_cmd_swe_rl_show)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except SweGymError as error:
        print(f"swe-gym-env: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
