"""Repository images: content-tagged, built in parallel with no registry, dependencies from the host's
index settings (host wheels, or pip in a throw-away build stage), nothing of the build left inside."""

from __future__ import annotations

import dataclasses

import pytest

from swe_gym_env.backends.docker.client import get_client
from swe_gym_env.backends.docker.images import (
    RepoImage,
    base_image_tag,
    build_repo_image,
    build_repo_images,
    host_pip_settings,
    image_exists,
    image_size,
    prune_images,
)
from swe_gym_env.errors import InfraError
from swe_gym_env.reachability import host_reachable

pytestmark = pytest.mark.docker

FILES = {
    "pkg/__init__.py": b"def hello():\n    return 'hi'\n",
    "tests/test_pkg.py": b"from pkg import hello\n",
}


def run(client, tag: str, command: str) -> str:
    return client.containers.run(tag, ["bash", "-c", command], remove=True, network_mode="none").decode()


@pytest.fixture
def cleanup():
    tags: list[str] = []
    yield tags
    client = get_client()
    for tag in tags:
        if image_exists(client, tag):
            client.images.remove(tag, force=True)


def test_content_tags_parallel_builds_and_progress(cleanup):
    client = get_client()
    recipes = [RepoImage(f"swe-gym-test/img-{n}", {**FILES, "VERSION": str(n).encode()}) for n in range(3)]
    cleanup += [recipe.tag() for recipe in recipes]
    seen = []
    tags = build_repo_images(
        client, recipes, workers=2, progress=lambda recipe, tag, error: seen.append((tag, error))
    )
    assert sorted(tags.values()) == sorted(cleanup) and len(seen) == 3 and all(e is None for _, e in seen)
    assert build_repo_image(client, recipes[0]) == recipes[0].tag()  # cached: no rebuild
    assert RepoImage("swe-gym-test/img-0", {**FILES, "VERSION": b"0"}).tag() == recipes[0].tag()
    assert RepoImage("swe-gym-test/img-0", {**FILES, "VERSION": b"x"}).tag() != recipes[0].tag()
    out = run(
        client,
        tags["swe-gym-test/img-1"],
        "ls -A /testbed; cat /testbed/VERSION; echo; python3 -c 'import pkg; print(pkg.hello())'",
    )
    assert ".git" not in out and "1\n" in out and "hi" in out
    sizes = image_size(client, tags["swe-gym-test/img-1"])
    assert sizes["size"] > sizes["own"] >= 0 and sizes["own"] < 1_000_000
    doomed = prune_images(client, keep=[t for t in cleanup if t != tags["swe-gym-test/img-2"]], dry_run=True)
    assert tags["swe-gym-test/img-2"] in doomed and base_image_tag() not in doomed


@pytest.mark.parametrize("mode", ["host", "container"])
def test_dependencies_honour_the_host_index_settings(cleanup, mode, monkeypatch):
    """host: the host's pip builds the wheels; container: pip runs in a build stage with the host's
    index settings and CA bundle. Either way the final image holds the package and none of the build."""
    settings = host_pip_settings()
    index = settings.index_url or "https://pypi.org/simple"
    host = index.split("://", 1)[1].split("/")[0].split("@")[-1].split(":")[0]
    if not host_reachable(host, 443):
        pytest.skip(f"the package index {host} is not reachable")
    client = get_client()
    if mode == "container":
        probe = client.containers.create(base_image_tag(), ["true"], network_mode="bridge")
        try:
            probe.start()
        except Exception:  # the engine's default bridge is broken here: build on the host's network
            monkeypatch.setenv("SWE_GYM_BUILD_NETWORK", "host")
        finally:
            probe.remove(force=True)
    recipe = RepoImage(
        "swe-gym-test/deps",
        FILES,
        requirements=("text-unidecode==1.3",),
        deps_mode=mode,
        env=("PYTHONPATH=/testbed",),
    )
    cleanup.append(recipe.tag())
    try:
        tag = build_repo_image(client, recipe, force=True)
    except InfraError as error:
        if mode == "container" and "Could not find a version" in str(error):
            pytest.skip(f"build containers cannot reach the index here: {error}")
        raise
    out = run(
        client,
        tag,
        "python3 -c 'import text_unidecode, pkg; print(text_unidecode.unidecode(\"é\"))'; "
        "ls /tmp; cat /etc/pip.conf 2>/dev/null; echo PYTHONPATH=$PYTHONPATH",
    )
    assert out.splitlines()[0] == "e"
    assert "swe-gym-build" not in out and "ca.crt" not in out and "PYTHONPATH=/testbed" in out
    history = " ".join(layer.get("CreatedBy", "") for layer in client.api.history(tag))
    assert "pip.conf" not in history and "wheels" not in history  # the deps stage stayed behind


def test_recipes_with_the_same_content_share_one_image():
    first = RepoImage("swe-gym-test/same", FILES)
    assert dataclasses.replace(first, labels={"x": "y"}).tag() == first.tag()  # labels are not content
