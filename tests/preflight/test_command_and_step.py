"""The command's input handling and exit codes; the pipeline step; the catalogue's selection rules."""
from __future__ import annotations

import json
import threading

import pytest

from installer.answers import load_answers
from installer.preflight.catalogue import CATALOGUE, select
from tests.preflight.helpers import run_cli, run_json


def test_invalid_answers_exit_2_with_file_line_and_key(rig) -> None:
    broken = rig.answers_path.with_name("answers-broken.yaml")
    broken.write_text(rig.answers_path.read_text().replace("mode: external", "mode: sideways"))
    code, out, err, _ = run_cli(rig, answers=broken)
    assert code == 2 and out == ""
    line = next(i for i, text in enumerate(broken.read_text().splitlines(), 1) if "sideways" in text)
    assert f"{broken}:{line}:" in err and "database" in err
    assert "Traceback" not in err


def test_unknown_check_id_exits_2(rig) -> None:
    code, out, err, _ = run_cli(rig, "--only", "node.cpu,node.nonsense")
    assert code == 2 and "node.nonsense" in err and "Traceback" not in err


def test_only_and_skip_select_checks(rig) -> None:
    code, report, _, _ = run_json(rig, "--only", "database,domain", "--skip", "db.version")
    assert code == 0
    assert {c["id"] for c in report["checks"]} == {"db.reachable", "db.auth", "db.database", "domain.resolves"}


def test_report_file_holds_the_json_without_secrets(rig, tmp_path) -> None:
    path = tmp_path / "report.json"
    code, out, _, _ = run_cli(rig, "--report", str(path), "--only", "database")
    assert code == 0 and "Database" in out
    report = json.loads(path.read_text())
    assert report["ok"] is True and report["summary"]["pass"] == 4
    assert rig.env["DIGIT_DB_PASSWORD"] not in path.read_text()


def test_selection_by_group_and_prefix() -> None:
    assert select(["db"], None)[0] == {cid for cid in CATALOGUE if cid.startswith("db.")}
    assert select(["cluster"], None)[0] == {cid for cid in CATALOGUE if cid.startswith("k8s.")}
    assert select(None, ["node"])[0] == {cid for cid, c in CATALOGUE.items() if c.source != "node"}
    assert select(["node.cpu", "bogus"], None) == ({"node.cpu"}, ["bogus"])
    for check in CATALOGUE.values():
        assert check.severity in ("fail", "warn") and check.remediation and check.title


def _context(answers, state_dir):
    from installer.engine import EventBus, Step, StepContext
    from installer.engine.steps import KillHook
    from installer.preflight.step import preflight

    events = []
    bus = EventBus([events.append])
    step = Step("preflight", "Preflight checks of the target", preflight)
    ctx = StepContext(step=step, answers=answers, state_dir=state_dir, dry_run=False, outputs={}, bus=bus,
                      cancelled=threading.Event(), kill_hook=KillHook(None))
    return ctx, bus, events


def test_pipeline_step_passes_on_a_clean_rig(rig_env, tmp_path) -> None:
    from installer.preflight.step import preflight

    ctx, bus, events = _context(load_answers(rig_env.answers_path), tmp_path)
    outputs = preflight(ctx)
    assert outputs["summary"]["fail"] == 0 and outputs["failed"] == []
    report = json.loads((tmp_path / outputs["report"]).read_text())
    assert report["ok"] is True
    json.dumps(outputs)


def test_pipeline_step_fails_with_remediation(rig_env, tmp_path, monkeypatch) -> None:
    from installer.engine import StepFailed
    from installer.preflight.step import preflight

    monkeypatch.setenv("DIGIT_DB_PASSWORD", "wrong-password-for-the-step")
    ctx, bus, _ = _context(load_answers(rig_env.answers_path), tmp_path)
    with pytest.raises(StepFailed) as failure:
        preflight(ctx)
    assert "db.auth" in failure.value.message
    assert "pg_hba.conf" in failure.value.remediation
    assert [c["id"] for c in failure.value.details["failed_checks"]] == ["db.auth"], failure.value.details
    assert "wrong-password-for-the-step" not in (tmp_path / "preflight" / "report.json").read_text()
