"""`./install.sh plan` end to end: golden plans for every example answers file, secrets, errors."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.plan.conftest import CANARY, EXAMPLES, REPO, SEEDED_SECRETS, TEST_ENV, materialize_example, seed_secrets

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
EXAMPLE_FILES = sorted(p.name for p in EXAMPLES.glob("*.yaml"))


def run_plan(answers: Path, out: Path, state: Path, *extra: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "installer", "plan", "--answers", str(answers), "--out", str(out),
                           "--state-dir", str(state), *extra],
                          capture_output=True, text=True, timeout=120, env=env, cwd=REPO)


def _normalised_plan(path: Path) -> dict:
    plan = json.loads(path.read_text())
    # Monitoring and Jenkins values carry the deploy area's dashboards and seed job; their digest is
    # checked for stability below, not pinned here.
    for release in plan["releases"]:
        release["values_digest"] = "sha256:..." if release["module"] in ("monitoring", "ci") else release["values_digest"]
    return plan


def _compare(name: str, actual: str) -> None:
    golden = GOLDEN / name
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(actual)
    assert golden.is_file(), f"no golden file {golden}; run with UPDATE_GOLDEN=1 and review it"
    assert actual == golden.read_text(), f"{name} differs from its golden file"


@pytest.mark.parametrize("example", EXAMPLE_FILES)
def test_plan_matches_golden_files(example: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    answers = materialize_example(example, tmp_path / "site", monkeypatch)
    state = tmp_path / "state"
    seed_secrets(state)
    result = run_plan(answers, tmp_path / "out", state)
    assert result.returncode == 0, result.stderr
    stem = example.removesuffix(".yaml")
    out = tmp_path / "out"
    _compare(f"{stem}/plan.json", json.dumps(_normalised_plan(out / "plan.json"), indent=2) + "\n")
    _compare(f"{stem}/env.yaml", (out / "env.yaml").read_text())
    _compare(f"{stem}/env-secrets.yaml", (out / "env-secrets.yaml").read_text())
    for name in ("plan.txt", "env.yaml", "env-secrets.yaml", "cluster-objects.yaml"):
        assert (out / name).is_file()
    summary = json.loads((out / "plan.json").read_text())
    for release in summary["releases"]:
        assert release["rendered"]["ok"], release
        assert (out / "releases" / release["name"] / "manifest.yaml").is_file()
        mirror = summary["registry_mirror"]
        if mirror:  # every image the sample charts take from values comes from the mirror, once
            for image in release["rendered"]["images"]:
                assert image.startswith(mirror + "/") and image.count(mirror) == 1, (release["name"], image)


def _all_text(directory: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in sorted(directory.rglob("*")) if p.is_file())


def test_secrets_are_masked_unless_revealed_and_then_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    answers = materialize_example("sdc-vms.yaml", tmp_path / "site", monkeypatch)
    state = tmp_path / "state"
    masked = run_plan(answers, tmp_path / "masked", state)
    assert masked.returncode == 0, masked.stderr
    stored = json.loads((state / "generated-secrets.json").read_text())["values"]
    secrets = [CANARY, *stored.values(), TEST_ENV["DIGIT_REGISTRY_PASSWORD"], "file-secret-for-tests-git-sync"]
    everything = _all_text(tmp_path / "masked") + masked.stdout + masked.stderr
    for secret in secrets:
        assert secret not in everything
    assert "password: '******'" in (tmp_path / "masked" / "env-secrets.yaml").read_text()

    revealed = run_plan(answers, tmp_path / "revealed", state, "--reveal-secrets")
    assert revealed.returncode == 0, revealed.stderr
    env_secrets = tmp_path / "revealed" / "env-secrets.yaml"
    assert CANARY in env_secrets.read_text()
    assert stat.S_IMODE(env_secrets.stat().st_mode) == 0o600
    for path in (tmp_path / "revealed").rglob("*"):
        if path.is_file() and any(s in path.read_text(errors="replace") for s in secrets):
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert CANARY not in revealed.stdout + revealed.stderr


def test_generated_secrets_survive_reruns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    answers = materialize_example("existing-cluster.yaml", tmp_path / "site", monkeypatch)
    state = tmp_path / "state"
    first = run_plan(answers, tmp_path / "one", state)
    assert first.returncode == 0, first.stderr
    store = state / "generated-secrets.json"
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    before = json.loads(store.read_text())["values"]
    # in-cluster database: its password is generated too
    assert set(before) == set(SEEDED_SECRETS)
    assert "generated now" in first.stdout
    second = run_plan(answers, tmp_path / "two", state)
    assert second.returncode == 0, second.stderr
    assert json.loads(store.read_text())["values"] == before
    assert "generated now" not in second.stdout
    one, two = (json.loads((tmp_path / d / "plan.json").read_text()) for d in ("one", "two"))
    assert one.pop("generated_secrets") == sorted(before) and two.pop("generated_secrets") == []
    assert one == two  # the same answers and stored secrets give the same plan, digests included


def test_a_missing_chart_is_bad_input_naming_file_line_and_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "charts"
    empty.mkdir()
    answers = materialize_example("existing-cluster.yaml", tmp_path / "site", monkeypatch, charts=empty)
    result = run_plan(answers, tmp_path / "out", tmp_path / "state")
    assert result.returncode == 2
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith(f"{answers}:"), line
    assert ": release.charts: chart missing in " in line and "egov-user" in line
    assert "Traceback" not in result.stderr


def test_an_unset_secret_variable_is_bad_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    answers = materialize_example("sdc-vms.yaml", tmp_path / "site", monkeypatch)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.pop("DIGIT_DB_PASSWORD")
    result = subprocess.run([sys.executable, "-m", "installer", "plan", "--answers", str(answers), "--out",
                             str(tmp_path / "out"), "--state-dir", str(tmp_path / "state")],
                            capture_output=True, text=True, timeout=120, env=env, cwd=REPO)
    assert result.returncode == 2
    assert "database.password" in result.stderr and "DIGIT_DB_PASSWORD" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_certificate_file_is_bad_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    answers = materialize_example("sdc-vms.yaml", tmp_path / "site", monkeypatch)
    (tmp_path / "site" / "certs" / "tls.crt").unlink()
    result = run_plan(answers, tmp_path / "out", tmp_path / "state")
    assert result.returncode == 2, result.stderr
    assert "domain.tls.cert" in result.stderr and "No such file" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_chart_that_would_need_the_network_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    from tests.plan.conftest import SAMPLE_CHARTS

    charts = tmp_path / "charts"
    shutil.copytree(SAMPLE_CHARTS, charts)
    with (charts / "backbone-services" / "redis" / "Chart.yaml").open("a") as handle:
        handle.write("dependencies:\n  - name: common\n    version: 2.x.x\n"
                     "    repository: https://charts.bitnami.com/bitnami\n")
    answers = materialize_example("existing-cluster.yaml", tmp_path / "site", monkeypatch, charts=charts)
    result = run_plan(answers, tmp_path / "out", tmp_path / "state")
    assert result.returncode == 2
    assert "release redis:" in result.stderr and "https://charts.bitnami.com/bitnami" in result.stderr
    assert "would need the network" in result.stderr and "release.charts" in result.stderr


def test_a_very_short_secret_is_masked_where_it_sits_without_masking_everything(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    answers = materialize_example("sdc-vms.yaml", tmp_path / "site", monkeypatch)
    monkeypatch.setenv("DIGIT_DB_PASSWORD", "k")
    result = run_plan(answers, tmp_path / "out", tmp_path / "state")
    assert result.returncode == 0, result.stderr
    env_secrets = (tmp_path / "out" / "env-secrets.yaml").read_text()
    assert "password: '******'" in env_secrets and "password: k" not in env_secrets
    values = (tmp_path / "out" / "releases" / "egov-user" / "values.yaml").read_text()
    assert "password: k\n" not in values
    assert "kafka-brokers: kafka-kraft-controller-headless.backbone:9092" in values
    assert "db-host: 10.10.0.40" in values
