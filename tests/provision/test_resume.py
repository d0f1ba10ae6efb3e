"""kill -9 at step boundaries and at random points inside provisioning, then --resume; and a lost state directory.

Whatever the moment, the end is the same cluster: one initialisation, each node joined once, DIGIT deployed.
"""

from __future__ import annotations

import os
import random
import shutil

import pytest

from tests.provision.driver import BareInstall

pytestmark = pytest.mark.timeout(1200)


def test_kill_anywhere_then_resume_and_a_lost_state_directory_reach_the_same_single_cluster(fresh_rig, tmp_path) -> None:
    rig = fresh_rig(nodes=4, bare=True, rollout_delay=0.2, roles=["control-plane", "control-plane", "worker", "worker"])
    install = BareInstall(rig, tmp_path / "state")
    seed = int(os.environ.get("DIGIT_TEST_SEED", random.randrange(1 << 30)))
    chosen = random.Random(seed)
    # Random progress reports inside provisioning, then step boundaries. A first run reports about 37 times
    # (copying, installing, starting, joining on 4 nodes); a resumed one at least 17 (4 per node, and the
    # artifacts check), so later kill points are drawn below that.
    points = [f"progress:provision:{chosen.randrange(8, 34)}"]
    points += [f"progress:provision:{n}" for n in chosen.sample(range(2, 17), 3)]
    points += ["after:provision", "before:storage", "progress:storage:2", "after:storage", "before:deploy"]
    for index, point in enumerate(points):
        killed = install.run(*(["--resume"] if index else []), kill_at=point)
        assert killed.returncode in (-9, 137), f"seed {seed}, {point}: {killed.returncode}\n{killed.stdout[-2000:]}"
    done = install.run("--resume")
    assert done.returncode == 0, f"seed {seed}\n{done.stdout[-4000:]}"
    assert "(release profile digit-sample)" in done.stdout

    def single_cluster() -> None:
        assert len(install.events("rke2", "cluster-init")) == 1, f"seed {seed}"
        assert not install.events("rke2", "split-brain")
        joined = [(e["name"], e["new_node"]) for e in install.events("supervisor", "join")]
        assert sorted(joined) == [("n2", True), ("n3", True), ("n4", True)], f"seed {seed}: {joined}"
        from installer.provision.cluster import node_readiness

        assert node_readiness(install.state / "kubeconfig") == dict.fromkeys(("n1", "n2", "n3", "n4"), True)

    single_cluster()
    token = install.node_file("n1", "/var/lib/rancher/rke2/server/token").read_text()

    # The state directory is lost: the installer finds the first server on the nodes and keeps its token.
    shutil.rmtree(install.state)
    count = len(rig.events())
    again = install.run()
    assert again.returncode == 0, again.stdout[-4000:]
    assert "initialised this cluster before; its token is reused" in again.stdout
    later = rig.events()[count:]
    assert not [e for e in later if e["who"] in ("install.sh", "rke2")]  # nothing reinstalled or restarted
    assert install.outputs("provision")["configured"] == []
    single_cluster()
    assert install.node_file("n1", "/var/lib/rancher/rke2/server/token").read_text() == token
