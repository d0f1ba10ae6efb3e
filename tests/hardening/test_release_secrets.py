"""A release gets only the secrets its templates read: for every release of the sample tree (and of the
DIGIT 2.9 LTS tree when DIGIT_LTS_CHARTS points at one), the secret values in its values are exactly the
secret values its rendered manifest contains."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.plan.conftest import materialize_example, seed_secrets
from tests.plan.test_plan_command import run_plan

LTS = Path(os.environ.get("DIGIT_LTS_CHARTS", "/tmp/digit-devops/deploy-as-code/charts"))


def secrets_in(text: str, secrets: set[str]) -> set[str]:
    """The secrets present in text as they are or base64-encoded (a Secret's data)."""
    import base64

    return {s for s in secrets if s in text or base64.b64encode(s.encode()).decode() in text}


def yaml_load(path: Path):
    from ruamel.yaml import YAML

    return YAML(typ="safe").load(path.read_text())


def leaves(tree) -> list[str]:
    if isinstance(tree, dict):
        return [leaf for value in tree.values() for leaf in leaves(value)]
    if isinstance(tree, list):
        return [leaf for value in tree for leaf in leaves(value)]
    return [str(tree)] if tree is not None else []


def check_every_release(out: Path, secrets: set[str]) -> dict[str, set[str]]:
    plan = json.loads((out / "plan.json").read_text())
    given: dict[str, set[str]] = {}
    for release in plan["releases"]:
        folder = out / "releases" / release["name"]
        values = secrets_in(json.dumps(leaves(yaml_load(folder / "values.yaml"))), secrets) | \
            {s for s in secrets if any(s in leaf for leaf in leaves(yaml_load(folder / "values.yaml")))}
        used = secrets_in((folder / "manifest.yaml").read_text(), secrets)
        assert values == used, (release["name"], "given but not read", sorted(values - used),
                                "read but not given", sorted(used - values))
        given[release["name"]] = values
    return given


def revealed_plan(example: str, tmp_path: Path, monkeypatch, monitoring: bool = True,
                  **tree: object) -> tuple[Path, set[str]]:
    answers = materialize_example(example, tmp_path / "site", monkeypatch, **tree)
    if not monitoring:  # DIGIT-DevOps does not ship the monitoring charts in its tree
        answers.write_text(answers.read_text() + "monitoring: {enabled: false}\n")
    state = tmp_path / "state"
    seed_secrets(state)
    out = tmp_path / "out"
    result = run_plan(answers, out, state, "--reveal-secrets")
    assert result.returncode == 0, result.stderr
    stored = json.loads((state / "generated-secrets.json").read_text())["values"]
    referenced = {v for k, v in os.environ.items() if k.startswith(("DIGIT_", "TEST_")) and len(v) >= 8}
    return out, {v for v in stored.values() if len(v) >= 8} | referenced


@pytest.mark.parametrize("example", ["existing-cluster.yaml", "sdc-vms.yaml"])
def test_sample_tree_releases_get_only_the_secrets_they_read(example, tmp_path, monkeypatch):
    out, secrets = revealed_plan(example, tmp_path, monkeypatch)
    given = check_every_release(out, secrets)
    for third_party in ("ingress-nginx", "redis"):
        if third_party in given:
            assert given[third_party] == set(), third_party
    assert given.get("configmaps"), "the configmaps release creates the services' Secrets"


@pytest.mark.skipif(not (LTS / "common" / "Chart.yaml").is_file(), reason="no DIGIT 2.9 LTS tree (DIGIT_LTS_CHARTS)")
def test_lts_tree_releases_get_only_the_secrets_they_read(tmp_path, monkeypatch):
    out, secrets = revealed_plan("existing-cluster.yaml", tmp_path, monkeypatch, monitoring=False, charts=LTS,
                                 version="digit-2.9-lts")
    given = check_every_release(out, secrets)
    assert given.get("configmaps")
