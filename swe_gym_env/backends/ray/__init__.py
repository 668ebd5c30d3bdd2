"""Sandboxes on a Ray cluster: :mod:`.backend` on the driver, :mod:`.node` on every node (needs ``[ray]``)."""
