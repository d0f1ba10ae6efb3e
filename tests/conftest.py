"""Shared fixtures: the simulated state data centre (tests/rig)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest

from tests.rig.rig import Rig

# pytest-xdist's workers start with COLUMNS=80 and LINES=24 in their environment (set in the controlling
# process by a plugin before it starts them). Every terminal a test opens (pexpect, tmux) would inherit them,
# and Python's shutil.get_terminal_size reads them before the terminal's own size.
for _inherited_size in ("COLUMNS", "LINES"):
    os.environ.pop(_inherited_size, None)


def start_rig(tmp_path_factory: pytest.TempPathFactory, **kwargs) -> Rig:
    """Start a fresh rig of one's own (Rig.up keywords: nodes, facts, rollout_delay, netns, server_version)."""
    return Rig.up(tmp_path_factory.mktemp("rig"), **kwargs)


@pytest.fixture(scope="session")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    """One healthy 3-node rig shared by the whole session. Leave it as you found it."""
    shared = start_rig(tmp_path_factory, nodes=3)
    yield shared
    shared.down()


@pytest.fixture
def rig_env(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> Rig:
    """The shared rig with the environment variables its answers file references set."""
    for name, value in rig.env.items():
        monkeypatch.setenv(name, value)
    return rig


@pytest.fixture
def fresh_rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Rig]]:
    """A factory for rigs of a test's own: fresh_rig(nodes=3, facts=["n3:cpus=1"]); stopped after the test."""
    started: list[Rig] = []

    def start(**kwargs) -> Rig:
        started.append(start_rig(tmp_path_factory, **kwargs))
        return started[-1]

    yield start
    for one in started:
        one.down(quiet=True)
