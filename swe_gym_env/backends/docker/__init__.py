"""Sandboxes on the local Docker daemon.

Bottom to top: :mod:`.client` (the client, labels, retry policy), :mod:`.network`, :mod:`.images`
(pull policy, base image, content-tagged builds, the built-in libraries' recipes in
:mod:`.builtin_images`), :mod:`.engine` (installing and starting a daemon), :mod:`.shell` (persistent
shell sessions), :mod:`.pool` (warm pool and reaper), :mod:`.cleanup` (gc and orphan sweeps),
:mod:`.sandbox` (one container), :mod:`.backend` (:class:`DockerBackend`).
"""
