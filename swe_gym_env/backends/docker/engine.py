"""Make sure a Docker engine answers: install it from the distribution and start it when absent (as root);
and start private engines beside it (:class:`PrivateDaemon`) for local multi-node tests.

``swe-gym-env engine`` is the first set-up step on a fresh machine. When the daemon already answers,
it does nothing. Otherwise, as root on a Debian/Ubuntu host, it installs ``docker.io`` with apt-get and
starts ``dockerd`` in the background (logging to /var/log/swe-gym-env-dockerd.log); as anyone else it
says exactly what to do.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import docker
import docker.errors
import requests.exceptions

from ...errors import DaemonError

log = logging.getLogger(__name__)

DOCKERD_LOG = "/var/log/swe-gym-env-dockerd.log"


def daemon_answers(timeout: float = 5.0) -> bool:
    try:
        client = docker.from_env(timeout=int(timeout) or 1)
        client.ping()
        client.close()
        return True
    except (docker.errors.DockerException, requests.exceptions.RequestException, OSError):
        return False


def _apt_install(*packages: str) -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", *packages]):
        done = subprocess.run(command, capture_output=True, text=True, env=env)
        if done.returncode != 0:
            raise DaemonError(f"`{' '.join(command)}` failed: {(done.stdout + done.stderr)[-2000:]}")


def ensure_engine(wait: float = 90.0) -> str:
    """Return a short description of the running engine, installing/starting one if needed."""
    if daemon_answers():
        return "the Docker daemon is running"
    if os.environ.get("DOCKER_HOST", "").startswith(("tcp://", "ssh://")):
        raise DaemonError(f"DOCKER_HOST={os.environ['DOCKER_HOST']} does not answer; start that engine")
    if os.geteuid() != 0:
        raise DaemonError(
            "no Docker daemon answers and starting one needs root: install Docker "
            "(e.g. `sudo apt-get install docker.io`), start it (`sudo systemctl start docker` or `sudo dockerd &`), "
            "and add yourself to the docker group"
        )
    if shutil.which("dockerd") is None:
        if shutil.which("apt-get") is None:
            raise DaemonError("no Docker daemon and no apt-get to install one: install Docker for your distribution")
        log.info("installing docker.io from the distribution")
        _apt_install("docker.io")
    if shutil.which("iptables") is None:
        _apt_install("iptables")
    log.info("starting dockerd (log: %s)", DOCKERD_LOG)
    with open(DOCKERD_LOG, "ab") as handle:
        subprocess.Popen(
            ["dockerd"], stdout=handle, stderr=handle, stdin=subprocess.DEVNULL, start_new_session=True
        )
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if daemon_answers(timeout=2):
            return "started dockerd"
        time.sleep(0.5)
    raise DaemonError(f"dockerd did not answer within {wait:.0f} s; see {DOCKERD_LOG}")


def wait_for_daemon(base_url: str | None, timeout: float = 90.0) -> bool:
    """Whether the daemon at ``base_url`` (None: the environment's) answers within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            client = docker.DockerClient(base_url=base_url, timeout=5) if base_url else docker.from_env(timeout=5)
            client.ping()
            client.close()
            return True
        except (docker.errors.DockerException, requests.exceptions.RequestException, OSError):
            time.sleep(0.5)
    return False


def stop_process(pid: int, timeout: float = 60.0, group: bool = False) -> None:
    """SIGTERM, then SIGKILL (to the whole process group with ``group``) after ``timeout`` s."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    try:
        if group:
            os.killpg(pid, signal.SIGKILL)  # dockerd and the containerd it started
        else:
            os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


class PrivateDaemon:
    """A second Docker engine on this host (root): its own socket, data root, exec root, containerd and
    default bridge, and no iptables rules, so it shares nothing with the host's engine. (``--bridge none``
    would not do: dockerd then deletes the host's ``docker0``, which the host's engine still uses.)

    It stands in for another machine's daemon: a node of a local Ray test cluster, or the engine a soak
    run restarts under load. ``name`` keeps several apart (``/run/swe-gym-<name>/docker.sock``).
    """

    def __init__(self, name: str = "private") -> None:
        self.name = name
        self.run_dir = Path(f"/run/swe-gym-{name}")
        self.socket = self.run_dir / "docker.sock"
        self.data_root = Path(f"/var/lib/swe-gym-{name}-docker")
        self.exec_root = self.run_dir / "exec"
        self.log_path = Path(f"/tmp/swe-gym-{name}-dockerd.log")
        self.url = f"unix://{self.socket}"
        digest = hashlib.sha256(name.encode()).hexdigest()
        self.bridge = f"sgd{digest[:8]}"  # a Linux interface name: 15 characters at most
        self.bridge_cidr = f"10.{200 + int(digest[8:10], 16) % 50}.{int(digest[10:12], 16)}.1/24"
        self.argv = [
            "dockerd",
            "--host", self.url,
            "--data-root", str(self.data_root),
            "--exec-root", str(self.exec_root),
            "--pidfile", str(self.run_dir / "docker.pid"),
            "--bridge", self.bridge,
            "--iptables=false",
            "--ip-masq=false",
            "--shutdown-timeout", "3",
        ]  # fmt: skip
        self.process: subprocess.Popen[bytes] | None = None

    @staticmethod
    def available() -> bool:
        """Whether one can be started here (root, ``dockerd`` and iproute2's ``ip`` on PATH)."""
        return os.geteuid() == 0 and shutil.which("dockerd") is not None and shutil.which("ip") is not None

    def start(self, wait: float = 90.0) -> None:
        if not self.available():
            raise DaemonError("a private dockerd needs root and dockerd on PATH (`swe-gym-env engine` installs it)")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._make_bridge()
        with open(self.log_path, "ab") as out:
            self.process = subprocess.Popen(self.argv, stdout=out, stderr=out, start_new_session=True)
        if not wait_for_daemon(self.url, wait):
            raise DaemonError(f"the private dockerd {self.name!r} did not come up; see {self.log_path}")

    def _make_bridge(self) -> None:
        if Path(f"/sys/class/net/{self.bridge}").exists():
            return
        for command in (["ip", "link", "add", self.bridge, "type", "bridge"],
                        ["ip", "addr", "add", self.bridge_cidr, "dev", self.bridge],
                        ["ip", "link", "set", self.bridge, "up"]):
            done = subprocess.run(command, capture_output=True, text=True)
            if done.returncode != 0:
                raise DaemonError(f"`{' '.join(command)}` failed: {done.stderr.strip()}")

    def restart(self) -> float:
        """Stop it (the containers die with it) and start it again; returns the seconds it took."""
        started = time.monotonic()
        assert self.process is not None
        # dockerd logs "shutdown complete" within a second but may then wait on its containerd for a
        # minute: past 10 s the whole group is killed (the containers die either way)
        stop_process(self.process.pid, timeout=10, group=True)
        self.process.wait()
        self.start()
        return time.monotonic() - started

    def client(self) -> docker.DockerClient:
        return docker.DockerClient(base_url=self.url, timeout=600)

    def load_images(self, images: list[str], source: docker.DockerClient | None = None) -> None:
        """Copy ``images`` from ``source`` (the host's engine by default) unless it has them."""
        source, target = source or docker.from_env(timeout=600), self.client()
        for image in images:
            try:
                target.images.get(image)
                continue
            except docker.errors.ImageNotFound:
                pass
            log.info("loading %s into the private dockerd %s", image, self.name)
            for _ in target.api.load_image(source.api.get_image(image, chunk_size=1 << 20)):  # streamed
                pass

    def stop(self, remove_data: bool = True) -> None:
        if self.process is not None and self.process.poll() is None:
            stop_process(self.process.pid, timeout=20, group=True)
            self.process.wait()
        if remove_data:
            shutil.rmtree(self.data_root, ignore_errors=True)
            shutil.rmtree(self.exec_root, ignore_errors=True)
            subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)
