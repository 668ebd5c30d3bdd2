"""Images of the built-in libraries: each library's code on the base image, tagged by its content.

Every built-in task names its library's image in its ``image`` column; :func:`ensure_images` builds the
ones that are missing (``swe-gym-env setup`` and ``make test`` call it), :func:`repo_image_tag`
computes a tag without a daemon.
"""

from __future__ import annotations

from typing import Any

from ...tasks.builtin import libraries, repo_files
from .client import get_client
from .images import base_image_tag, build_image, content_tag, ensure_base_image, image_exists


def repo_dockerfile(base: str) -> str:
    return f"FROM {base}\nCOPY repo/ /testbed/\nWORKDIR /testbed\n"


def repo_image_tag(library: str) -> str:
    """The content tag of the library's repository image (no daemon needed to compute it)."""
    base = base_image_tag()
    files = repo_files(library)
    parts: list[str | bytes] = [base, repo_dockerfile(base)]
    for name, data in files.items():
        parts += [name, data]
    return content_tag(f"swe-gym-env/builtin-{library}", *parts)


def ensure_images(client: Any = None, pull_policy: str = "missing", only: list[str] | None = None) -> dict[str, str]:
    """Build the base image and every library's repository image that is missing; returns their tags."""
    client = client or get_client()
    base = ensure_base_image(client, pull_policy)
    tags = {}
    for library in only or libraries():
        tag = repo_image_tag(library)
        if not image_exists(client, tag):
            files = {f"repo/{name}": data for name, data in repo_files(library).items()}
            build_image(client, tag, repo_dockerfile(base), files, labels={"swe-gym-env.library": library})
        tags[library] = tag
    return tags
