"""The task's working copy at /testbed: reach the starting state at reset, and take the agent's diff.

Both are shell scripts run through :meth:`Sandbox.exec`, so every sandbox that runs bash and git gets
them for free. The starting state of a task with a ``setup_patch`` is a fresh repository with exactly
one commit, made with a fixed identity and date so that its hash is the same on every machine and
equals the row's ``base_commit``: there is no history, reflog, stash or loose object from which the fix
could be read back.

A warm container of an image can be *staged* ahead of time (:func:`stage`: the image's files hashed into a
fresh repository's index and object store, no commit). Preparing a task there only hashes the files its
setup patch changes, commits, and deletes the objects of those files' image versions that the commit does
not use - the image may hold the fixed code, and no unreachable object may keep it. The commit is the
same either way: a tree's hash depends on its content only.
"""

from __future__ import annotations

import base64
import re
import secrets
import shlex

from ..errors import SandboxStartError
from ..patches import patch_paths
from .base import WORKDIR, ExecResult, Sandbox

SETUP_PATCH_PATH = "/tmp/.swe-gym-setup.patch"
COMMIT_ENV = {
    "GIT_AUTHOR_NAME": "swe-gym-env",
    "GIT_AUTHOR_EMAIL": "tasks@swe-gym-env.invalid",
    "GIT_COMMITTER_NAME": "swe-gym-env",
    "GIT_COMMITTER_EMAIL": "tasks@swe-gym-env.invalid",
    "GIT_AUTHOR_DATE": "2000-01-01T00:00:00+0000",
    "GIT_COMMITTER_DATE": "2000-01-01T00:00:00+0000",
}
COMMIT_IDENTITY = " ".join(f"{key}={shlex.quote(value)}" for key, value in COMMIT_ENV.items())

PREPARE_SCRIPT = f"""set -eo pipefail
cd {WORKDIR}
git config --global --add safe.directory '*' >/dev/null 2>&1 || true
git config --global user.name >/dev/null 2>&1 || git config --global user.name agent
git config --global user.email >/dev/null 2>&1 || git config --global user.email agent@swe-gym-env.invalid
if [ -e {SETUP_PATCH_PATH} ]; then
  rm -rf .git
  git apply --whitespace=nowarn {SETUP_PATCH_PATH}
  rm -f {SETUP_PATCH_PATH}
fi
if [ ! -d .git ]; then
  find . -name __pycache__ -type d -prune -exec rm -rf {{}} +
  git -c init.defaultBranch=main init -q
  git add -A
  env {COMMIT_IDENTITY} git -c commit.gpgsign=false commit -q --no-verify --allow-empty -m "Initial commit"
fi
git rev-parse HEAD
"""

STAGED_MARK = ".git/swe-gym-staged"
STAGE_SCRIPT = f"""set -eo pipefail
cd {WORKDIR}
git config --global --add safe.directory '*' >/dev/null 2>&1 || true
git config --global user.name >/dev/null 2>&1 || git config --global user.name agent
git config --global user.email >/dev/null 2>&1 || git config --global user.email agent@swe-gym-env.invalid
rm -rf .git
find . -name __pycache__ -type d -prune -exec rm -rf {{}} +
git -c init.defaultBranch=main init -q
git add -A
touch {STAGED_MARK}
"""

# $1..: the paths the setup patch touches
STAGED_PREPARE_SCRIPT = f"""set -eo pipefail
cd {WORKDIR}
[ -e {STAGED_MARK} ] || {{ echo "not staged" >&2; exit 3; }}
old=$(git ls-files -s -- "$@" | while read -r mode blob rest; do echo "$blob"; done)
git apply --whitespace=nowarn {SETUP_PATCH_PATH}
rm -f {SETUP_PATCH_PATH} {STAGED_MARK}
git add -A
env {COMMIT_IDENTITY} git -c commit.gpgsign=false commit -q --no-verify --allow-empty -m "Initial commit"
used=$(git ls-tree -r HEAD | while read -r mode kind blob rest; do echo "$blob"; done)
for blob in $old; do
  case $'\n'"$used"$'\n' in *$'\n'"$blob"$'\n'*) ;; *) rm -f ".git/objects/${{blob:0:2}}/${{blob:2}}" ;; esac
done
git rev-parse HEAD
"""

DIFF_SCRIPT = """cd {workdir} || exit 3
idx=/tmp/.swe-gym-index.$$
cp .git/index "$idx" 2>/dev/null || rm -f "$idx"
export GIT_INDEX_FILE="$idx"
git add -A . >/dev/null 2>&1 || {{ rm -f "$idx"; echo "git add failed" >&2; exit 4; }}
git -c core.quotepath=false -c diff.noprefix=false -c diff.mnemonicprefix=false diff --cached --binary \
  --no-color --no-ext-diff --no-textconv --no-renames --full-index {base} --
rc=$?
rm -f "$idx"
exit $rc
"""

_SHA = re.compile(r"^[0-9a-f]{40}$")
MAX_PATCH_BYTES = 64 * 1024 * 1024


INLINE_BYTES = 48 * 1024  # a file up to this size travels inside the command that uses it (one call, not two)


def with_file(sandbox: Sandbox, path: str, data: bytes, script: str) -> str:
    """``script`` preceded by what puts ``data`` at ``path`` (absolute): for small data, a line that decodes
    it from the command itself - no separate file upload, half the daemon round trips; larger data is
    written with :meth:`Sandbox.write_file` first (a command line is bounded)."""
    if len(data) > INLINE_BYTES:
        sandbox.write_file(path, data)
        return script
    encoded = base64.b64encode(data).decode("ascii")
    return f"printf %s '{encoded}' | base64 -d > {shlex.quote(path)} || exit 5\n{script}"


def _with_patch(sandbox: Sandbox, script: str, setup_patch: str) -> str:
    return with_file(sandbox, SETUP_PATCH_PATH, setup_patch.encode(), script)


def read_files(sandbox: Sandbox, paths: list[str], timeout: float = 120.0) -> dict[str, bytes]:
    """The contents of the regular files among ``paths`` (relative to /testbed, or absolute), read with one
    command; a path that is missing, not a regular file or unreadable is left out. A sandbox that does not
    run the command (no shell, no base64) is read file by file."""
    marker = f"SWEGYM-FILE-{secrets.token_hex(6)}"
    plain = [path for path in paths if "\n" not in path]
    command = (f"for p in {' '.join(shlex.quote(path) for path in plain)}; do "
               f'if [ -f "$p" ] && [ -r "$p" ]; then printf "%s %s\\n" {marker} "$p"; base64 -w0 < "$p"; echo; fi; '
               f"done; echo {marker}-END") if plain else f"echo {marker}-END"
    result = sandbox.exec(command, timeout=timeout, max_output=MAX_PATCH_BYTES)
    lines = result.output.split("\n")
    if not result.ok or f"{marker}-END" not in lines:
        return _read_each(sandbox, paths)
    out: dict[str, bytes] = {}
    for index, line in enumerate(lines[:-1]):
        if line.startswith(marker + " "):  # its contents are on the next line
            try:
                out[line[len(marker) + 1:]] = base64.b64decode(lines[index + 1], validate=True)
            except ValueError:
                return _read_each(sandbox, paths)
    out.update(_read_each(sandbox, [path for path in paths if path not in plain]))
    return out


def _read_each(sandbox: Sandbox, paths: list[str]) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for path in paths:
        try:
            out[path] = sandbox.read_file(path)
        except (FileNotFoundError, IsADirectoryError, PermissionError):
            continue
    return out


def prepare(sandbox: Sandbox, setup_patch: str, expected_base: str = "", timeout: float = 300.0) -> str:
    """Bring /testbed to the task's starting state and return its base commit.

    Raises :class:`SandboxStartError` when the state cannot be reached or its commit differs from
    ``expected_base`` (the image is not the one the task was made for).
    """
    script = _with_patch(sandbox, PREPARE_SCRIPT, setup_patch) if setup_patch else PREPARE_SCRIPT
    return _checked(sandbox.exec(script, timeout=timeout, max_output=1 << 20), setup_patch, expected_base)


def _checked(result: ExecResult, setup_patch: str, expected_base: str) -> str:
    lines = result.output.strip().splitlines()
    base = lines[-1].strip() if lines else ""
    if not result.ok or not _SHA.match(base):
        raise SandboxStartError(f"could not prepare {WORKDIR} (exit {result.exit_code}): {result.output[-2000:]}")
    if setup_patch and expected_base and base != expected_base:
        raise SandboxStartError(
            f"task state commit {base} differs from the task's base_commit {expected_base}: "
            "the image does not hold the repository the task was made for (rebuild the images)"
        )
    return base


def stage(sandbox: Sandbox, timeout: float = 300.0) -> None:
    """Hash an image's files into a fresh repository ahead of any task (see the module docstring)."""
    result = sandbox.exec(STAGE_SCRIPT, timeout=timeout, max_output=1 << 20)
    if not result.ok:
        raise SandboxStartError(f"could not stage {WORKDIR} (exit {result.exit_code}): {result.output[-2000:]}")


def prepare_staged(sandbox: Sandbox, setup_patch: str, expected_base: str = "", timeout: float = 300.0) -> str:
    """:func:`prepare` on a staged sandbox: only the files the setup patch touches are hashed again."""
    paths = sorted(patch_paths(setup_patch))
    command = STAGED_PREPARE_SCRIPT.replace("\"$@\"", " ".join(shlex.quote(p) for p in paths))
    command = _with_patch(sandbox, command, setup_patch)
    return _checked(sandbox.exec(command, timeout=timeout, max_output=1 << 20), setup_patch, expected_base)


def diff(sandbox: Sandbox, base: str, timeout: float = 120.0) -> str:
    """The agent's change: /testbed against ``base``, new files included, .gitignore respected."""
    result = sandbox.exec(
        DIFF_SCRIPT.format(workdir=WORKDIR, base=base), timeout=timeout, max_output=MAX_PATCH_BYTES
    )
    if not result.ok:
        raise DiffError(f"could not take the diff of {WORKDIR} (exit {result.exit_code}): {result.output[-1000:]}")
    return result.output


class DiffError(RuntimeError):
    """The working copy cannot be diffed (for instance the agent deleted .git): an agent-side outcome."""
