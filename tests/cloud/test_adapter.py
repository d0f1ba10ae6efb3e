"""The Terraform adapter against the real Terraform binary: argv, offline init, logging, files left behind."""
from __future__ import annotations

import logging
import os
import tempfile
import threading
from pathlib import Path

import pytest

from installer.adapters.terraform import TerraformCli, TerraformError, default_binary
from installer.provision.cloud.workspace import Workspace, cli_config
from tests.cloud.conftest import STACK


def cli(tmp_path: Path, binary: Path | None = None, mirror: Path | None = None) -> TerraformCli:
    workspace = Workspace(tmp_path / "terraform")
    workspace.prepare(STACK, "local", mirror)
    return TerraformCli(binary or default_binary(), workspace.workdir, workspace.environment({}), workspace.log_dir)


def test_python_terraform_builds_the_argv_without_its_known_defects(tmp_path):
    terraform = cli(tmp_path)
    before = set(Path(tempfile.gettempdir()).glob("*.tfvars.json"))
    init = terraform.argv("init", backend_config={"bucket": "b"}, reconfigure=True, upgrade=False, get=True)
    plan = terraform.argv("plan", out="p.tfplan", json=True, parallelism=7)
    apply = terraform.argv("apply", "p.tfplan", json=True, auto_approve=True, parallelism=7)
    assert not any(a.startswith("-parallelism") for a in init), "constructor defaults do not reach init"
    assert "-backend-config=bucket=b" in init and "-reconfigure" in init
    assert "-detailed-exitcode" not in plan and "-parallelism=7" in plan and "-json" in plan
    assert "-auto-approve" in apply and "-auto-approve=false" not in apply and apply[-1] == "p.tfplan"
    assert not any(a.startswith(("-var", "-var-file", "-synchronous", "-force")) for a in init + plan + apply)
    assert set(Path(tempfile.gettempdir()).glob("*.tfvars.json")) == before, "no variable file left behind"


def test_python_terraforms_root_logger_debug_line_is_silenced(caplog):
    from python_terraform import Terraform

    TerraformCli(default_binary(), Path("/nonexistent"), {}, Path("/nonexistent"))  # installs the filter
    with caplog.at_level(logging.DEBUG):
        Terraform(terraform_bin_path="/bin/true").fmt_cmd(var={"db_password": "Canary-in-a-log-line"})
    assert "Canary-in-a-log-line" not in caplog.text
    assert not [r for r in caplog.records if "called with" in r.getMessage()]


def test_the_cli_config_with_a_mirror_names_only_the_mirror():
    text = cli_config(Path("/opt/mirror"))
    assert "filesystem_mirror" in text and '"/opt/mirror"' in text
    assert "direct" not in text and "network_mirror" not in text


@pytest.mark.skipif(not Path("/usr/bin/unshare").exists(), reason="unshare (util-linux) is not installed")
def test_init_from_the_mirror_succeeds_in_a_network_namespace_with_no_route(tmp_path, standin_mirror):
    shim = tmp_path / "terraform-offline"
    shim.write_text(f"#!/bin/sh\nexec unshare -n {default_binary()} \"$@\"\n")
    shim.chmod(0o755)
    terraform = cli(tmp_path, binary=shim, mirror=standin_mirror)
    terraform.init({}, threading.Event(), timeout=120)
    assert (terraform.workdir / ".terraform.lock.hcl").read_text().count("registry.digit.test/digit/standin") == 1
    installed = terraform.workdir / ".terraform" / "providers" / "registry.digit.test" / "digit" / "standin"
    assert installed.is_dir()


def test_init_without_the_provider_in_the_mirror_fails_naming_it_and_never_asks_a_registry(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    shim = tmp_path / "terraform-offline"
    shim.write_text(f"#!/bin/sh\nexec unshare -n {default_binary()} \"$@\"\n")
    shim.chmod(0o755)
    terraform = cli(tmp_path, binary=shim, mirror=empty)
    with pytest.raises(TerraformError, match=r"registry\.digit\.test/digit/standin"):
        terraform.init({}, threading.Event(), timeout=120)
    log_modes = {p.name: p.stat().st_mode & 0o777 for p in terraform.log_dir.iterdir()}
    assert log_modes and set(log_modes.values()) == {0o600}
    assert os.stat(terraform.log_dir).st_mode & 0o777 == 0o700
