"""A Ray cluster on this one machine, for trying the Ray backend, its tests and its benchmark.

``LocalCluster(nodes=2)`` starts a head raylet and ``nodes - 1`` more with ``ray.cluster_utils.Cluster``.
The head node's sandboxes use the host's Docker daemon; with ``private_daemons=True`` (root) every other
node gets a Docker daemon of its own (:class:`~swe_gym_env.backends.docker.engine.PrivateDaemon`, named
in the node's environment as ``DOCKER_HOST``, the way ``DOCKER_HOST=... ray start`` names it on a real
node), so such a node starts with no image and cleans up on its own daemon - as another machine would.
"""

from __future__ import annotations

import logging
from typing import Any

from ..docker.engine import PrivateDaemon
from .backend import _ray


class LocalCluster:
    """Start it with ``with LocalCluster(nodes=2) as cluster:``; ``cluster.address`` to join it,
    ``cluster.node_ids`` (head first), ``cluster.daemons`` (node id -> its private daemon)."""

    def __init__(self, nodes: int = 2, *, private_daemons: bool = True, cpus_per_node: int = 2,
                 connect: bool = True) -> None:
        if nodes < 1:
            raise ValueError(f"a cluster needs at least one node, got {nodes}")
        self.nodes = nodes
        self.private_daemons = private_daemons
        self.cpus_per_node = cpus_per_node
        self.connect = connect
        self.cluster: Any = None
        self.node_ids: list[str] = []
        self.daemons: dict[str, PrivateDaemon] = {}
        self.address = ""

    def start(self) -> LocalCluster:
        ray = _ray()
        from ray.cluster_utils import Cluster

        daemons = []
        try:
            for index in range(1, self.nodes):
                if self.private_daemons:
                    daemon = PrivateDaemon(f"ray-node-{index}")
                    daemon.stop(remove_data=True)  # what an interrupted run left
                    daemon.start()
                    daemons.append(daemon)
            self.cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": self.cpus_per_node})
            self.node_ids = [self.cluster.head_node.node_id]
            for index in range(1, self.nodes):
                env = {"DOCKER_HOST": daemons[index - 1].url} if self.private_daemons else {}
                node = self.cluster.add_node(num_cpus=self.cpus_per_node, env_vars=env)
                self.node_ids.append(node.node_id)
                if self.private_daemons:
                    self.daemons[node.node_id] = daemons[index - 1]
            self.cluster.wait_for_nodes()
            self.address = self.cluster.address
            if self.connect:
                ray.init(address=self.address, logging_level=logging.WARNING, log_to_driver=False)
        except BaseException:
            self.stop()
            for daemon in daemons:
                daemon.stop(remove_data=True)
            raise
        return self

    def stop(self) -> None:
        ray = _ray()
        if self.connect and ray.is_initialized():
            ray.shutdown()
        if self.cluster is not None:
            self.cluster.shutdown()
            self.cluster = None
        for daemon in self.daemons.values():
            daemon.stop(remove_data=True)
        self.daemons = {}

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
