"""The SWE-bench family as task sources: dataset ids, row shapes, and deriving what older rows lack.

Rows in swebench 5.x form (``image``, ``eval_script``, ``log_parser``, ``eval_type``) run as they are.
Older rows are completed here, field by field, and every field that cannot be derived is named with
the reason in ``Task.extra["swe_gym_missing"]`` (so ``check_gradable`` can say exactly what is
missing and how to supply it):

============  ======================================================  ====================================
family        image                                                   eval script / log parser
============  ======================================================  ====================================
swe-bench     ``swebench/sweb.eval.x86_64.<id, __ -> _1776_>:latest``   parser: swebench's per-repo map;
(Lite,        (the official instance images)                          script: only with swebench < 5
Verified)                                                             (5.x dropped the per-repo test
                                                                      commands) or ``eval_scripts=``
swe-gym       ``xingyaoww/sweb.eval.x86_64.<id, __ -> _s_>:latest``    parser: pytest (assumed: every
                                                                      SWE-Gym repo runs ``pytest -rA``);
                                                                      script: as swe-bench
swe-rebench   the row's ``docker_image`` or                           from the row's ``install_config``
              ``swerebench/sweb.eval.x86_64.<id, __ -> _1776_>``      (``test_cmd``, ``log_parser``), with
                                                                      swebench 4.x's eval-script template
swe-smith     the row's ``image_name`` (one image per repo snapshot)  the row's ``patch`` *creates* the bug:
                                                                      it becomes ``setup_patch`` and the
                                                                      gold patch is its reverse; tests run
                                                                      with SWE-smith's default pytest
                                                                      profile plus ``-rA``
============  ======================================================  ====================================
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from swebench.harness.constants import END_TEST_OUTPUT, FAIL_ONLY_REPOS, NON_TEST_EXTS, START_TEST_OUTPUT

from ..errors import TaskError
from ..reachability import host_reachable

log = logging.getLogger(__name__)

MISSING_KEY = "swe_gym_missing"  # extra column: {field: why it could not be derived}
DERIVED_KEY = "swe_gym_derived"  # extra column: fields this module filled in
FAMILY_KEY = "swe_gym_family"
HF_ENDPOINT_DEFAULT = "https://huggingface.co"
CONDA_ACTIVATE = ("source /opt/miniconda3/bin/activate", "conda activate testbed")
HEREDOC = "EOF_114329324912"  # swebench's own delimiter, kept so scripts look like the official ones
SWE_SMITH_TEST_CMD = "pytest --disable-warnings --color=no --tb=no --verbose -rA"


@dataclass(frozen=True)
class Family:
    """One dataset family: its Hub ids, default split and image naming."""

    name: str
    hub_ids: tuple[str, ...]
    default_split: str
    image_namespace: str
    dunder: str  # what "__" in an instance id becomes in the image name


FAMILIES: dict[str, Family] = {
    "swe-bench": Family(
        "swe-bench",
        (
            "SWE-bench/SWE-bench",
            "SWE-bench/SWE-bench_Lite",
            "SWE-bench/SWE-bench_Verified",
            "princeton-nlp/SWE-bench",
            "princeton-nlp/SWE-bench_Lite",
            "princeton-nlp/SWE-bench_Verified",
        ),
        "test",
        "swebench",
        "_1776_",
    ),
    "swe-gym": Family("swe-gym", ("SWE-Gym/SWE-Gym", "SWE-Gym/SWE-Gym-Lite"), "train", "xingyaoww", "_s_"),
    "swe-rebench": Family(
        "swe-rebench",
        ("nebius/SWE-rebench", "nebius/SWE-rebench-leaderboard"),
        "test",
        "swerebench",
        "_1776_",
    ),
    "swe-smith": Family("swe-smith", ("SWE-bench/SWE-smith",), "train", "", "_1776_"),
}

ALIASES = {
    "swe-bench": "SWE-bench/SWE-bench",
    "swe-bench-lite": "SWE-bench/SWE-bench_Lite",
    "lite": "SWE-bench/SWE-bench_Lite",
    "swe-bench-verified": "SWE-bench/SWE-bench_Verified",
    "verified": "SWE-bench/SWE-bench_Verified",
    "swe-gym": "SWE-Gym/SWE-Gym",
    "swe-gym-lite": "SWE-Gym/SWE-Gym-Lite",
    "swe-rebench": "nebius/SWE-rebench",
    "swe-smith": "SWE-bench/SWE-smith",
}


def resolve_dataset_id(name: str) -> str:
    """A Hub id for ``name`` (an alias such as ``verified`` or ``swe-gym``, or an id as it is)."""
    return ALIASES.get(name.lower(), name)


def family_of_dataset(dataset_id: str) -> str | None:
    lowered = dataset_id.lower()
    for family in FAMILIES.values():
        if any(lowered == hub.lower() for hub in family.hub_ids):
            return family.name
    for name, marker in (
        ("swe-smith", "swe-smith"),
        ("swe-rebench", "swe-rebench"),
        ("swe-gym", "swe-gym"),
        ("swe-bench", "swe-bench"),
    ):
        if marker in lowered:
            return name
    return None


@functools.lru_cache(maxsize=1)
def _swebench_repo_parsers() -> dict[str, str]:
    """Repository -> parser name, from swebench 5.x's per-language maps (the parsers survived 5.0)."""
    from swebench.harness import log_parsers
    from swebench.harness.log_parsers import PARSER_REGISTRY

    names_by_function: dict[int, list[str]] = {}
    for name, function in PARSER_REGISTRY.items():
        names_by_function.setdefault(id(function), []).append(name)
    result: dict[str, str] = {}
    for module_name in ("python", "javascript", "c", "go", "java", "php", "ruby", "rust"):
        try:
            module = __import__(f"{log_parsers.__name__}.{module_name}", fromlist=["*"])
        except ImportError:
            continue
        for attribute in dir(module):
            if not attribute.startswith("MAP_REPO_TO_PARSER"):
                continue
            for repo, function in getattr(module, attribute).items():
                names = names_by_function.get(id(function), [])
                if not names:
                    continue
                own = f"parse_log_{repo.split('/')[-1].replace('-', '_')}"
                result[repo] = own if own in names else names[0]
    return result


def detect_family(row: Mapping[str, Any], hint: str | None = None) -> str | None:
    """The family of a row: ``hint`` when given, else from the row's shape and repository."""
    if hint:
        if hint not in FAMILIES:
            raise TaskError(f"unknown family {hint!r}; known: {', '.join(FAMILIES)}")
        return hint
    if row.get("image_name") and str(row.get("repo", "")).startswith("swesmith/"):
        return "swe-smith"
    if row.get("install_config") or row.get("docker_image"):
        return "swe-rebench"
    if row.get("repo") in _swebench_repo_parsers():
        return "swe-bench"
    return None


def official_image(instance_id: str, family: str = "swe-bench") -> str:
    """The published instance image of ``instance_id`` in ``family``'s naming (lower case, ``:latest``)."""
    spec = FAMILIES[family]
    name = f"{spec.image_namespace}/sweb.eval.x86_64.{instance_id.replace('__', spec.dunder)}:latest"
    return name.lower()


def test_directives(repo: str, test_patch: str) -> list[str]:
    """The test files (or Django test modules) a test patch touches, as swebench 4.x derived them."""
    directives = re.findall(r"diff --git a/.* b/(.*)", test_patch)
    directives = [d for d in directives if not any(d.endswith(ext) for ext in NON_TEST_EXTS)]
    if repo == "django/django":
        out = []
        for d in directives:
            d = d.removesuffix(".py")
            d = d.removeprefix("tests/")
            out.append(d.replace("/", "."))
        directives = out
    return directives


def legacy_eval_script(
    *,
    repo: str,
    base_commit: str,
    test_patch: str,
    test_cmd: str | list[str],
    install: str = "",
    eval_commands: list[str] | tuple[str, ...] = (),
    conda: bool = True,
) -> str:
    """An eval script in the form swebench 4.x generated for Python repos (and SWE-rebench still does).

    Restore the files the test patch touches, apply it, run ``test_cmd`` plus the test directives
    between the start/end markers, restore the files again.
    """
    if isinstance(test_cmd, list):
        test_cmd = test_cmd[-1]
    files = re.findall(r"diff --git a/.* b/(.*)", test_patch)
    reset = f"git checkout {base_commit} {' '.join(map(shlex.quote, files))}" if files else "true"
    lines = ["#!/bin/bash", "set -uxo pipefail"]
    activate = list(CONDA_ACTIVATE) if conda else []
    lines += activate + [
        "cd /testbed",
        *eval_commands,
        "git config --global --add safe.directory /testbed",
        "cd /testbed",
        "git status",
        "git show",
        f"git -c core.fileMode=false diff {base_commit}",
    ]
    lines += activate
    if install:
        lines.append(install)
    lines.append(reset)
    if test_patch.strip():
        lines.append(f"git apply -v - <<'{HEREDOC}'\n{test_patch.rstrip(chr(10))}\n{HEREDOC}")
    lines += [
        f": '{START_TEST_OUTPUT}'",
        " ".join([test_cmd, *test_directives(repo, test_patch)]),
        f": '{END_TEST_OUTPUT}'",
        reset,
    ]
    return "\n".join(lines) + "\n"


def simple_eval_script(test_cmd: str, *, conda: bool = True) -> str:
    """An eval script that only runs ``test_cmd`` between the markers (tasks without a test patch)."""
    lines = [
        "#!/bin/bash",
        "set -uxo pipefail",
        *(CONDA_ACTIVATE if conda else ()),
        "cd /testbed",
        f": '{START_TEST_OUTPUT}'",
        test_cmd,
        f": '{END_TEST_OUTPUT}'",
    ]
    return "\n".join(lines) + "\n"


def _swebench4_eval_script(row: Mapping[str, Any]) -> str | None:
    """swebench 4.x's own eval script for an old row, when a 4.x package is installed (None otherwise)."""
    try:
        from swebench.harness.test_spec.test_spec import make_test_spec as make_test_spec_4x  # type: ignore
    except ImportError:
        return None
    try:
        return make_test_spec_4x(dict(row)).eval_script
    except Exception as error:  # unknown repo/version in 4.x's tables
        log.info("swebench 4.x cannot make an eval script for %s: %s", row.get("instance_id"), error)
        return None


def reverse_patch(patch: str) -> str:
    """The patch that undoes ``patch`` (a git-style unified diff): old and new sides swapped."""
    hunk = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@(.*)$")
    swaps = (
        ("new file mode", "deleted file mode"),
        ("deleted file mode", "new file mode"),
        ("old mode", "new mode"),
        ("new mode", "old mode"),
        ("rename from", "rename to"),
        ("rename to", "rename from"),
        ("copy from", "copy to"),
        ("copy to", "copy from"),
    )

    def side(path: str, prefix: str) -> str:
        path = path.rstrip("\n")
        if path == "/dev/null":
            return path
        return prefix + (path[2:] if path.startswith(("a/", "b/")) else path)

    out: list[str] = []
    lines = patch.splitlines(keepends=True)
    old_left = new_left = 0
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if old_left > 0 or new_left > 0:  # inside a hunk: swap the sides of each line
            tag = line[:1]
            if tag == "-":
                out.append("+" + line[1:])
                old_left -= 1
            elif tag == "+":
                out.append("-" + line[1:])
                new_left -= 1
            elif tag == "\\":
                out.append(line)
            else:
                out.append(line)
                old_left -= 1
                new_left -= 1
            continue
        match = hunk.match(line.rstrip("\n"))
        if match:
            old_start, old_len, new_start, new_len, tail = match.groups()
            old_left = 1 if old_len is None else int(old_len)
            new_left = 1 if new_len is None else int(new_len)
            old_range = new_start + ("" if new_len is None else f",{new_len}")
            new_range = old_start + ("" if old_len is None else f",{old_len}")
            out.append(f"@@ -{old_range} +{new_range} @@{tail}\n")
            continue
        if line.startswith("\\"):  # "\ No newline at end of file" after a hunk's last line
            out.append(line)
            continue
        diff_git = re.match(r"^diff --git a/(.+?) b/(.+?)\n?$", line)
        if diff_git:
            out.append(f"diff --git a/{diff_git.group(2)} b/{diff_git.group(1)}\n")
        elif line.startswith("--- ") and index < len(lines) and lines[index].startswith("+++ "):
            old, new = line[4:], lines[index][4:]
            out += ["--- " + side(new, "a/") + "\n", "+++ " + side(old, "b/") + "\n"]
            index += 1
        elif line.startswith("index ") and ".." in line:
            head, _, mode = line[6:].rstrip("\n").partition(" ")
            before, _, after = head.partition("..")
            out.append(f"index {after}..{before}{' ' + mode if mode else ''}\n")
        else:
            for old_text, new_text in swaps:
                if line.startswith(old_text):
                    line = new_text + line[len(old_text) :]
                    break
            out.append(line)
    return "".join(out)


def _missing(reasons: dict[str, str], field: str, why: str) -> None:
    reasons[field] = why


def _eval_script_hint(row: Mapping[str, Any]) -> str:
    return (
        f"swebench {_swebench_version()} no longer ships the per-repository test commands "
        "(MAP_REPO_VERSION_TO_SPECS) that older rows need, so no eval script can be derived for "
        f"{row.get('repo')} {row.get('version') or ''}".rstrip()
        + ": use a dataset revision with swebench 5.x columns, install swebench<5 to derive it, or pass "
        "eval scripts (`swe-gym-env tasks convert --eval-scripts DIR`, DIR/<instance_id>/eval.sh or "
        "DIR/<instance_id>.sh, as a swebench task repo lays them out)"
    )


@functools.lru_cache(maxsize=1)
def _swebench_version() -> str:
    try:
        from importlib.metadata import version

        return version("swebench")
    except Exception:  # not installed as a distribution
        return "5.x"


def _read_eval_script(directory: Path | None, instance_id: str) -> str | None:
    if directory is None:
        return None
    for candidate in (
        directory / instance_id / "eval.sh",
        directory / "tasks" / instance_id / "eval.sh",
        directory / f"{instance_id}.sh",
    ):
        if candidate.is_file():
            return candidate.read_text()
    return None


def complete_row(
    row: Mapping[str, Any],
    *,
    family: str | None = None,
    eval_scripts: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """``row`` with the swebench 5.x fields it lacks derived where possible.

    A row that already has ``image``, ``eval_script`` and ``log_parser`` is returned unchanged. For
    the others the family's rules fill what they can; what they cannot is recorded, with the reason,
    in the ``swe_gym_missing`` column. Rows of no known family are returned as they are. Nothing
    here touches the network.
    """
    out = dict(row)
    if all(out.get(name) for name in ("image", "eval_script", "log_parser")):
        return out
    instance_id = str(out.get("instance_id") or "")
    repo = str(out.get("repo") or "")
    kind = detect_family(out, family)
    if kind is None and not eval_scripts:
        return out  # not a family row: nothing to derive (check_gradable names the missing fields)
    derived: list[str] = []
    missing: dict[str, str] = {}
    scripts_dir = Path(eval_scripts) if eval_scripts else None
    install_config = out.get("install_config")
    if isinstance(install_config, str) and install_config.strip().startswith("{"):
        install_config = json.loads(install_config)
    install_config = install_config if isinstance(install_config, Mapping) else {}

    def fill(name: str, value: Any) -> None:
        if value and not out.get(name):
            out[name] = value
            derived.append(name)

    if kind == "swe-smith":
        bug = str(out.get("patch") or "")
        if bug and not out.get("setup_patch"):
            out["setup_patch"] = bug
            out["patch"] = reverse_patch(bug)
            derived += ["setup_patch", "patch"]
        fill("image", out.get("image_name"))
        fill("log_parser", "parse_log_pytest")
        f2p_files = sorted({str(test).split("::", 1)[0] for test in _as_list(out.get("FAIL_TO_PASS"))})
        fill("eval_script", simple_eval_script(" ".join([SWE_SMITH_TEST_CMD, *map(shlex.quote, f2p_files)])))
        out.setdefault("base_commit", "")
        if not out.get("problem_statement"):
            _missing(missing, "problem_statement", "this SWE-smith row has no generated problem statement")
    elif kind == "swe-rebench":
        fill("image", out.get("docker_image") or (official_image(instance_id, kind) if instance_id else ""))
        parser = install_config.get("log_parser")
        from swebench.harness.log_parsers import PARSER_REGISTRY

        if parser in PARSER_REGISTRY:
            fill("log_parser", parser)
        elif not out.get("log_parser"):
            fill(
                "log_parser",
                "parse_log_pytest" if "pytest" in str(install_config.get("test_cmd", "")) else "",
            )
            if not out.get("log_parser"):
                _missing(
                    missing,
                    "log_parser",
                    f"install_config names parser {parser!r}, which swebench does not have",
                )
        if install_config.get("test_cmd") and out.get("base_commit"):
            fill(
                "eval_script",
                legacy_eval_script(
                    repo=repo,
                    base_commit=str(out["base_commit"]),
                    test_patch=str(out.get("test_patch") or ""),
                    test_cmd=install_config["test_cmd"],
                    install=str(install_config.get("install") or ""),
                    eval_commands=list(install_config.get("eval_commands") or ()),
                ),
            )
    elif kind in ("swe-bench", "swe-gym"):
        if instance_id:
            fill("image", official_image(instance_id, kind))
        parser = _swebench_repo_parsers().get(repo) or ("parse_log_pytest" if kind == "swe-gym" else "")
        fill("log_parser", parser)
        if not out.get("log_parser"):
            _missing(missing, "log_parser", f"swebench has no log parser registered for {repo!r}")
    # eval scripts given by the user win over every derivation
    given = _read_eval_script(scripts_dir, instance_id)
    if given and not row.get("eval_script"):
        out["eval_script"] = given
        if "eval_script" not in derived:
            derived.append("eval_script")
    if not out.get("eval_script") and kind in ("swe-bench", "swe-gym"):
        fill("eval_script", _swebench4_eval_script(out))
    if not out.get("eval_script"):
        _missing(
            missing,
            "eval_script",
            _eval_script_hint(out)
            if kind in ("swe-bench", "swe-gym")
            else f"the row has no eval_script and its family ({kind or 'unknown'}) gives no way to derive one",
        )
    if not out.get("image"):
        _missing(
            missing,
            "image",
            "the row names no image and its family is unknown: pass family=... "
            f"({', '.join(FAMILIES)}) or add an 'image' column",
        )
    if not out.get("log_parser") and "log_parser" not in missing:
        _missing(missing, "log_parser", "the row names no log parser (a key of swebench's PARSER_REGISTRY)")
    if repo in FAIL_ONLY_REPOS and not row.get("eval_type"):
        fill("eval_type", "fail_only")
    if kind:
        out[FAMILY_KEY] = kind
    if derived:
        out[DERIVED_KEY] = sorted(set(derived))
    if missing:
        out[MISSING_KEY] = missing
    else:
        out.pop(MISSING_KEY, None)
    return out


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else []
        except json.JSONDecodeError:
            return []
    return list(value or [])


def missing_reasons(task: Any) -> dict[str, str]:
    """Why fields of ``task`` could not be derived (empty when nothing is missing)."""
    reasons = (getattr(task, "extra", None) or {}).get(MISSING_KEY) or {}
    if isinstance(reasons, str):
        try:
            reasons = json.loads(reasons)
        except json.JSONDecodeError:
            return {"?": reasons}
    return dict(reasons)


# -- reaching the Hub without waiting on it ------------------------------------------------------
def hub_host() -> str:
    endpoint = os.environ.get("HF_ENDPOINT", HF_ENDPOINT_DEFAULT)
    return re.sub(r"^https?://", "", endpoint).split("/")[0].split(":")[0]


def ensure_hub_mode() -> bool:
    """Whether the Hub can be used; when it cannot, switch the HF libraries to offline mode.

    One bounded connection attempt (2 s, DNS included) per process. In offline mode ``datasets``
    answers from its local cache at once instead of retrying for half a minute.
    """
    if (
        os.environ.get("HF_HUB_OFFLINE") in ("1", "true", "TRUE", "yes")
        or os.environ.get("SWE_GYM_OFFLINE") == "1"
    ):
        online = False
    else:
        online = host_reachable(hub_host(), 443)
    if not online:
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["HF_DATASETS_OFFLINE"] = "1"
        for module, attribute in (
            ("huggingface_hub.constants", "HF_HUB_OFFLINE"),
            ("datasets.config", "HF_HUB_OFFLINE"),
            ("datasets.config", "HF_DATASETS_OFFLINE"),
        ):
            loaded = __import__("sys").modules.get(module)
            if loaded is not None and hasattr(loaded, attribute):
                setattr(loaded, attribute, True)
    return online
