"""The project's container network: no route out, no traffic between containers, the host out of reach.

``network="internal"`` (the default) is a Docker network created with ``internal=True`` and inter-container
traffic off; as root, a firewall rule also drops what its bridge sends to the host itself. Real test suites
survive it the way they survive an offline host (a connection fails, a lookup fails in a second).
``"none"`` gives a container no network at all; ``"bridge"`` the engine's default (for builds that need one).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import threading

import docker
import docker.errors

from .client import LABEL, daemon_retry

log = logging.getLogger(__name__)

NETWORK_NAME = "swe-gym-env-internal"
BRIDGE_OPTION = "com.docker.network.bridge.name"
NETWORK_MODES = ("internal", "none", "bridge")

_network_lock = threading.Lock()
_firewall_checked: set[str] = set()


def bridge_name(client: docker.DockerClient) -> str:
    """The Linux bridge of the project network on this daemon: named after the daemon's id, since two
    daemons on one host (a node of a local test cluster, say) cannot share a bridge name (15 chars max)."""
    daemon_id = str(client.info().get("ID", ""))
    return "swegym" + hashlib.sha256(daemon_id.encode()).hexdigest()[:8]


def _block_host_access(bridge: str) -> None:
    """Drop packets from the project bridge to the host itself, so containers cannot reach host services."""
    if bridge in _firewall_checked:
        return
    _firewall_checked.add(bridge)
    docker_host = os.environ.get("DOCKER_HOST", "")
    if docker_host and not docker_host.startswith("unix://"):
        return  # the bridge lives on another machine
    rule = ["INPUT", "-i", bridge, "-j", "DROP"]
    iptables = shutil.which("iptables")
    if os.geteuid() != 0 or iptables is None:
        log.warning(
            "containers on the %s network can reach services listening on the host's bridge address; "
            "run as root with iptables installed to block that, or use network='none'",
            NETWORK_NAME,
        )
        return
    present = subprocess.run([iptables, "-C", *rule], capture_output=True).returncode == 0
    if not present:
        done = subprocess.run([iptables, "-I", *rule], capture_output=True, text=True)
        if done.returncode != 0:
            log.warning("could not add the firewall rule that isolates the host: %s", done.stderr.strip())


@daemon_retry
def ensure_network(client: docker.DockerClient, mode: str) -> str:
    """The ``network_mode``/network name for ``mode``; creates the project's internal network once."""
    if mode not in NETWORK_MODES:
        raise ValueError(f"network must be one of {NETWORK_MODES}, got {mode!r}")
    if mode != "internal":
        return mode
    with _network_lock:
        found = [net for net in client.networks.list(names=[NETWORK_NAME]) if net.name == NETWORK_NAME]
        bridge = (found[0].attrs.get("Options") or {}).get(BRIDGE_OPTION, "") if found else bridge_name(client)
        if not found:
            try:
                client.networks.create(
                    NETWORK_NAME,
                    driver="bridge",
                    internal=True,
                    check_duplicate=True,
                    labels={LABEL: "1"},
                    options={
                        "com.docker.network.bridge.enable_icc": "false",
                        BRIDGE_OPTION: bridge,
                    },
                )
            except docker.errors.APIError as error:
                if error.status_code != 409:  # created by another process meanwhile
                    raise
        if bridge:
            _block_host_access(bridge)
    return NETWORK_NAME

