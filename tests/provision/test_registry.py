"""With a registry mirror (the rig's TLS + htpasswd mirror): every node pulls through it, its password only in 0600 files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.provision.driver import BareInstall, mode
from tests.provision.test_install import files_holding

pytestmark = pytest.mark.timeout(900)


def test_nodes_get_the_mirror_its_ca_and_credentials_in_0600_files(fresh_rig, tmp_path) -> None:
    rig = fresh_rig(nodes=2, bare=True, registry=True, rollout_delay=0.2)
    mirror = rig.registry("mirror")
    install = BareInstall(rig, tmp_path / "state")
    done = install.run()
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    password = rig.env["DIGIT_REGISTRY_PASSWORD"]
    assert password and password not in done.stdout + done.stderr
    for node in ("n1", "n2"):
        registries = install.node_file(node, "/etc/rancher/rke2/registries.yaml")
        ca = install.node_file(node, "/etc/rancher/rke2/registry-ca.crt")
        config = install.node_file(node, "/etc/rancher/rke2/config.yaml").read_text()
        assert mode(registries) == 0o600 and mode(ca) == 0o600
        text = registries.read_text()
        document = json.loads(text[text.index("{"):])
        host = mirror.address.split("/", 1)[0]
        assert document["mirrors"][host]["endpoint"] == [f"https://{host}"]
        assert document["configs"][host] == {"auth": {"username": mirror.user, "password": password},
                                             "tls": {"ca_file": "/etc/rancher/rke2/registry-ca.crt"}}
        assert ca.read_text() == Path(mirror.ca_path).read_text()
        assert f'system-default-registry: "{host}"' in config
    holders = files_holding([install.state, rig.node_dir(rig.node("n1")), rig.node_dir(rig.node("n2"))],
                            password.encode())
    assert holders and set(holders.values()) == {0o600}
    assert {p.name for p in holders} <= {"registries.yaml", "env", "htpasswd"}
