"""A sandbox in a local Docker container: isolated, labelled, limited; commands with real timeouts.

Defaults: the project network with no route out (:mod:`.network`), memory/CPU/pids limits, all
capabilities dropped, no-new-privileges, and a PID 1 that reaps orphans and that the agent cannot kill.
Commands run in a persistent shell session per container (:mod:`.shell`, ``exec_mode="session"``, the
default) or one ``docker exec`` each (``"stateless"``). Retries wrap only idempotent daemon calls
(create-or-replace by name, inspect, archive get/put, remove, exec_create of the session shell); the
agent's own command is sent once and never retried.
"""

from __future__ import annotations

import contextlib
import io
import logging
import posixpath
import tarfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import docker
import docker.errors

from ...errors import ImageNotFoundError, InfraError, SandboxLostError, SandboxStartError
from ..base import WORKDIR, ExecResult, Limits
from ..workspace import diff as diff_workspace
from ..workspace import prepare as prepare_workspace
from ..workspace import prepare_staged
from ..workspace import stage as stage_workspace
from ..wrapper import parse_wrapper_output, wrapper_argv
from .client import (
    DOCKER_ERRORS,
    RUN_ID,
    daemon_error,
    daemon_retry,
    get_client,
    is_transient,
    labels_for,
    remove_container,
    with_deadline,
)
from .images import ensure_image
from .network import ensure_network
from .shell import DockerExecChannel, SessionError, ShellSession

log = logging.getLogger(__name__)

EXEC_MODES = ("session", "stateless")
CONTAINER_ENV = {
    "PAGER": "cat",
    "GIT_PAGER": "cat",
    "MANPAGER": "cat",
    "TERM": "dumb",
    "LANG": "C.UTF-8",
    "PIP_PROGRESS_BAR": "off",
    "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    "PYTHONUNBUFFERED": "1",
}

# The container's PID 1: a shell that keeps the container alive and reaps orphans (bash reaps every
# child on SIGCHLD). As PID 1 it ignores signals it has no handler for, so an agent's `kill -9 -1`
# kills its own processes but not its container; `docker stop` (SIGTERM) ends it at once.
KEEPER = "trap 'exit 0' TERM INT; while :; do sleep 86400 & wait $!; done"


class DockerSandbox:
    """A started container holding a task's /testbed. Use :meth:`start`; close it when done.

    ``exec_mode="session"`` runs commands in one persistent shell (fast; see :mod:`swe_gym_env.shell`),
    ``"stateless"`` runs each in its own ``docker exec``. With ``persist=True`` (agent sandboxes) the
    session keeps the working directory, variables and functions between commands, like a terminal;
    :meth:`prepare` and :meth:`diff` always run clean. ``remover`` removes the container on
    :meth:`close` (the backend passes its background reaper, so closing does not wait on the daemon).
    """

    def __init__(
        self,
        container: Any,
        limits: Limits,
        base_commit: str = "",
        *,
        exec_mode: str = "session",
        remover: Callable[[Any], None] | None = None,
    ) -> None:
        if exec_mode not in EXEC_MODES:
            raise ValueError(f"exec_mode must be one of {EXEC_MODES}, got {exec_mode!r}")
        self.container = container
        self.limits = limits
        self.exec_mode = exec_mode
        self.persist = False
        self.task_id = ""
        self._base_commit = base_commit
        self._modes: dict[str, int] = {}
        self._closed = False
        self._lock = threading.Lock()
        self._exec_lock = threading.RLock()
        self._clean = 0  # > 0 while prepare/diff run: no terminal state in or out
        self._session: ShellSession | None = None
        self._remover = remover
        self.staged = False
        self.origin = "cold"  # how it was handed out: "task" (prepared ahead), "image" (a spare) or "cold"

    @property
    def id(self) -> str:
        return self.container.id

    @property
    def base_commit(self) -> str:
        return self._base_commit

    @classmethod
    def start(
        cls,
        image: str,
        *,
        client: docker.DockerClient | None = None,
        limits: Limits = Limits(),
        network: str = "internal",
        role: str = "agent",
        task_id: str = "",
        env: dict[str, str] | None = None,
        pull_policy: str = "missing",
        exec_mode: str = "session",
        remover: Callable[[Any], None] | None = None,
    ) -> DockerSandbox:
        """Create and start a container from ``image`` (pulled according to ``pull_policy``)."""
        client = client or get_client()
        ensure_image(client, image, pull_policy)
        network_mode = ensure_network(client, network)
        name = f"swe-gym-{RUN_ID}-{uuid.uuid4().hex[:8]}"
        kwargs: dict[str, Any] = dict(
            command=["bash", "-c", KEEPER],
            name=name,
            detach=True,
            labels=labels_for(role, task_id),
            network_mode=network_mode,
            mem_limit=limits.memory,
            memswap_limit=limits.memory,
            nano_cpus=int(limits.cpus * 1e9),
            pids_limit=limits.pids,
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            working_dir=WORKDIR,
            hostname="testbed",
            environment={**CONTAINER_ENV, **(env or {})},
        )
        if network == "internal":  # no resolver answers there: fail in 1 s like an offline host, not 10
            kwargs["dns_opt"] = ["timeout:1", "attempts:1"]
        if limits.storage:
            kwargs["storage_opt"] = {"size": limits.storage}
        try:
            container = _create_container(client, image, kwargs)
        except docker.errors.ImageNotFound as error:
            raise ImageNotFoundError(f"image {image!r} is not available: {error}") from error
        except DOCKER_ERRORS as error:
            raise SandboxStartError(f"could not start a container from {image!r}: {error}") from error
        sandbox = cls(container, limits, exec_mode=exec_mode, remover=remover)
        sandbox.task_id = task_id
        return sandbox

    def prepare(self, setup_patch: str = "", expected_base: str = "") -> str:
        """Reach the task's starting state (see :func:`swe_gym_env.backends.workspace.prepare`); returns the
        base commit. A staged container (:meth:`stage`) only hashes what the setup patch changes."""
        with self._clean_mode():
            if self.staged:
                if not setup_patch:
                    raise SandboxStartError("a staged container holds no task's repository: the task needs one as built")
                self.staged = False
                self._base_commit = prepare_staged(self, setup_patch, expected_base)
            else:
                self._base_commit = prepare_workspace(self, setup_patch, expected_base)
        return self._base_commit

    def stage(self) -> None:
        """Hash the image's files into a fresh repository ahead of any task (a warm spare of its image)."""
        with self._clean_mode():
            stage_workspace(self)
        self.staged = True

    @contextlib.contextmanager
    def _clean_mode(self) -> Iterator[None]:
        with self._exec_lock:
            self._clean += 1
            try:
                yield
            finally:
                self._clean -= 1

    # -- the session -------------------------------------------------------------------------------
    def _open_channel(self) -> DockerExecChannel:
        api = self.container.client.api

        @daemon_retry
        def create() -> str:
            return api.exec_create(
                self.container.id, ["bash", "--noprofile", "--norc"], stdin=True, tty=False, workdir=WORKDIR
            )["Id"]

        try:
            exec_id = create()
            sock = api.exec_start(exec_id, socket=True)
        except DOCKER_ERRORS as error:
            raise daemon_error(error, "starting the shell session") from error
        return DockerExecChannel(api, exec_id, sock)

    def start_session(self) -> ShellSession | None:
        """Start the persistent shell now (the warm pool does it ahead of time); None in stateless mode."""
        with self._exec_lock:
            if self.exec_mode != "session":
                return None
            if self._session is None:
                self._session = ShellSession(self._open_channel, self.limits, on_death=self._check_after_death)
            if not self._session.alive:
                try:
                    self._session.start()
                except SessionError as error:
                    self._check_running()
                    log.warning("no shell session in %s (%s): running commands one exec each", self.id[:12], error)
                    self.exec_mode, self._session = "stateless", None
            return self._session

    @property
    def alive(self) -> bool:
        """Whether the container is usable: its session answers (no daemon call), or it is running."""
        if self._closed:
            return False
        if self._session is not None:
            return self._session.alive
        try:
            self._check_running()
        except InfraError:
            return False
        return True

    def _check_after_death(self, settle: float = 1.5) -> None:
        """The session shell died: raise if the container is going down too (it may take a moment)."""
        deadline = time.monotonic() + settle
        while True:
            self._check_running()
            if time.monotonic() >= deadline:
                return
            time.sleep(0.25)

    def _check_running(self) -> None:
        @daemon_retry
        def status() -> str:
            self.container.reload()
            return self.container.status

        try:
            state = status()
        except DOCKER_ERRORS as error:
            raise daemon_error(error, "checking the container") from error
        if state != "running":
            raise SandboxLostError(f"the container is {state}, not running")

    def _check_open(self) -> None:
        if self._closed:
            raise SandboxLostError("the sandbox is closed")

    def exec(
        self,
        command: str,
        *,
        timeout: float | None = None,
        workdir: str = WORKDIR,
        env: dict[str, str] | None = None,
        max_output: int | None = None,
    ) -> ExecResult:
        self._check_open()
        timeout = float(timeout or self.limits.command_timeout)
        if self.exec_mode == "session":
            with self._exec_lock:
                session = self.start_session()
                if session is not None:
                    return self._exec_session(session, command, timeout, workdir, env, max_output)
        return self._exec_stateless(command, timeout, workdir, env, max_output)

    def _exec_session(
        self,
        session: ShellSession,
        command: str,
        timeout: float,
        workdir: str,
        env: dict[str, str] | None,
        max_output: int | None,
    ) -> ExecResult:
        persist = self.persist and not self._clean
        try:
            return session.run(
                command,
                timeout=timeout,
                max_output=max_output,
                workdir=workdir if workdir != WORKDIR else None,
                env=env,
                persist=persist,
                base_dir=WORKDIR,
            )
        except SessionError as error:
            self._kill_session(session)
            raise SandboxLostError(f"running a command: {error}") from error

    def _kill_session(self, session: ShellSession) -> None:
        pid = session.pid
        session.kill()
        if pid:
            try:
                self.container.exec_run(["kill", "-KILL", str(pid)], detach=True)
            except DOCKER_ERRORS:
                pass

    def _exec_stateless(
        self, command: str, timeout: float, workdir: str, env: dict[str, str] | None, max_output: int | None
    ) -> ExecResult:
        argv = wrapper_argv(command, timeout, self.limits, max_output)
        started = time.monotonic()

        def run() -> Any:
            return self.container.exec_run(argv, workdir=workdir, environment=env, demux=False)

        try:
            result = with_deadline(run, timeout + 60, "a command")  # sent once: never retried
        except InfraError:
            raise
        except DOCKER_ERRORS as error:
            raise daemon_error(error, "running a command") from error
        duration = time.monotonic() - started
        return parse_wrapper_output(result.output or b"", timeout, duration)

    def read_file(self, path: str) -> bytes:
        self._check_open()
        path = posixpath.normpath(posixpath.join(WORKDIR, path))

        @daemon_retry
        def get() -> bytes:
            stream, _stat = self.container.get_archive(path)
            return b"".join(stream)

        try:
            data = get()
        except docker.errors.NotFound as error:
            if "No such container" in str(error):
                raise daemon_error(error, f"reading {path}") from error
            raise FileNotFoundError(path) from None
        except DOCKER_ERRORS as error:
            raise daemon_error(error, f"reading {path}") from error
        with tarfile.open(fileobj=io.BytesIO(data)) as archive:
            member = archive.next()
            if member is None:
                raise FileNotFoundError(path)
            if member.isdir():
                raise IsADirectoryError(path)
            if member.issym() or member.islnk():
                target = posixpath.normpath(posixpath.join(posixpath.dirname(path), member.linkname))
                return self.read_file(target)
            extracted = archive.extractfile(member)
            if extracted is None:
                raise IsADirectoryError(path)
            self._modes[path] = member.mode
            return extracted.read()

    def write_file(self, path: str, data: bytes) -> None:
        self._check_open()
        path = posixpath.normpath(posixpath.join(WORKDIR, path))
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as archive:
            info = tarfile.TarInfo(path.lstrip("/"))
            info.size = len(data)
            info.mode = self._modes.get(path, 0o644)
            info.mtime = int(time.time())
            archive.addfile(info, io.BytesIO(data))
        try:
            ok = daemon_retry(self.container.put_archive)("/", buffer.getvalue())  # same bytes: idempotent
        except DOCKER_ERRORS as error:
            if isinstance(error, docker.errors.APIError) and error.status_code in (400, 403, 409, 500) and "not a directory" in str(error).lower():
                raise NotADirectoryError(path) from None
            raise daemon_error(error, f"writing {path}") from error
        if not ok:
            raise SandboxLostError(f"writing {path}: the daemon refused the archive")

    def diff(self) -> str:
        with self._clean_mode():
            return diff_workspace(self, self._base_commit)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        session, self._session = self._session, None
        if session is not None:
            session.close()
        if self._remover is not None:
            self._remover(self.container)
        else:
            remove_container(self.container)


def _create_container(client: docker.DockerClient, image: str, kwargs: dict[str, Any]) -> Any:
    """``containers.run`` with retries; a half-created container from a failed try is removed first."""
    name = kwargs["name"]

    @daemon_retry
    def attempt() -> Any:
        try:
            return client.containers.run(image, **kwargs)
        except Exception as error:
            if is_transient(error) or (isinstance(error, docker.errors.APIError) and error.status_code == 409):
                try:
                    remove_container(client.containers.get(name))
                except docker.errors.DockerException:
                    pass
            raise

    return attempt()
