"""Synthesis on real repositories: popular PyPI packages that ship their tests in the sdist.

    nice -n 10 .venv/bin/python -m benchmarks.bench_synth_real                  # the packages below
    nice -n 10 .venv/bin/python -m benchmarks.bench_synth_real --tasks 12 --only pypi:inflection==0.5.1 --out a.json
    .venv/bin/python -m benchmarks.bench_synth_real --combine first.json a.json      # one table of both runs

Each package is synthesized end to end (``swe-gym-env tasks synth`` with ``--max-tasks``), one after
another: sdist, repository image, baseline, mutants screened in containers, every kept mutant
validated in fresh containers. Reported per package: candidates / screened / kept / valid, the share
of kept mutants that validate (target >= 60%), valid tasks (target >= 10 where the package has at
least 10 covered functions), the rejection reasons with an example each, wall time per valid task,
and disk per task (the task row; the repository image is shared by all of a repository's tasks).

The baseline is the previous naming of tests, where lists held whole pytest node ids: a task
listing an id that swebench's parser reads back split (a space in its parameters) fails its own
gold patch under that naming, so its valid count is the valid tasks none of whose listed tests the
parser cuts short (counted from the same run, not rerun). Writes ``benchmarks/results/synth_real.json``
and ``synth_real.md``.
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import json
import os
import time
from pathlib import Path
from typing import Any

from benchmarks.common import git_revision, host

RESULTS = Path(__file__).resolve().parent / "results"

# (source, test style, extra requirements for the tests). Versions pinned so reruns compare.
PACKAGES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("pypi:inflection==0.5.1", "parametrize-heavy (ids with spaces and punctuation), one module at the root", ()),
    ("pypi:more-itertools==11.2.1", "unittest.TestCase classes, many small functions", ()),
    ("pypi:cachetools==8.0.2", "src/ layout, unittest classes with mixins", ()),
    ("pypi:humanize==4.17.0", "src/ layout, extra test dependency (freezegun)", ("freezegun==1.5.5",)),
    ("pypi:toolz==1.2.0", "tests inside the package, doctests run from a test module", ()),
    ("pypi:tabulate==0.10.0", "test/ with a helper module, CLI tests in a subprocess", ()),
)


def split_by_parser(name: str) -> bool:
    """A listed name swebench's parser read back cut short (a space inside the parameters)."""
    return name.count("[") > name.count("]")


def run_package(spec: str, style: str, extra: tuple[str, ...], tasks_wanted: int, workers: int) -> dict[str, Any]:
    from swe_gym_env.backends.docker.client import get_client
    from swe_gym_env.backends.docker.images import image_size
    from swe_gym_env.synth.pipeline import SynthConfig
    from swe_gym_env.synth.run import format_report, synthesize

    config = dataclasses.replace(SynthConfig(), max_tasks=tasks_wanted, workers=workers)
    started = time.monotonic()
    tasks, (report,) = synthesize([spec], config, requirements=extra)
    seconds = time.monotonic() - started
    print(format_report(report), flush=True)
    rows = [(json.dumps(t.to_row(), sort_keys=True) + "\n").encode() for t in tasks]
    sizes = image_size(get_client(), report.image) if report.image else {"size": 0, "own": 0}
    whole_id_valid = sum(
        not any(split_by_parser(n) for n in (*t.FAIL_TO_PASS, *t.PASS_TO_PASS)) for t in tasks
    )
    return {
        "source": spec,
        "style": style,
        "extra_requirements": list(extra),
        "report": report.as_dict(),
        "tasks_written": len(tasks),
        "valid_of_kept": report.valid / report.kept if report.kept else None,
        "seconds": round(seconds, 1),
        "seconds_per_valid_task": round(seconds / report.valid, 1) if report.valid else None,
        "row_bytes_per_task": round(sum(map(len, rows)) / len(rows)) if rows else None,
        "row_gzip_bytes_per_task": round(sum(len(gzip.compress(r, mtime=0)) for r in rows) / len(rows)) if rows else None,
        "image_mb": round(sizes["size"] / 1e6, 1),
        "image_own_mb": round(sizes["own"] / 1e6, 1),
        "tasks_with_split_names": len(tasks) - whole_id_valid,
        "baseline_whole_id_valid": whole_id_valid,
    }


def markdown(result: dict[str, Any]) -> str:
    runs = "; ".join(
        f"{run['date']} rev `{run['revision'][:12]}` load {run['host']['load_before']:.1f} -> "
        f"{run['host']['load_after']:.1f} ({', '.join(s.removeprefix('pypi:') for s in run['sources'])})"
        for run in result.get("runs", [])
    )
    head = (f"Synthesis on real repositories - {result['host']['cpus']} CPUs, `--max-tasks {result['tasks_wanted']}`, "
            f"{result['workers']} workers, `nice -n 10` - runs: {runs}")
    lines = [head, "",
             "| package | test style | covered functions | candidates / screened / kept | valid (kept -> valid) "
             "| previous naming: valid | top rejections | s per valid task | row KB per task (gzip) | repo image MB (own) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for item in result["packages"]:
        report = item["report"]
        rate = f"{item['valid_of_kept']:.0%}" if item["valid_of_kept"] is not None else "-"
        rejected = ", ".join(f"{k} {v}" for k, v in list(report["rejected"].items())[:3]) or "-"
        if report.get("error"):
            rejected = f"error: {report['error'][:80]}"
        per_task = item["seconds_per_valid_task"]
        row_kb = f"{item['row_bytes_per_task'] / 1e3:.1f} ({item['row_gzip_bytes_per_task'] / 1e3:.1f})" if item["row_bytes_per_task"] else "-"
        lines.append(
            f"| `{item['source'].removeprefix('pypi:')}` | {item['style']} | {report.get('covered_functions', 0)} "
            f"| {report['candidates']} / {report['screened']} / {report['kept']} | {report['valid']} ({rate}) "
            f"| {item['baseline_whole_id_valid']} of {item['tasks_written']} | {rejected} "
            f"| {per_task if per_task is not None else '-'} | {row_kb} | {item['image_mb']:.0f} ({item['image_own_mb']:.0f}) |"
        )
    totals = result["totals"]
    lines += ["", (f"Total: {totals['valid']} valid of {totals['kept']} kept ({totals['valid_of_kept']:.0%}) "
                   f"from {totals['packages_with_tasks']} of {len(result['packages'])} packages "
                   f"in {totals['seconds'] / 60:.1f} min; every package with kept mutants >= 60% valid: "
                   f"{'yes' if totals['all_rates_met'] else 'no'}; >= 10 valid where >= 10 functions are covered: "
                   f"{'yes' if totals['all_counts_met'] else 'no'}.")]
    return "\n".join(lines) + "\n"


def runs_of(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The runs a result came from (one for a result written before results recorded them)."""
    return result.get("runs") or [{
        "date": result.get("date"), "revision": result.get("revision", "?"), "host": result.get("host"),
        "sources": [i["source"] for i in result["packages"]], "seconds": result["totals"]["seconds"],
    }]


def combine(results: list[dict[str, Any]], tasks_wanted: int, workers: int) -> dict[str, Any]:
    """One result of several runs; a package measured again replaces its earlier entry."""
    by_source: dict[str, dict[str, Any]] = {}
    runs: list[dict[str, Any]] = []
    for result in results:
        runs += runs_of(result)
        by_source.update({item["source"]: item for item in result["packages"]})
    order = [p[0] for p in PACKAGES]
    items = sorted(by_source.values(), key=lambda i: order.index(i["source"]) if i["source"] in order else len(order))
    kept = sum(i["report"]["kept"] for i in items)
    valid = sum(i["report"]["valid"] for i in items)
    return {
        "date": runs[-1]["date"],
        "revision": runs[-1]["revision"],
        "host": runs[-1]["host"],
        "runs": runs,
        "tasks_wanted": tasks_wanted,
        "workers": workers,
        "packages": items,
        "totals": {
            "kept": kept,
            "valid": valid,
            "valid_of_kept": valid / kept if kept else 0.0,
            "seconds": round(sum(i["seconds"] for i in items), 1),
            "packages_with_tasks": sum(bool(i["report"]["valid"]) for i in items),
            "all_rates_met": all((i["valid_of_kept"] or 0) >= 0.6 for i in items if i["report"]["kept"]),
            "all_counts_met": all(
                i["report"]["valid"] >= 10 or i["report"].get("covered_functions", 0) < 10 for i in items
            ),
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=12, help="valid tasks wanted per package (--max-tasks)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--only", nargs="*", help="only these sources (of the list)")
    parser.add_argument("--out", default=str(RESULTS / "synth_real.json"))
    parser.add_argument("--combine", nargs="+", metavar="RESULT",
                        help="run nothing: combine earlier results (packages measured again replace earlier entries)")
    args = parser.parse_args(argv)
    if args.combine:
        results = [json.loads(Path(path).read_text()) for path in args.combine]
        result = combine(results, results[-1]["tasks_wanted"], results[-1]["workers"])
    else:
        load = os.getloadavg()[0]
        packages = [p for p in PACKAGES if not args.only or p[0] in args.only]
        started = time.monotonic()
        items = [run_package(spec, style, extra, args.tasks, args.workers) for spec, style, extra in packages]
        run = {"date": time.strftime("%Y-%m-%d %H:%M:%S"), "revision": git_revision(), "host": host(load),
               "sources": [item["source"] for item in items], "seconds": round(time.monotonic() - started, 1)}
        result = combine([{"runs": [run], "packages": items}], args.tasks, args.workers)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    table = markdown(result)
    out.with_suffix(".md").write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
