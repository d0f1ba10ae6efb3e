"""The going-back lines name this install's own access, and every command runs as printed.

An answers file with a kubeconfig at a non-default path (with a space in it), a context, an external
database on a non-default port with SSL required, and releases in a non-default namespace: the printed
commands carry exactly those, and the database password (a canary) appears nowhere. Each printed command
is then run by bash as it is, against stand-ins for `helm` and `pg_restore` on PATH that record their
arguments and PGPASSWORD (the rig tests run the real pg_restore; there is no helm binary on these machines),
so what reaches the program is what the install uses, the password included, read from where the answers
keep it.
"""
from __future__ import annotations

import json
import os
import shlex
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from installer.answers import load_answers
from installer.deploy.database_step import database_target
from installer.plan.provisioned import kube_access
from installer.upgrade.going_back import access_record, restore_steps

CANARY = "canary-Zq8!pw-never-printed"
ANSWERS = """version: 1
name: punjab-prod
target:
  kind: existing-cluster
  kubeconfig: clusters/punjab prod.yaml
  context: punjab-admin
  storage_class: standard
sizing:
  profile: dev
domain:
  fqdn: digit.punjab.example.org
  tls: {mode: self-signed}
database:
  mode: external
  host: db.sdc.local
  port: 6432
  name: egov_prod
  username: egov_app
  password: PASSWORD
  sslmode: require
release:
  version: digit-2.9-lts
  charts: charts
config_repos:
  mdms: {url: "git@github.com:example/egov-mdms-data.git", branch: demo}
  configs: {url: "git@github.com:example/configs.git", branch: demo}
  ssh_key: {env: DIGIT_GIT_SSH_KEY}
"""
# stand-ins: record argv (one word a line) and the password each program was given
STAND_IN = """#!/bin/sh
{ echo "PROGRAM $(basename "$0")"; echo "PGPASSWORD ${PGPASSWORD:-}"; echo "PGSSLMODE ${PGSSLMODE:-}";
  echo "HELM_DRIVER ${HELM_DRIVER:-}"; for word in "$@"; do echo "ARG $word"; done; } >> "$RECORD"
"""


def _answers(tmp_path: Path, password: str):
    site = tmp_path / "site"
    (site / "clusters").mkdir(parents=True)
    (site / "charts").mkdir()
    (site / "clusters" / "punjab prod.yaml").write_text("apiVersion: v1\nkind: Config\n")
    path = site / "answers.yaml"
    path.write_text(ANSWERS.replace("PASSWORD", password))
    return load_answers(path)


def _printed(tmp_path: Path, answers, monkeypatch, state_dir: Path) -> list[str]:
    monkeypatch.setenv("DIGIT_PROD_DB_PASSWORD", CANARY)
    ctx = SimpleNamespace(answers=answers, outputs={}, state_dir=state_dir)
    kubeconfig, context = kube_access(ctx)
    access = access_record(answers, state_dir, kubeconfig, context, database_target(ctx), {"HELM_DRIVER": "sql"})
    folder = tmp_path / "backups" / "20261130T010203"
    backup = {"folder": str(folder), "dump": str(folder / "egov_prod.dump"), "sha256": "ab" * 32,
              "releases": {"egov-user": 4, "egov-mdms-service": 2}, "access": access,
              "release_namespaces": {"egov-user": "punjab-egov", "egov-mdms-service": "punjab-egov"},
              "upgrading": {"egov-user": "punjab-egov", "egov-mdms-service": "punjab-egov"},
              "adding": {"egov-hrms": "punjab-hrms"}}
    return restore_steps(json.loads(json.dumps(backup)))  # as the journal keeps it


def _run_as_printed(command: str, tmp_path: Path, env: dict[str, str]) -> list[str]:
    """The command run by bash as it is, with the stand-ins first on PATH; what each was given."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name in ("helm", "pg_restore"):
        (bin_dir / name).write_text(STAND_IN)
        (bin_dir / name).chmod(0o755)
    record = tmp_path / "record.txt"
    record.unlink(missing_ok=True)
    done = subprocess.run(["bash", "-c", command], env={"PATH": f"{bin_dir}:{os.environ['PATH']}",
                                                         "RECORD": str(record), **env},
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return record.read_text().splitlines()


def test_the_commands_name_this_installs_kubeconfig_context_namespace_and_database(tmp_path, monkeypatch) -> None:
    answers = _answers(tmp_path, "{env: DIGIT_PROD_DB_PASSWORD}")
    lines = _printed(tmp_path, answers, monkeypatch, tmp_path / "state")
    text = "\n".join(lines)
    assert CANARY not in text
    kubeconfig = str(tmp_path / "site" / "clusters" / "punjab prod.yaml")
    commands = [line.strip() for line in lines if line.startswith("     ") and not line.strip().startswith("(")]
    assert "tables the new migrations added stay" in text
    assert len(commands) == 4, text
    # rollbacks and the uninstall first (the old images run again), the database last
    assert [shlex.split(c)[1:3] for c in commands[:3]] == [["helm", "rollback"]] * 2 + [["helm", "uninstall"]]
    assert "export HELM_DRIVER_SQL_CONNECTION_STRING as for the upgrade" in text
    expected = [["egov-mdms-service", "2", "-n", "punjab-egov"], ["egov-user", "4", "-n", "punjab-egov"],
                ["egov-hrms", "-n", "punjab-hrms"]]
    for command, names in zip(commands[:3], expected, strict=True):
        recorded = _run_as_printed(command, tmp_path, {})
        assert recorded[0] == "PROGRAM helm" and "HELM_DRIVER sql" in recorded
        args = [line[4:] for line in recorded if line.startswith("ARG ")]
        assert args[1:] == [*names, "--kubeconfig", kubeconfig, "--kube-context", "punjab-admin"], command
    restore = commands[3]
    assert "PGPASSWORD from the environment variable DIGIT_PROD_DB_PASSWORD" in text
    recorded = _run_as_printed(restore, tmp_path, {"DIGIT_PROD_DB_PASSWORD": CANARY})
    assert recorded[:4] == ["PROGRAM pg_restore", f"PGPASSWORD {CANARY}", "PGSSLMODE require", "HELM_DRIVER "]
    assert [line[4:] for line in recorded[4:]] == [
        "--clean", "--if-exists", "--no-owner", "-h", "db.sdc.local", "-p", "6432", "-U", "egov_app", "-d",
        "egov_prod", str(tmp_path / "backups" / "20261130T010203" / "egov_prod.dump")]


@pytest.mark.parametrize("kind", ["file", "generated"])
def test_the_restore_reads_the_password_where_the_answers_keep_it(kind, tmp_path, monkeypatch) -> None:
    """A password file the answers name, or the generated secret in the state directory: the command reads
    it when run, and the printed text holds neither the value nor a copy of it."""
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    if kind == "file":
        answers = _answers(tmp_path, "{file: secrets/db password.txt}")
        secret = tmp_path / "site" / "secrets" / "db password.txt"
        secret.parent.mkdir()
        secret.write_text(CANARY)
    else:
        answers = _answers(tmp_path, "{env: DIGIT_PROD_DB_PASSWORD}")
        # a managed database's generated password: the same reading code, the store's own file
        (state_dir / "generated-secrets.json").write_text(json.dumps({"version": 1,
                                                                      "values": {"database.password": CANARY}}))
        answers.database.password = answers.database.password.model_construct(env=None, file=None, generate=True)
    lines = _printed(tmp_path, answers, monkeypatch, state_dir)
    assert CANARY not in "\n".join(lines)
    restore = next(line.strip() for line in lines if "pg_restore" in line and line.startswith("     ")
                   and not line.strip().startswith("("))
    recorded = _run_as_printed(restore, tmp_path, {})
    assert recorded[1] == f"PGPASSWORD {CANARY}", restore
