"""RKE2 artifacts (sdc-vms) and a Terraform provider mirror (clouds) travel in the bundle when named."""
from pathlib import Path

from installer.answers import load_answers
from installer.bundle.create import carry_artifacts
from tests.bundle.conftest import REPO


def _answers(tmp_path: Path, example: str, extra: dict[str, str]) -> Path:
    text = (REPO / "assets" / "examples" / example).read_text()
    for anchor, line in extra.items():
        text = text.replace(anchor, anchor + line, 1)
    path = tmp_path / example
    path.write_text(text)
    return path


def test_a_cloud_targets_provider_mirror_is_carried(tmp_path):
    mirror = tmp_path / "providers" / "registry.terraform.io" / "hashicorp" / "aws"
    mirror.mkdir(parents=True)
    (mirror / "terraform-provider-aws_5.0.0_linux_amd64.zip").write_bytes(b"zip")
    answers = load_answers(_answers(tmp_path, "aws.yaml", {"  region: ap-south-1\n": "  provider_mirror: providers\n"}))
    out = tmp_path / "bundle"
    assert carry_artifacts(answers, out) == {"terraform_providers": "terraform-providers"}
    assert (out / "terraform-providers/registry.terraform.io/hashicorp/aws/"
                  "terraform-provider-aws_5.0.0_linux_amd64.zip").read_bytes() == b"zip"


def test_nothing_is_carried_when_nothing_is_named(tmp_path):
    answers = load_answers(_answers(tmp_path, "aws.yaml", {}))
    assert carry_artifacts(answers, tmp_path / "bundle") == {}
    assert not (tmp_path / "bundle").exists()


def test_rke2_artifacts_of_an_sdc_target_are_carried(tmp_path):
    artifacts = tmp_path / "rke2-artifacts"
    artifacts.mkdir()
    for name in ("rke2.linux-amd64.tar.gz", "rke2-images.linux-amd64.tar.zst", "sha256sum-amd64.txt", "install.sh"):
        (artifacts / name).write_text(name)
    path = _answers(tmp_path, "sdc-vms.yaml", {})
    path.write_text(path.read_text().replace("/opt/digit/rke2-artifacts", "rke2-artifacts"))
    answers = load_answers(path)
    out = tmp_path / "bundle"
    assert carry_artifacts(answers, out) == {"rke2": "rke2"}
    assert sorted(p.name for p in (out / "rke2").iterdir()) == sorted(p.name for p in artifacts.iterdir())
