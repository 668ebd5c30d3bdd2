"""A repository to synthesize tasks from: its files, which are tests, and its repository image.

Three kinds of source, all of them plain files in memory:

- ``builtin:<library>``: one of the project's own libraries (its image is the built-in one);
- ``pypi:<package>[==<version>]``: a package's sdist from the package index (downloaded by the
  host's pip into a cache, so later runs work offline), dependencies pinned from its metadata;
- ``dir:<path>`` / ``git:<path>[@<rev>]``: a directory, or one commit of a local git repository.

The repository image holds the files under /testbed with no ``.git`` and the pinned dependencies
installed (see :class:`swe_gym_env.backends.docker.images.RepoImage`); the package itself is imported from the
working copy, never installed, so the fixed code exists nowhere else in the image.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from ..backends.docker.images import RepoImage, build_repo_image, host_wheels, index_reachable
from ..backends.workspace import COMMIT_ENV
from ..errors import TaskError

log = logging.getLogger(__name__)

CACHE_DIR = Path(os.environ.get("SWE_GYM_CACHE", Path.home() / ".cache" / "swe-gym-env"))
SKIP_DIRS = {
    ".git",
    "__pycache__",
    ".pytest_cache",
    ".tox",
    ".nox",
    ".mypy_cache",
    ".ruff_cache",
    ".hypothesis",
    ".benchmarks",
    ".eggs",
    "build",
    "dist",
    ".venv",
    "venv",
    "node_modules",
    ".github",
}
MAX_FILE_BYTES = 2 * 1024 * 1024


def is_test_path(path: str) -> bool:
    """A pytest test module: ``test_*.py`` or ``*_test.py`` (conftest and helpers are support, not tests)."""
    name = PurePosixPath(path).name
    return name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py"))


def is_test_support(path: str) -> bool:
    """Anything under a test directory, or a conftest: part of the test suite, never of the fix."""
    parts = PurePosixPath(path).parts
    return PurePosixPath(path).name == "conftest.py" or any(
        p in ("tests", "test", "testing") for p in parts[:-1]
    )


@dataclass(frozen=True)
class RepoSource:
    """A Python repository as files in memory, with what is needed to build and describe it."""

    name: str  # "owner/repo", the tasks' ``repo`` field
    files: Mapping[str, bytes]
    version: str = "0"
    requirements: tuple[str, ...] = ()  # exact pins, installed into the image
    python_path: tuple[str, ...] = ()  # directories to put on PYTHONPATH (a src layout)
    origin: Mapping[str, str] = field(default_factory=dict)  # how to get these files again
    wheelhouse: str = ""  # a directory that already holds the requirements' wheels (a cache)

    @property
    def slug(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-")

    def text(self, path: str) -> str | None:
        try:
            return self.files[path].decode("utf-8")
        except (KeyError, UnicodeDecodeError):
            return None

    def text_files(self) -> dict[str, str]:
        out = {}
        for path in self.files:
            text = self.text(path)
            if text is not None:
                out[path] = text
        return out

    def test_files(self) -> list[str]:
        return sorted(p for p in self.files if is_test_path(p) and self.text(p) is not None)

    def source_files(self) -> list[str]:
        """Python modules that are not tests, test support, setup scripts, docs or examples."""
        skip = ("docs/", "doc/", "examples/", "example/", "benchmarks/", "scripts/", "tools/")
        return sorted(
            p
            for p in self.files
            if p.endswith(".py")
            and not is_test_path(p)
            and not is_test_support(p)
            and PurePosixPath(p).name not in ("setup.py", "conftest.py", "noxfile.py", "__main__.py")
            and not p.startswith(skip)
            and self.text(p) is not None
        )

    def recipe(self) -> RepoImage:
        env = ()
        if self.python_path:
            env = ("PYTHONPATH=" + ":".join(f"/testbed/{p}" for p in self.python_path),)
        return RepoImage(
            repository=f"swe-gym-env/repo-{self.slug}",
            files=self.files,
            requirements=self.requirements,
            env=env,
            labels={"swe-gym-env.source": self.origin_text()},
            wheelhouse=self.wheelhouse,
        )

    def origin_text(self) -> str:
        kind = self.origin.get("kind", "")
        if kind == "builtin":
            return f"builtin:{self.origin['library']}"
        if kind == "pypi":
            return f"pypi:{self.origin['package']}=={self.origin['version']}"
        if kind == "git":
            return f"git:{self.origin['path']}@{self.origin['commit']}"
        return f"dir:{self.origin.get('path', '?')}"

    def image_tag(self) -> str:
        if self.origin.get("kind") == "builtin":
            from ..backends.docker.builtin_images import repo_image_tag

            return repo_image_tag(self.origin["library"])
        return self.recipe().tag()

    def ensure_image(self, client: Any = None, pull_policy: str = "missing") -> str:
        """Build the repository image when it is missing (content-tagged: never rebuilt); returns its tag."""
        from ..backends.docker.client import get_client
        from ..backends.docker.images import ensure_base_image

        client = client or get_client()
        if self.origin.get("kind") == "builtin":
            from ..backends.docker.builtin_images import ensure_images

            return ensure_images(client, pull_policy, only=[self.origin["library"]])[self.origin["library"]]
        base = ensure_base_image(client, pull_policy)
        return build_repo_image(client, self.recipe(), base=base)


def _read_tree(root: Path) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if set(rel.parts) & SKIP_DIRS or any(part.endswith(".egg-info") for part in rel.parts):
            continue
        if path.is_symlink() or not path.is_file() or path.suffix in (".pyc", ".pyo", ".so"):
            continue
        if path.stat().st_size > MAX_FILE_BYTES:
            continue
        files[rel.as_posix()] = path.read_bytes()
    return files


def _python_path(files: Mapping[str, bytes]) -> tuple[str, ...]:
    if any(p.startswith("src/") and p.endswith("/__init__.py") and p.count("/") == 2 for p in files):
        return ("src",)
    return ()


def builtin_source(library: str) -> RepoSource:
    from ..tasks.builtin import REPO_OWNER, repo_files

    files = repo_files(library)
    version = "0.1"
    match = re.search(rb'^version\s*=\s*"([^"]+)"', files.get("pyproject.toml", b""), re.MULTILINE)
    if match:
        version = match.group(1).decode()
    return RepoSource(
        f"{REPO_OWNER}/{library}", files, version, origin={"kind": "builtin", "library": library}
    )


def directory_source(
    path: str | os.PathLike[str], name: str | None = None, requirements: tuple[str, ...] = ()
) -> RepoSource:
    root = Path(path).resolve()
    if not root.is_dir():
        raise TaskError(f"{root} is not a directory")
    files = _read_tree(root)
    return RepoSource(
        name or f"local/{root.name}",
        files,
        requirements=requirements,
        python_path=_python_path(files),
        origin={"kind": "dir", "path": str(root)},
    )


def git_files(
    repo: str | os.PathLike[str], rev: str = "HEAD", paths: Sequence[str] | None = None
) -> dict[str, bytes]:
    """Every file of ``rev`` in a local git repository, or only those of ``paths`` that exist there
    (blobs read in one ``cat-file --batch``)."""
    if paths is not None and not paths:
        return {}
    wanted = ["--", *paths] if paths is not None else []
    listing = _git(repo, "ls-tree", "-r", "-z", "--full-tree", rev, *wanted).split(b"\0")
    entries = []
    for item in listing:
        if not item:
            continue
        meta, _, path = item.partition(b"\t")
        mode, kind, sha = meta.split()
        if kind != b"blob" or mode == b"120000":
            continue
        entries.append((path.decode(), sha.decode()))
    if not entries:
        return {}
    batch = subprocess.run(
        ["git", "-C", str(repo), "cat-file", "--batch"],
        input="".join(f"{s}\n" for _, s in entries).encode(),
        capture_output=True,
        check=True,
    ).stdout
    files: dict[str, bytes] = {}
    cursor = 0
    for path, _sha in entries:
        header_end = batch.index(b"\n", cursor)
        size = int(batch[cursor:header_end].split()[2])
        start = header_end + 1
        files[path] = batch[start : start + size]
        cursor = start + size + 1
    return {p: d for p, d in files.items() if not (set(PurePosixPath(p).parts) & SKIP_DIRS)}


def _git(repo: str | os.PathLike[str], *args: str) -> bytes:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True)
    if done.returncode != 0:
        raise TaskError(
            f"git {' '.join(args)} failed in {repo}: {done.stderr.decode(errors='replace')[-500:]}"
        )
    return done.stdout


def git_source(
    path: str | os.PathLike[str],
    rev: str = "HEAD",
    name: str | None = None,
    requirements: tuple[str, ...] = (),
) -> RepoSource:
    root = Path(path).resolve()
    commit = _git(root, "rev-parse", rev).decode().strip()
    files = git_files(root, commit)
    return RepoSource(
        name or f"local/{root.name}",
        files,
        requirements=requirements,
        python_path=_python_path(files),
        origin={"kind": "git", "path": str(root), "commit": commit},
    )


# -- packages from the index -----------------------------------------------------------------------
def _unpack_sdist(archive: Path) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    if archive.name.endswith(".zip"):
        with zipfile.ZipFile(archive) as zipped:
            for info in zipped.infolist():
                if not info.is_dir():
                    files[info.filename] = zipped.read(info)
    else:
        with tarfile.open(archive) as tarred:
            for member in tarred.getmembers():
                if member.isfile():
                    extracted = tarred.extractfile(member)
                    if extracted is not None:
                        files[member.name] = extracted.read()
    tops = {name.split("/", 1)[0] for name in files}
    if len(tops) == 1:
        files = {name.split("/", 1)[1]: data for name, data in files.items() if "/" in name}
    return {
        name: data
        for name, data in files.items()
        if not (set(PurePosixPath(name).parts) & SKIP_DIRS)
        and not any(p.endswith(".egg-info") for p in PurePosixPath(name).parts)
        and not name.endswith((".pyc", ".so"))
        and len(data) <= MAX_FILE_BYTES
    }


def _requires_dist(pkg_info: str) -> list[str]:
    """Run-time requirements from PKG-INFO (extras left out, markers evaluated for this Python)."""
    from packaging.requirements import InvalidRequirement, Requirement

    out = []
    for line in pkg_info.splitlines():
        if not line.startswith("Requires-Dist:"):
            continue
        try:
            requirement = Requirement(line.split(":", 1)[1].strip())
        except InvalidRequirement:
            continue
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue
        out.append(str(requirement).split(";")[0].strip())
    return out


def pypi_source(
    spec: str, *, extra_requirements: tuple[str, ...] = (), cache_dir: Path | None = None
) -> RepoSource:
    """A package's sdist (source and tests) from the index, with its run-time dependencies pinned.

    ``spec`` is ``name`` or ``name==version``. The host's pip downloads the sdist and builds the
    dependencies' wheels into ``cache_dir``: a second call finds everything there and needs no
    network (``SWE_GYM_OFFLINE=1`` forbids it).
    """
    name, _, version = spec.partition("==")
    cache = (cache_dir or CACHE_DIR / "pypi") / (f"{name}-{version}" if version else name)
    cache.mkdir(parents=True, exist_ok=True)
    sdists = sorted(p for p in cache.glob("*") if p.name.endswith((".tar.gz", ".zip", ".tar.bz2")))
    if not sdists:
        if os.environ.get("SWE_GYM_OFFLINE") == "1":
            raise TaskError(f"the sdist of {spec} is not in the cache {cache} and SWE_GYM_OFFLINE=1")
        offline = [] if index_reachable() else ["--no-index"]  # find-links only: fail now, not after retries
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                *offline,
                "--no-binary",
                ":all:",
                "--no-deps",
                "--quiet",
                "--retries",
                "1",
                "--timeout",
                "15",
                "--dest",
                str(cache),
                spec,
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
        sdists = sorted(p for p in cache.glob("*") if p.name.endswith((".tar.gz", ".zip", ".tar.bz2")))
        if done.returncode != 0 or not sdists:
            raise TaskError(f"could not download the sdist of {spec}: {(done.stdout + done.stderr)[-1500:]}")
    archive = sdists[-1]
    files = _unpack_sdist(archive)
    pkg_info = files.get("PKG-INFO", b"").decode("utf-8", "replace")
    found = re.search(r"^Version:\s*(\S+)", pkg_info, re.MULTILINE)
    version = version or (found.group(1) if found else "0")
    requirements = _requires_dist(pkg_info) + list(extra_requirements)
    # one wheelhouse per set of requirements: extra ones given later must not find a stale cache
    digest = hashlib.sha256("\n".join(sorted(requirements)).encode()).hexdigest()[:12]
    wheelhouse = cache / f"wheels-{digest}"
    pins: tuple[str, ...] = ()
    if requirements:
        wheels = sorted(wheelhouse.glob("*.whl")) if wheelhouse.is_dir() else []
        if not wheels:
            wheels = host_wheels(requirements, wheelhouse)
        pins = tuple(
            sorted(
                f"{w.name.split('-')[0].replace('_', '-').lower()}=={w.name.split('-')[1]}" for w in wheels
            )
        )
    if not any(is_test_path(p) for p in files):
        raise TaskError(f"the sdist {archive.name} ships no tests (no test_*.py): pick another package")
    return RepoSource(
        f"pypi/{name.lower()}",
        files,
        version,
        pins,
        _python_path(files),
        origin={"kind": "pypi", "package": name, "version": version},
        wheelhouse=str(wheelhouse) if pins else "",
    )


def parse_source(text: str, **kwargs: Any) -> RepoSource:
    """``builtin:NAME``, ``pypi:NAME[==VER]``, ``git:PATH[@REV]`` or ``dir:PATH`` (a bare path: dir)."""
    kind, sep, rest = text.partition(":")
    if not sep or kind not in ("builtin", "pypi", "git", "dir"):
        kind, rest = "dir", text
    if kind == "builtin":
        return builtin_source(rest)
    if kind == "pypi":
        return pypi_source(rest, **kwargs)
    if kind == "git":
        path, _, rev = rest.partition("@")
        return git_source(path, rev or "HEAD")
    return directory_source(rest)


def commit_of_files(files: Mapping[str, bytes]) -> str:
    """The hash of the single commit :mod:`swe_gym_env.backends.workspace` makes of ``files`` at reset.

    The files are written as the image build writes them (``*.sh`` executable, the rest 0644),
    committed with the fixed identity and date, ``.gitignore`` honoured.
    """
    with tempfile.TemporaryDirectory(prefix="swe-gym-commit-") as tmp:
        root = Path(tmp)
        for name, data in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            path.chmod(0o755 if name.endswith(".sh") else 0o644)
        env = {**os.environ, **COMMIT_ENV, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}

        def git(*args: str) -> str:
            return subprocess.run(
                ["git", *args], cwd=root, env=env, check=True, capture_output=True, text=True
            ).stdout

        git("-c", "init.defaultBranch=main", "init", "-q")
        git("add", "-A")
        git(
            "-c",
            "commit.gpgsign=false",
            "commit",
            "-q",
            "--no-verify",
            "--allow-empty",
            "-m",
            "Initial commit",
        )
        return git("rev-parse", "HEAD").strip()


def archive_bytes(files: Mapping[str, bytes]) -> bytes:
    """A tar of ``files`` (for copying a tree into a sandbox in one call)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()
