"""The pure parts of provisioning: artifacts against their sums, each node's config, the kubeconfig rewrite."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from installer.answers import load_answers
from installer.provision.artifacts import ArtifactError, verify
from installer.provision.cluster import rewrite_kubeconfig
from installer.provision.config import CONTROL_PLANE_TAINT, members, node_config, registries_config
from tests.rig.standin import artifacts as standin

EXAMPLE = Path(__file__).resolve().parents[2] / "assets" / "examples" / "sdc-vms.yaml"


@pytest.fixture
def answers(monkeypatch):
    monkeypatch.setenv("DIGIT_DB_PASSWORD", "x")
    monkeypatch.setenv("DIGIT_REGISTRY_PASSWORD", "registry-secret")
    return load_answers(EXAMPLE)


def test_members_leave_database_and_load_balancer_out_and_servers_share_critical_settings(answers) -> None:
    cluster = members(answers.target)
    assert [m.label for m in cluster] == ["cp1", "cp2", "cp3", "w1", "w2", "w3", "w4"]
    assert {m.rke2_role for m in cluster[:3]} == {"server"} and {m.rke2_role for m in cluster[3:]} == {"agent"}
    address = answers.target.registration_address
    assert address == "10.10.0.5"  # the load balancer
    first = node_config(answers, cluster[0], "tok", address, joins=False, dedicated_control_plane=True)
    second = node_config(answers, cluster[1], "tok", address, joins=True, dedicated_control_plane=True)
    agent = node_config(answers, cluster[3], "tok", address, joins=True, dedicated_control_plane=True)
    assert "server:" not in first and 'server: "https://10.10.0.5:9345"' in second
    for line in ('cni: "canal"', 'cluster-cidr: "10.42.0.0/16"', 'service-cidr: "10.43.0.0/16"', CONTROL_PLANE_TAINT):
        assert line in first and line in second and line not in agent
    assert 'tls-san: ["10.10.0.5", "10.10.0.11"]' in first
    for text in (first, second, agent):
        assert 'system-default-registry: "registry.sdc.local:5000"' in text
        assert "disable-default-registry-endpoint: true" in text
    registries = registries_config(answers, "registry-secret")
    document = json.loads(registries.split("\n", 1)[1])
    assert document["mirrors"]["registry.sdc.local:5000"]["endpoint"] == ["https://registry.sdc.local:5000"]
    assert document["configs"]["registry.sdc.local:5000"]["auth"] == {"username": "digit", "password": "registry-secret"}


def test_artifacts_are_refused_when_missing_unlisted_or_different(tmp_path) -> None:
    folder = standin.build(tmp_path / "a", "/usr/bin/python3", Path("/repo"), Path("/rig"), images_mb=0.01)
    bundle = verify(folder)
    assert {a.name for a in bundle.files} == {"rke2.linux-amd64.tar.gz", "rke2-images.linux-amd64.tar.gz",
                                             "sha256sum-amd64.txt", "install.sh"}
    tarball = folder / "rke2.linux-amd64.tar.gz"
    tarball.write_bytes(tarball.read_bytes() + b"x")
    with pytest.raises(ArtifactError, match=r"rke2\.linux-amd64\.tar\.gz: sha256 .* does not match"):
        verify(folder)
    (folder / "install.sh").unlink()
    with pytest.raises(ArtifactError, match=r"missing install\.sh"):
        verify(folder)


def test_later_steps_find_the_kubeconfig_under_the_key_provision_records() -> None:
    from installer.plan.provisioned import KUBECONFIG_OUTPUT
    from installer.provision.step import ProvisionOutput

    assert KUBECONFIG_OUTPUT in ProvisionOutput.__dataclass_fields__


def test_kubeconfig_points_at_the_registration_address() -> None:
    text = ("apiVersion: v1\nclusters:\n- cluster:\n    server: https://127.0.0.1:6443\n    certificate-authority-data: QQ==\n"
            "  name: default\nusers:\n- name: default\n  user:\n    token: abc\n")
    rewritten = json.loads(rewrite_kubeconfig(text, "10.1.2.3"))
    assert rewritten["clusters"][0]["cluster"] == {"server": "https://10.1.2.3:6443", "certificate-authority-data": "QQ=="}
