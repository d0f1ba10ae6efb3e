"""Adapter tests talk to the real things: the Kubernetes emulator over HTTP, sshd, PostgreSQL, Helm."""
from tests.plan.conftest import kube_api  # noqa: F401  (the emulator in its own process)
