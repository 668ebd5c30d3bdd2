"""The SWE-bench family as task sources: ids, row shapes, derivations, clear errors, no network waits."""

import gzip
import json
import time

import pytest

from swe_gym_env import TaskError, load_tasks, write_tasks
from swe_gym_env.grading import check_gradable
from swe_gym_env.patches import apply_patch, make_patch
from swe_gym_env.tasks.sources import (
    MISSING_KEY,
    complete_row,
    family_of_dataset,
    legacy_eval_script,
    missing_reasons,
    official_image,
    resolve_dataset_id,
    reverse_patch,
)

TEST_PATCH = """diff --git a/tests/auth_tests/test_validators.py b/tests/auth_tests/test_validators.py
--- a/tests/auth_tests/test_validators.py
+++ b/tests/auth_tests/test_validators.py
@@ -1,2 +1,3 @@
 import re
+import sys
 from django.test import TestCase
"""


def old_row(**overrides):
    """A SWE-bench 4.x-style row (the columns of SWE-bench / Lite / Verified before swebench 5.x)."""
    row = {
        "repo": "django/django",
        "instance_id": "django__django-11099",
        "base_commit": "d26b2424437dabeeca94d7900b37d2df4410da0c",
        "patch": "diff --git a/django/contrib/auth/validators.py b/django/contrib/auth/validators.py\n",
        "test_patch": TEST_PATCH,
        "problem_statement": "UsernameValidator allows trailing newline in usernames",
        "hints_text": "",
        "created_at": "2019-03-20T03:46:18Z",
        "version": "3.0",
        "FAIL_TO_PASS": '["test_ascii_validator (auth_tests.test_validators.UsernameValidatorsTests)"]',
        "PASS_TO_PASS": '["test_help_text (auth_tests.test_validators.MinimumLengthValidatorTest)"]',
        "environment_setup_commit": "419a78300f7cd27611196e1e464d50fd0385ff27",
    }
    row.update(overrides)
    return row


def test_dataset_ids_and_aliases():
    assert resolve_dataset_id("verified") == "SWE-bench/SWE-bench_Verified"
    assert resolve_dataset_id("lite") == "SWE-bench/SWE-bench_Lite"
    assert resolve_dataset_id("swe-gym") == "SWE-Gym/SWE-Gym"
    assert resolve_dataset_id("owner/other") == "owner/other"
    assert family_of_dataset("princeton-nlp/SWE-bench_Lite") == "swe-bench"
    assert family_of_dataset("SWE-Gym/SWE-Gym") == "swe-gym"
    assert family_of_dataset("nebius/SWE-rebench") == "swe-rebench"
    assert family_of_dataset("SWE-bench/SWE-smith") == "swe-smith"
    assert family_of_dataset("someone/dataset") is None


def test_official_image_names():
    assert (
        official_image("django__django-11099") == "swebench/sweb.eval.x86_64.django_1776_django-11099:latest"
    )
    assert (
        official_image("Project-MONAI__MONAI-6975", "swe-gym")
        == "xingyaoww/sweb.eval.x86_64.project-monai_s_monai-6975:latest"
    )
    assert (
        official_image("oemof__tespy-653", "swe-rebench")
        == "swerebench/sweb.eval.x86_64.oemof_1776_tespy-653:latest"
    )


def test_swebench5_rows_run_as_they_are():
    row = old_row(image="my/image:1", eval_script="#!/bin/bash\necho\n", log_parser="parse_log_pytest")
    assert complete_row(row) == row
    task = load_tasks([row])[0]
    assert task.runnable and task.image == "my/image:1"


def test_old_swebench_row_gets_image_and_parser_and_names_what_is_missing():
    task = load_tasks([old_row()])[0]
    assert task.image == "swebench/sweb.eval.x86_64.django_1776_django-11099:latest"
    assert task.log_parser == "parse_log_django"
    assert not task.eval_script and not task.runnable
    reasons = missing_reasons(task)
    assert set(reasons) == {"eval_script"}
    assert (
        "MAP_REPO_VERSION_TO_SPECS" in reasons["eval_script"] and "--eval-scripts" in reasons["eval_script"]
    )
    with pytest.raises(TaskError) as error:
        check_gradable(task)
    assert "django__django-11099" in str(error.value) and "eval_script" in str(error.value)


def test_eval_scripts_from_a_task_repo_layout(tmp_path):
    (tmp_path / "tasks" / "django__django-11099").mkdir(parents=True)
    (tmp_path / "tasks" / "django__django-11099" / "eval.sh").write_text("#!/bin/bash\n: run\n")
    task = load_tasks([old_row()], eval_scripts=tmp_path)[0]
    assert task.runnable and task.eval_script.startswith("#!/bin/bash")
    assert MISSING_KEY not in task.extra
    check_gradable(task)


def test_swe_gym_rows():
    row = old_row(repo="getmoto/moto", instance_id="getmoto__moto-5406", version="4.0")
    task = load_tasks([row], family="swe-gym")[0]
    assert task.image == "xingyaoww/sweb.eval.x86_64.getmoto_s_moto-5406:latest"
    assert task.log_parser == "parse_log_pytest"
    assert "eval_script" in missing_reasons(task)


def test_swe_rebench_rows_derive_the_eval_script_from_install_config():
    row = old_row(
        repo="oemof/tespy",
        instance_id="oemof__tespy-653",
        test_patch=TEST_PATCH.replace("tests/auth_tests/test_validators.py", "tests/test_models.py"),
        install_config={
            "python": "3.9",
            "install": "pip install -e .",
            "test_cmd": "pytest --no-header -rA --tb=line",
            "log_parser": "parse_log_pytest",
        },
    )
    task = load_tasks([row])[0]
    assert task.extra["swe_gym_family"] == "swe-rebench"
    assert task.image == "swerebench/sweb.eval.x86_64.oemof_1776_tespy-653:latest"
    assert task.log_parser == "parse_log_pytest"
    script = task.eval_script
    assert "pytest --no-header -rA --tb=line tests/test_models.py" in script
    assert f"git checkout {row['base_commit']} tests/test_models.py" in script
    assert ">>>>> Start Test Output" in script and ">>>>> End Test Output" in script
    assert "conda activate testbed" in script and "pip install -e ." in script
    assert task.runnable
    row["docker_image"] = "registry.local/tespy:653"
    assert load_tasks([row])[0].image == "registry.local/tespy:653"


def test_django_test_directives_are_modules():
    script = legacy_eval_script(
        repo="django/django",
        base_commit="abc",
        test_patch=TEST_PATCH,
        test_cmd="./tests/runtests.py --verbosity 2",
        conda=False,
    )
    assert "./tests/runtests.py --verbosity 2 auth_tests.test_validators" in script


def test_swe_smith_rows_turn_the_bug_patch_into_the_setup_patch():
    before = {"pkg/mod.py": "def f(x):\n    return x + 1\n"}
    after = {"pkg/mod.py": "def f(x):\n    return x - 1\n"}
    bug = make_patch(before, after)
    row = {
        "instance_id": "oauthlib__oauthlib.1fd52536.combine_file__09vlzwgc",
        "repo": "swesmith/oauthlib__oauthlib.1fd52536",
        "patch": bug,
        "FAIL_TO_PASS": ["tests/test_mod.py::test_f", "tests/other/test_g.py::TestG::test_g"],
        "PASS_TO_PASS": ["tests/test_mod.py::test_h"],
        "image_name": "jyangballin/swesmith.x86_64.oauthlib_1776_oauthlib.1fd52536",
        "problem_statement": "f is off by two",
    }
    task = load_tasks([row])[0]
    assert task.setup_patch == bug
    assert apply_patch(after, task.patch) == before  # the gold patch undoes the bug
    assert task.image == row["image_name"] and task.log_parser == "parse_log_pytest"
    assert "-rA" in task.eval_script and "tests/other/test_g.py tests/test_mod.py" in task.eval_script
    assert task.runnable


def test_reverse_patch_round_trip():
    a = {"x.py": "a\nb\nc\n", "gone.py": "1\n", "same.py": "s\n"}
    b = {"x.py": "a\nB\nc\nd\n", "new.py": "n\n", "same.py": "s\n"}
    patch = make_patch(a, b)
    back = reverse_patch(patch)
    assert apply_patch(b, back) == a
    assert reverse_patch(back) == patch


@pytest.mark.parametrize("suffix", [".json", ".jsonl", ".parquet", ".jsonl.gz"])
def test_local_files_of_older_rows(tmp_path, suffix):
    rows = [old_row(), old_row(instance_id="django__django-11133")]
    path = tmp_path / f"rows{suffix}"
    if suffix == ".json":
        path.write_text(json.dumps(rows))
    elif suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    elif suffix == ".jsonl.gz":
        with gzip.open(path, "wt") as handle:
            handle.write("".join(json.dumps(r) + "\n" for r in rows))
    else:
        import datasets

        datasets.Dataset.from_list(rows).to_parquet(str(path))
    tasks = load_tasks(path)
    assert [t.instance_id for t in tasks] == ["django__django-11099", "django__django-11133"]
    assert all(t.image.startswith("swebench/sweb.eval.x86_64.django_1776_") for t in tasks)


def test_write_and_read_gzip(tmp_path):
    tasks = load_tasks("builtin")[:2]
    path = write_tasks(tasks, tmp_path / "t.jsonl.gz")
    assert path.read_bytes()[:2] == b"\x1f\x8b"
    assert load_tasks(path) == tasks


def test_hub_ids_fail_fast_offline(monkeypatch, tmp_path):
    """No Hub here: the check takes at most ~2 s and datasets is switched to offline mode."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.setenv("HF_ENDPOINT", "https://hub.invalid")
    started = time.monotonic()
    with pytest.raises(TaskError) as error:
        load_tasks("verified")
    assert time.monotonic() - started < 15
    message = str(error.value)
    assert "SWE-bench/SWE-bench_Verified" in message and "local JSON/JSONL/parquet" in message
    with pytest.raises(TaskError, match="split 'train'"):
        load_tasks("SWE-Gym/SWE-Gym")  # SWE-Gym's only split is train


def test_cli_convert_names_what_is_missing(tmp_path, capsys):
    from swe_gym_env.cli import main

    source = tmp_path / "old.jsonl"
    source.write_text(json.dumps(old_row()) + "\n")
    out = tmp_path / "new.jsonl"
    assert main(["tasks", "convert", str(source), str(out)]) == 1
    printed = capsys.readouterr().out
    assert (
        "0 runnable" in printed and "lack eval_script" in printed and "MAP_REPO_VERSION_TO_SPECS" in printed
    )
    row = json.loads(out.read_text())
    assert row["image"].startswith("swebench/sweb.eval.x86_64.django_1776_django-11099")
    assert row["log_parser"] == "parse_log_django" and "eval_script" in row["swe_gym_missing"]
    scripts = tmp_path / "scripts"
    (scripts / "django__django-11099").mkdir(parents=True)
    (scripts / "django__django-11099" / "eval.sh").write_text("#!/bin/bash\ntrue\n")
    assert main(["tasks", "convert", str(source), str(out), "--eval-scripts", str(scripts)]) == 0
    assert "1 runnable" in capsys.readouterr().out
    assert load_tasks(out)[0].runnable
