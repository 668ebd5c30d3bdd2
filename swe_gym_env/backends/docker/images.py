"""Images: the pull policy, the base image (pulled, or bootstrapped offline), and content-hashed builds.

Layers: base (Debian bookworm with python3, pytest and git) -> repository image (a repository's code
and its dependencies, shared by every task on it) -> the task's state, applied at reset as a small
patch (see :mod:`swe_gym_env.backends.workspace`). Builds are tagged by a hash of everything that goes into
them, so an unchanged image is never rebuilt, and no registry is ever needed.

Dependencies reach a repository image in one of two ways, both honouring the host's package-index
settings (pip configuration, ``PIP_*`` variables, proxies and CA bundle):

- ``host`` (default): the host's own pip builds wheels of the pinned requirements, and the build
  installs them with ``--no-index`` - the build container needs no network at all;
- ``container``: pip runs inside the build, given the host's index settings, CA bundle and proxies.

Either way the installation happens in a throw-away build stage; the final image receives only the
installed files (no wheels, no pip configuration, no credentials) and the repository's files, with
no ``.git``: nothing in it leads back to a fix.
"""

from __future__ import annotations

import configparser
import hashlib
import io
import logging
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import docker
import docker.errors
import requests.exceptions

from ...errors import ConfigError, DaemonError, ImageNotFoundError
from ...reachability import host_reachable
from .client import LABEL, daemon_retry

log = logging.getLogger(__name__)

BASE_PACKAGES = ("python3", "python3-pytest", "python3-pip", "git", "procps", "ca-certificates", "patch")
BASE_SUITE = "bookworm"
BASE_RECIPE_VERSION = "1"
BASE_ENV = ("LANG=C.UTF-8", "LC_ALL=C.UTF-8", "PYTHONDONTWRITEBYTECODE=1", "DEBIAN_FRONTEND=noninteractive")
DEFAULT_MIRROR = "http://deb.debian.org/debian"
PULL_POLICIES = ("never", "missing", "always")


def _digest(*parts: str | bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"\0")
    return h.hexdigest()


def base_image_tag() -> str:
    """The tag of the base image, derived from its recipe (suite, packages, environment)."""
    recipe = _digest(BASE_SUITE, BASE_RECIPE_VERSION, *BASE_PACKAGES, *BASE_ENV)
    return f"swe-gym-env/base:{BASE_SUITE}-{recipe[:10]}"


def registry_host(image: str) -> str:
    first = image.split("/", 1)[0]
    if "/" in image and ("." in first or ":" in first or first == "localhost"):
        return first.split(":")[0] if first != "localhost" else "localhost"
    return "registry-1.docker.io"


def registry_reachable(host: str, timeout: float = 2.0) -> bool:
    """Whether a TCP connection to the registry opens quickly (checked once per process and host)."""
    return host_reachable(host, 443, timeout)


def image_exists(client: docker.DockerClient, image: str) -> bool:
    @daemon_retry
    def get() -> bool:
        try:
            client.images.get(image)
            return True
        except docker.errors.ImageNotFound:
            return False

    try:
        return get()
    except (docker.errors.DockerException, requests.exceptions.RequestException) as error:
        raise DaemonError(f"cannot inspect image {image!r}: {error}") from error


def pull_image(client: docker.DockerClient, image: str) -> None:
    host = registry_host(image)
    if not registry_reachable(host):
        raise ImageNotFoundError(
            f"image {image!r} is not present locally and its registry {host} is not reachable "
            "(offline): build it locally or load it with `docker load`"
        )
    repository, _, tag = image.rpartition(":") if ":" in image.split("/")[-1] else (image, "", "latest")
    log.info("pulling %s", image)
    try:
        client.images.pull(repository, tag=tag or "latest")
    except (docker.errors.DockerException, requests.exceptions.RequestException) as error:
        raise ImageNotFoundError(f"could not pull {image!r}: {error}") from error


def ensure_image(client: docker.DockerClient, image: str, pull_policy: str = "missing") -> None:
    """Make sure ``image`` is present: ``never`` pull, pull when ``missing``, or ``always`` refresh it.

    An unreachable registry is detected in about two seconds, once per process: an offline host
    never waits on a pull.
    """
    if pull_policy not in PULL_POLICIES:
        raise ConfigError(f"pull_policy must be one of {PULL_POLICIES}, got {pull_policy!r}")
    present = image_exists(client, image)
    if pull_policy == "always":
        try:
            pull_image(client, image)
            return
        except ImageNotFoundError:
            if present:
                log.warning("could not refresh %s; using the local copy", image)
                return
            raise
    if present:
        return
    if pull_policy == "never":
        raise ImageNotFoundError(f"image {image!r} is not present locally and pull_policy is 'never'")
    pull_image(client, image)


def build_image(
    client: docker.DockerClient,
    tag: str,
    dockerfile: str,
    files: Mapping[str, bytes] | None = None,
    labels: Mapping[str, str] | None = None,
    buildargs: Mapping[str, str] | None = None,
    network_mode: str = "default",
) -> str:
    """Build ``dockerfile`` with ``files`` as its context and tag it; returns the tag.

    The legacy builder is used (no BuildKit needed); base images must be present locally.
    ``network_mode="none"`` for builds whose ``RUN`` steps need no network.
    """
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        entries = {"Dockerfile": dockerfile.encode(), **(files or {})}
        for name, data in sorted(entries.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o755 if name.endswith(".sh") else 0o644
            info.mtime = 946684800  # fixed, so the context (and the build cache) does not depend on time
            archive.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    started = time.monotonic()
    try:
        client.images.build(
            fileobj=buffer,
            custom_context=True,
            tag=tag,
            rm=True,
            forcerm=True,
            pull=False,
            labels={LABEL: "1", **(labels or {})},
            buildargs=dict(buildargs or {}),
            network_mode=network_mode,
        )
    except docker.errors.BuildError as error:
        lines = [chunk.get("stream", "") or chunk.get("error", "") for chunk in error.build_log]
        raise ImageBuildError(f"building {tag} failed: {error.msg}\n{''.join(lines)[-4000:]}") from error
    except (docker.errors.DockerException, requests.exceptions.RequestException) as error:
        raise DaemonError(f"building {tag} failed: {error}") from error
    log.info("built %s in %.1f s", tag, time.monotonic() - started)
    return tag


class ImageBuildError(DaemonError):
    kind = "image_build"


def ensure_base_image(client: docker.DockerClient, pull_policy: str = "missing", mirror: str | None = None) -> str:
    """The base image's tag, building it when absent: from a pulled Debian image, or offline by debootstrap."""
    tag = base_image_tag()
    if image_exists(client, tag):
        return tag
    if pull_policy != "never" and registry_reachable(registry_host("debian")):
        try:
            return _build_base_from_registry(client, tag)
        except (ImageNotFoundError, ImageBuildError) as error:
            log.warning("building the base image from the registry failed (%s); bootstrapping offline", error)
    return bootstrap_base_image(client, tag, mirror or os.environ.get("SWE_GYM_DEBIAN_MIRROR", DEFAULT_MIRROR))


def _build_base_from_registry(client: docker.DockerClient, tag: str) -> str:
    pull_image(client, f"debian:{BASE_SUITE}-slim")
    dockerfile = (
        f"FROM debian:{BASE_SUITE}-slim\n"
        "RUN apt-get update && apt-get install -y --no-install-recommends "
        f"{' '.join(BASE_PACKAGES)} && rm -rf /var/lib/apt/lists/*\n"
        + "".join(f"ENV {item}\n" for item in BASE_ENV)
        + "WORKDIR /testbed\n"
    )
    return build_image(client, tag, dockerfile)


def bootstrap_base_image(client: docker.DockerClient, tag: str, mirror: str) -> str:
    """Build the base image with no registry: debootstrap a Debian root filesystem and import it.

    Needs root and ``debootstrap`` (installed with apt-get when missing); takes about a minute.
    """
    if os.geteuid() != 0:
        raise ImageBuildError(
            f"the base image {tag} is missing, no registry is reachable, and bootstrapping one offline "
            "needs root (debootstrap): run `sudo swe-gym-env images base` once"
        )
    if shutil.which("debootstrap") is None:
        log.info("installing debootstrap")
        done = subprocess.run(
            ["apt-get", "install", "-y", "-q", "debootstrap"],
            capture_output=True,
            text=True,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
        if done.returncode != 0:
            raise ImageBuildError(f"could not install debootstrap: {done.stderr[-2000:]}")
    with tempfile.TemporaryDirectory(prefix="swe-gym-rootfs-") as tmp:
        root = Path(tmp) / "root"
        started = time.monotonic()
        log.info("bootstrapping Debian %s from %s (about a minute)", BASE_SUITE, mirror)
        done = subprocess.run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(BASE_PACKAGES)}",
                BASE_SUITE,
                str(root),
                mirror,
            ],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise ImageBuildError(f"debootstrap failed: {(done.stdout + done.stderr)[-3000:]}")
        for junk in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for item in (root / junk).glob("*"):
                if item.is_file():
                    item.unlink()
        (root / "testbed").mkdir(exist_ok=True)
        tar = subprocess.Popen(["tar", "-C", str(root), "--numeric-owner", "-c", "."], stdout=subprocess.PIPE)
        try:
            repository, _, version = tag.partition(":")
            changes = [f"ENV {item}" for item in BASE_ENV] + ["WORKDIR /testbed", 'CMD ["bash"]', f"LABEL {LABEL}=1"]
            client.api.import_image(src=tar.stdout, repository=repository, tag=version, changes=changes, stream_src=True)
        except (docker.errors.DockerException, requests.exceptions.RequestException) as error:
            raise ImageBuildError(f"importing the bootstrapped root filesystem failed: {error}") from error
        finally:
            tar.wait()
        log.info("bootstrapped %s in %.0f s", tag, time.monotonic() - started)
    return tag


def content_tag(repository: str, *parts: str | bytes) -> str:
    """``repository:<hash>`` of ``parts``: the same content always gets the same tag."""
    return f"{repository}:{_digest(*parts)[:12]}"


def list_project_images(client: docker.DockerClient) -> list[docker.models.images.Image]:
    return client.images.list(filters={"label": LABEL})


# -- the host's package-index settings, for builds ---------------------------------------------
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy")
CA_VARIABLES = ("PIP_CERT", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")
BUILD_DIR = "/tmp/swe-gym-build"


@dataclass(frozen=True)
class PipSettings:
    """The host's pip index settings, as a build container can use them (local paths left out)."""

    index_url: str = ""
    extra_index_urls: tuple[str, ...] = ()
    trusted_hosts: tuple[str, ...] = ()
    ca_bundle: bytes = b""
    proxies: Mapping[str, str] = field(default_factory=dict)
    timeout: str = ""

    def pip_conf(self) -> str:
        lines = ["[global]"]
        if self.index_url:
            lines.append(f"index-url = {self.index_url}")
        if self.extra_index_urls:
            lines.append(f"extra-index-url = {' '.join(self.extra_index_urls)}")
        if self.trusted_hosts:
            lines.append(f"trusted-host = {' '.join(self.trusted_hosts)}")
        if self.ca_bundle:
            lines.append(f"cert = {BUILD_DIR}/ca.crt")
        if self.timeout:
            lines.append(f"timeout = {self.timeout}")
        lines += ["disable-pip-version-check = true", "no-input = true"]
        return "\n".join(lines) + "\n"


def _remote(url: str) -> bool:
    return url.startswith(("http://", "https://"))


def host_pip_settings(environ: Mapping[str, str] | None = None) -> PipSettings:
    """Read the host's pip configuration (files and ``PIP_*`` variables), proxies and CA bundle.

    Local indexes (``file://`` URLs, find-links directories) mean nothing inside a container and
    are left out; the CA bundle is read so it can be copied into the build.
    """
    env = dict(os.environ if environ is None else environ)
    values: dict[str, str] = {}
    parser = configparser.RawConfigParser()
    files = [os.environ.get("PIP_CONFIG_FILE", "")] if env.get("PIP_CONFIG_FILE") else []
    files = ["/etc/pip.conf", "/etc/xdg/pip/pip.conf", str(Path.home() / ".pip/pip.conf"),
             str(Path.home() / ".config/pip/pip.conf"), *files]
    try:
        parser.read([f for f in files if f and os.path.isfile(f)])
    except configparser.Error as error:
        log.warning("could not read the pip configuration: %s", error)
    for section in ("global", "install", "download", "wheel"):
        if parser.has_section(section):
            for key, value in parser.items(section):
                values.setdefault(key, value)
    for key, value in env.items():
        if key.startswith("PIP_"):
            values[key[4:].lower().replace("_", "-")] = value
    index = values.get("index-url", "")
    extra = tuple(u for u in values.get("extra-index-url", "").split() if _remote(u))
    trusted = tuple(values.get("trusted-host", "").split())
    ca_path = values.get("cert") or next((env[v] for v in CA_VARIABLES if env.get(v)), "")
    ca = b""
    if ca_path and os.path.isfile(ca_path):
        ca = Path(ca_path).read_bytes()
    proxies = {key: env[key] for key in PROXY_VARIABLES if env.get(key)}
    return PipSettings(index if _remote(index) else "", extra, trusted, ca, proxies, values.get("timeout", ""))


def index_reachable(settings: PipSettings | None = None) -> bool:
    """Whether the host's package index answers (one bounded connection attempt, cached).

    When it does not, pip is run with ``--no-index``: what its find-links and caches hold still
    installs, and nothing waits on retries against an index that is not there.
    """
    if os.environ.get("SWE_GYM_OFFLINE") == "1":
        return False
    settings = settings or host_pip_settings()
    url = settings.index_url or "https://pypi.org/simple"
    netloc = url.split("://", 1)[-1].split("/", 1)[0].rsplit("@", 1)[-1]
    host, _, port = netloc.partition(":")
    return host_reachable(host, int(port) if port.isdigit() else (443 if url.startswith("https") else 80))


def host_wheels(requirements: Sequence[str], dest: Path, *, timeout: float = 900.0) -> list[Path]:
    """Wheels of ``requirements`` (and their dependencies) built by the host's pip into ``dest``.

    The host's pip applies its own index, proxy and CA settings; with ``SWE_GYM_OFFLINE=1`` or no
    reachable index it is limited to what its find-links already hold (``--no-index``).
    """
    dest.mkdir(parents=True, exist_ok=True)
    if not requirements:
        return []
    command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--wheel-dir", str(dest),
               "--retries", "1", "--timeout", "15", *requirements]
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    if not index_reachable():
        command.insert(4, "--no-index")
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    if done.returncode != 0:
        raise ImageBuildError(
            f"the host's pip could not build wheels of {', '.join(requirements)}: {(done.stdout + done.stderr)[-2000:]}"
        )
    return sorted(dest.glob("*.whl"))


# -- repository images ---------------------------------------------------------------------------
@dataclass(frozen=True)
class RepoImage:
    """The recipe of a repository image: files under /testbed and pinned dependencies.

    ``requirements`` are exact pins (``name==version``) so that the content tag, computed from the
    recipe alone, names one image. ``env`` adds ``ENV`` lines (e.g. ``PYTHONPATH=/testbed/src``
    for a src layout: the package is imported from the working copy, never installed, so there is
    no second copy of the fixed code in site-packages).
    """

    repository: str  # image repository, e.g. "swe-gym-env/repo-textkit"
    files: Mapping[str, bytes]
    requirements: tuple[str, ...] = ()
    env: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    deps_mode: str = "host"  # or "container"
    wheelhouse: str = field(default="", compare=False)  # a directory already holding the wheels (a cache)

    def __post_init__(self) -> None:
        bad = [name for name in self.files if name.startswith((".git/", "/")) or name == ".git" or ".." in name.split("/")]
        if bad:
            raise ValueError(f"repository image files must be relative and hold no .git: {bad[:3]}")
        if self.deps_mode not in ("host", "container"):
            raise ValueError(f"deps_mode must be 'host' or 'container', got {self.deps_mode!r}")

    def dockerfile(self, base: str, settings: PipSettings | None = None) -> str:
        lines = []
        if self.requirements:
            # labelled so that `images prune` finds the stage's image once the build leaves it dangling
            lines += [f"FROM {base} AS deps", f"LABEL {LABEL}=1 {LABEL}.stage=deps"]
            if self.deps_mode == "host":
                lines += [
                    f"COPY wheels/ {BUILD_DIR}/wheels/",
                    (f"RUN python3 -m pip install --no-index --no-deps --no-compile --break-system-packages "
                    f"--root {BUILD_DIR}/root {BUILD_DIR}/wheels/*.whl"),
                ]
            else:
                lines += [
                    f"COPY pip/ {BUILD_DIR}/",
                    (f"RUN PIP_CONFIG_FILE={BUILD_DIR}/pip.conf python3 -m pip install --no-compile "
                    f"--break-system-packages --root {BUILD_DIR}/root -r {BUILD_DIR}/requirements.txt"),
                ]
        lines.append(f"FROM {base}")
        if self.requirements:
            lines.append(f"COPY --from=deps {BUILD_DIR}/root/ /")
        lines += ["COPY repo/ /testbed/", "WORKDIR /testbed"]
        lines += [f"ENV {item}" for item in self.env]
        return "\n".join(lines) + "\n"

    def tag(self, base: str | None = None, settings: PipSettings | None = None) -> str:
        """The content tag: base, Dockerfile, files and pinned requirements (no daemon needed)."""
        base = base or base_image_tag()
        parts: list[str | bytes] = [base, self.dockerfile(base), *self.requirements]
        for name in sorted(self.files):
            parts += [name, self.files[name]]
        return content_tag(self.repository, *parts)

    def context(self, settings: PipSettings | None = None, wheels: Iterable[Path] = ()) -> dict[str, bytes]:
        files = {f"repo/{name}": data for name, data in self.files.items()}
        if self.requirements and self.deps_mode == "host":
            for wheel in wheels:
                files[f"wheels/{wheel.name}"] = wheel.read_bytes()
        elif self.requirements:
            settings = settings or host_pip_settings()
            files["pip/pip.conf"] = settings.pip_conf().encode()
            files["pip/requirements.txt"] = ("\n".join(self.requirements) + "\n").encode()
            if settings.ca_bundle:
                files["pip/ca.crt"] = settings.ca_bundle
        return files


def build_repo_image(
    client: docker.DockerClient,
    recipe: RepoImage,
    *,
    base: str | None = None,
    settings: PipSettings | None = None,
    force: bool = False,
) -> str:
    """Build ``recipe`` unless an image with its content tag exists; returns the tag."""
    base = base or ensure_base_image(client, "never")
    tag = recipe.tag(base)
    if not force and image_exists(client, tag):
        return tag
    with tempfile.TemporaryDirectory(prefix="swe-gym-wheels-") as tmp:
        wheels: list[Path] = []
        if recipe.requirements and recipe.deps_mode == "host":
            cached = sorted(Path(recipe.wheelhouse).glob("*.whl")) if recipe.wheelhouse else []
            wheels = cached or host_wheels(recipe.requirements, Path(tmp))
        settings = settings or (host_pip_settings() if recipe.deps_mode == "container" else None)
        buildargs = dict(settings.proxies) if settings else {}
        labels = {"swe-gym-env.repository": recipe.repository, **recipe.labels}
        # host mode installs wheels that are already in the context: its build needs no network at all;
        # container mode needs one (the engine's default bridge, or SWE_GYM_BUILD_NETWORK, e.g. "host")
        network = "none" if recipe.deps_mode == "host" else os.environ.get("SWE_GYM_BUILD_NETWORK", "default")
        build_image(client, tag, recipe.dockerfile(base), recipe.context(settings, wheels), labels=labels,
                    buildargs=buildargs, network_mode=network)
    return tag


def build_repo_images(
    client: docker.DockerClient,
    recipes: Sequence[RepoImage],
    *,
    workers: int = 2,
    progress: Callable[[RepoImage, str, BaseException | None], None] | None = None,
    force: bool = False,
) -> dict[str, str]:
    """Build several repository images in parallel; returns repository -> tag (errors re-raised last).

    ``progress(recipe, tag, error)`` is called as each one finishes.
    """
    base = ensure_base_image(client, "never")
    results: dict[str, str] = {}
    errors: list[BaseException] = []
    with ThreadPoolExecutor(max(1, workers)) as pool:
        futures = {pool.submit(build_repo_image, client, recipe, base=base, force=force): recipe for recipe in recipes}
        for future in as_completed(futures):
            recipe = futures[future]
            try:
                tag = future.result()
                results[recipe.repository] = tag
                error = None
            except Exception as failure:  # reported through progress, raised after the others finish
                tag, error = "", failure
                errors.append(failure)
            if progress is not None:
                progress(recipe, tag, error)
    if errors:
        raise errors[0]
    return results


def image_size(client: docker.DockerClient, tag: str, base: str | None = None) -> dict[str, int]:
    """``size``: the image with all its layers; ``own``: what it adds on top of ``base`` (bytes)."""
    size = int(client.images.get(tag).attrs.get("Size", 0))
    base_size = int(client.images.get(base or base_image_tag()).attrs.get("Size", 0))
    return {"size": size, "own": size - base_size}


def prune_images(
    client: docker.DockerClient,
    keep: Iterable[str],
    *,
    dry_run: bool = False,
) -> list[str]:
    """Remove the project's images whose tags are not in ``keep`` (the base image is always kept).

    Returns the tags (or ids, for untagged leftovers) removed - or that would be, with ``dry_run``.
    """
    keep = set(keep) | {base_image_tag()}
    doomed: list[str] = []
    for image in list_project_images(client):
        tags = image.tags
        if tags and any(tag in keep for tag in tags):
            continue
        doomed.append(tags[0] if tags else image.id)
    for dangling in client.images.list(filters={"dangling": True, "label": LABEL}):
        if dangling.id not in doomed:
            doomed.append(dangling.id)
    if not dry_run:
        for name in doomed:
            try:
                client.images.remove(name, noprune=False)
            except docker.errors.APIError as error:  # in use by a container, or a parent of a kept image
                log.warning("could not remove image %s: %s", name, error)
    return doomed


# -- no way back to the fix ----------------------------------------------------------------------
NO_WAY_BACK_SCRIPT = r"""cd /testbed 2>/dev/null || { echo "no /testbed"; exit 0; }
[ -d .git ] || { echo "OK no-git"; exit 0; }
all=$(git rev-list --all 2>/dev/null | sort); head=$(git rev-list HEAD 2>/dev/null | sort)
[ "$all" = "$head" ] || echo "PROBLEM refs that HEAD does not reach: $(comm -23 <(echo "$all") <(echo "$head") | head -3 | tr '\n' ' ')"
n=$(git for-each-ref --format="%(refname)" | grep -v "^refs/heads/" | wc -l); [ "$n" = 0 ] || echo "PROBLEM $n refs besides branches"
s=$(git stash list 2>/dev/null | wc -l); [ "$s" = 0 ] || echo "PROBLEM $s stash entries"
r=$(git reflog 2>/dev/null | wc -l); [ "$r" -le 1 ] || echo "PROBLEM the reflog holds $r entries"
u=$(git fsck --no-reflogs --unreachable --no-progress 2>/dev/null | head -3 | tr '\n' ' '); [ -z "$u" ] || echo "PROBLEM unreachable objects: $u"
[ -z "$(git remote)" ] || echo "PROBLEM remotes: $(git remote | tr '\n' ' ')"
echo "OK checked"
"""


def no_way_back(sandbox: object) -> list[str]:
    """What in a sandbox's /testbed could lead back to a fix: commits HEAD does not reach, other
    refs, stashes, reflog entries, unreachable objects, remotes. Empty when there is nothing."""
    result = sandbox.exec(f"bash -c {shlex_quote(NO_WAY_BACK_SCRIPT)}", timeout=120)  # type: ignore[attr-defined]
    problems = [line[len("PROBLEM ") :] for line in result.output.splitlines() if line.startswith("PROBLEM ")]
    if "OK " not in result.output:
        problems.append(f"the check did not run: {result.output[-300:]}")
    return problems


def shlex_quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


SANITIZE_SCRIPT = r"""set -e
cd /testbed
git config --global --add safe.directory /testbed
for remote in $(git remote); do git remote remove "$remote"; done
current=$(git symbolic-ref -q HEAD || true)
git for-each-ref --format='%(refname)' | while read -r ref; do
  [ "$ref" = "$current" ] || git update-ref -d "$ref"
done
git stash clear || true
git reflog expire --expire=now --all
git gc --prune=now --quiet
"""


def sanitize_image(client: docker.DockerClient, image: str) -> str:
    """A content-tagged image derived from ``image`` whose /testbed git history ends at HEAD.

    For external images (an official instance image, say) whose repository still holds what came
    after the task's base commit - other branches and tags, remotes, a reflog entry from the
    ``git reset`` that made it, objects only those reach. The derived layer keeps HEAD and its
    ancestors and drops the rest, so ``no_way_back`` finds nothing; the files are untouched.
    """
    image_id = client.images.get(image).id
    tag = content_tag("swe-gym-env/sanitized", image_id, SANITIZE_SCRIPT)
    if image_exists(client, tag):
        return tag
    dockerfile = f"FROM {image}\nCOPY sanitize.sh {BUILD_DIR}/sanitize.sh\nRUN bash {BUILD_DIR}/sanitize.sh && rm -rf {BUILD_DIR}\n"
    return build_image(client, tag, dockerfile, {"sanitize.sh": SANITIZE_SCRIPT.encode()},
                       labels={"swe-gym-env.sanitized-from": image}, network_mode="none")
