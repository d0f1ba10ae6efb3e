"""What stops provisioning before it touches a node: a damaged artifact, a changed host key; and storage that
refuses another install's data."""

from __future__ import annotations

import pytest

from tests.provision.driver import BareInstall

pytestmark = pytest.mark.timeout(900)


def test_damaged_artifact_changed_host_key_and_foreign_volume_are_refused(fresh_rig, tmp_path) -> None:
    rig = fresh_rig(nodes=2, bare=True, rollout_delay=0.2)
    install = BareInstall(rig, tmp_path / "state")
    staging = [install.node_file(n.name, "/var/lib/rancher/digit-installer") for n in rig.nodes]

    # A dry run goes through every step (no cluster yet: every release "would install") and only looks.
    dry = install.run("--dry-run")
    assert dry.returncode == 0, dry.stdout[-3000:]
    assert "would create 2 volume director" in dry.stdout and "[deploy] gateway: would install gateway" in dry.stdout
    assert {tuple(e.get("argv", ())[:1]) for e in rig.events()} == {("is-active",)}
    assert not any(path.exists() for path in staging)
    (rig.dir / "standins" / "events.jsonl").write_text("")

    # A damaged images archive: the sums check on the jump host fails before any node is touched.
    images = rig.artifacts_path / "rke2-images.linux-amd64.tar.gz"
    original = images.read_bytes()
    images.write_bytes(original[:-10] + bytes(b ^ 0xFF for b in original[-10:]))
    damaged = install.run()
    assert damaged.returncode == 1
    assert "rke2-images.linux-amd64.tar.gz: sha256" in damaged.stdout and "does not match" in damaged.stdout
    assert "nothing was copied to any node" in damaged.stdout
    assert rig.events() == [] and not any(path.exists() for path in staging)
    images.write_bytes(original)

    # A changed host key on n2: the step stops before running anything on any node.
    old = rig.node("n2").host_key_fingerprint
    new = rig.rotate_host_key("n2")
    changed = install.run_without_preflight("--resume")
    assert changed.returncode == 1
    assert f"host key of {rig.node('n2').host} CHANGED" in changed.stdout and new in changed.stdout
    assert "nothing was changed on any node" in changed.stdout
    assert rig.events() == [] and not any(path.exists() for path in staging)
    rig.answers_path.write_text(rig.answers_path.read_text().replace(old, new))

    # A volume directory holding another install's data is neither used nor emptied.
    foreign = install.node_file("n2", "/srv/digit-volumes/backbone/data-elasticsearch-0")
    foreign.mkdir(parents=True)
    (foreign / ".digit-installer-volume").write_text("install=punjab-prod\nclaim=backbone/data-elasticsearch-0\n")
    (foreign / "nodes.dat").write_text("someone else's index")
    refused = install.run("--resume")
    assert refused.returncode == 1, refused.stdout[-3000:]
    assert ("n2: /srv/digit-volumes/backbone/data-elasticsearch-0 already exists and holds "
            "install=punjab-prod claim=backbone/data-elasticsearch-0") in refused.stdout
    assert (foreign / "nodes.dat").read_text() == "someone else's index"
    assert "install=punjab-prod" in (foreign / ".digit-installer-volume").read_text()


def test_a_failing_node_reports_its_reason_on_its_own_row_at_once(fresh_rig, tmp_path) -> None:
    rig = fresh_rig(nodes=2, bare=True, facts=["n2:sudo=password"])
    install = BareInstall(rig, tmp_path / "state")
    done = install.run_without_preflight()
    assert done.returncode == 1
    assert "[provision] n2: failed - n2: reading RKE2's state failed (exit 1): sudo: a password is required" in done.stdout
    # n1 was only inspected (systemctl is-active); nothing was installed, written or started anywhere.
    assert {tuple(e.get("argv", ())[:1]) for e in rig.events()} == {("is-active",)}
    assert not install.node_file("n1", "/etc/rancher/rke2/config.yaml").exists()
