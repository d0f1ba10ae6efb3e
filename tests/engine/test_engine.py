"""The engine's mechanics in-process, with small steps that write real files."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from installer import redact
from installer.engine import Engine, LockHeld, Retry, Step, StepFailed, TransientError, events as ev
from installer.engine import journal as jr
from installer.engine.lock import InstallLock, current_holder


class Collect:
    def __init__(self) -> None:
        self.events: list[ev.Event] = []

    def __call__(self, event: ev.Event) -> None:
        self.events.append(event)

    def kinds(self, cls) -> list:
        return [e for e in self.events if isinstance(e, cls)]


def answers(**sections):
    base = {"name": "demo", "domain": SimpleNamespace(fqdn="a.example"), "monitoring": SimpleNamespace(email="x@y.z")}
    base.update(sections)
    return SimpleNamespace(**base)


def file_step(out: Path, count: int = 3, section: str = "domain"):
    """Writes count files whose content comes from the answers; returns their names."""

    def run(ctx):
        value = ctx.answers.domain.fqdn if section == "domain" else ctx.answers.monitoring.email
        written = []
        for i in range(count):
            path = out / f"{ctx.step_id}-{i}.txt"
            if not ctx.dry_run:
                out.mkdir(parents=True, exist_ok=True)
                path.write_text(value)
            written.append(path.name)
            ctx.progress(i + 1, count, "files", task=f"file-{i}")
        return {"files": written}

    return run


def make_engine(tmp_path, steps, resume=False, dry_run=False, ans=None, sinks=None):
    collect = Collect()
    engine = Engine(steps, answers=ans or answers(), state_dir=tmp_path / "state", install="demo",
                    resume=resume, dry_run=dry_run, sinks=[collect] + list(sinks or []))
    return engine, collect


def pipeline(out: Path, calls: list[str]):
    def tracked(step_id, fn):
        def run(ctx):
            calls.append(step_id)
            return fn(ctx)
        return run

    return [
        Step("first", "First", tracked("first", file_step(out)), sections=("domain",)),
        Step("second", "Second", tracked("second", file_step(out)), needs=("first",), sections=("domain",)),
        Step("late", "Late", tracked("late", file_step(out, section="monitoring")), needs=("second",),
             sections=("monitoring",)),
        Step("final", "Final", tracked("final", lambda ctx: {"saw": sorted(ctx.outputs)}), needs=("late",)),
    ]


def test_full_run_records_every_step(tmp_path):
    calls: list[str] = []
    engine, collect = make_engine(tmp_path, pipeline(tmp_path / "out", calls))
    result = engine.run()
    assert result.exit_code == 0
    assert calls == ["first", "second", "late", "final"]
    data = json.loads((tmp_path / "state" / "journal.json").read_text())
    records = {s["id"]: s for s in data["steps"]}
    assert [records[s]["outcome"] for s in calls] == ["succeeded"] * 4
    assert records["final"]["outputs"] == {"saw": ["first", "late", "second"]}
    assert records["first"]["attempts"] == 1 and records["first"]["digest"]
    assert records["first"]["finished"] >= records["first"]["started"]
    assert (tmp_path / "out" / "late-2.txt").read_text() == "x@y.z"
    assert oct((tmp_path / "state" / "journal.json").stat().st_mode & 0o777) == "0o600"
    kinds = [e.kind for e in collect.events]
    assert kinds[0] == "run.started" and kinds[-1] == "run.finished"
    assert result.log_path.exists() and "step.finished" in result.log_path.read_text()


def test_a_step_another_command_ran_over_other_sections_is_rerun_without_naming_sections_that_did_not_change(
        tmp_path):
    # the install's validate reads every section, the upgrade's a few: the upgrade's resume plan must not
    # call every section of the install's "changed"
    calls: list[str] = []
    out = tmp_path / "out"
    engine, _ = make_engine(tmp_path, pipeline(out, calls))
    assert engine.run().exit_code == 0
    calls.clear()
    other = pipeline(out, calls)
    other[0] = Step("first", "First", other[0].run, sections=("domain", "monitoring"))
    engine, collect = make_engine(tmp_path, other, resume=True)
    assert engine.run().exit_code == 0
    reason = dict(collect.kinds(ev.ResumePlan)[0].rerun)["first"]
    assert reason.startswith("last run by another command, over other inputs (run ") and "changed" not in reason


def test_resume_skips_unchanged_and_reruns_changed_late_step_and_dependents(tmp_path):
    calls: list[str] = []
    out = tmp_path / "out"
    engine, _ = make_engine(tmp_path, pipeline(out, calls))
    assert engine.run().exit_code == 0
    calls.clear()
    engine, collect = make_engine(tmp_path, pipeline(out, calls), resume=True,
                                  ans=answers(monitoring=SimpleNamespace(email="ops@y.z")))
    assert engine.run().exit_code == 0
    assert calls == ["late", "final"]
    plan = collect.kinds(ev.ResumePlan)[0]
    assert dict(plan.rerun) == {"late": "inputs changed: monitoring", "final": "depends on late, which reruns"}
    assert [s for s, _ in plan.skipped] == ["first", "second"]
    assert (out / "late-0.txt").read_text() == "ops@y.z"
    calls.clear()
    engine, _ = make_engine(tmp_path, pipeline(out, calls), resume=True,
                            ans=answers(monitoring=SimpleNamespace(email="ops@y.z")))
    assert engine.run().exit_code == 0
    assert calls == []


def test_failure_then_resume_reruns_from_failed_step(tmp_path):
    calls: list[str] = []
    out = tmp_path / "out"
    broken = {"on": True}

    def second(ctx):
        calls.append("second")
        if broken["on"]:
            raise StepFailed("disk full on node-2", remediation="free space on node-2")
        return {}

    steps = pipeline(out, calls)
    steps[1] = Step("second", "Second", second, needs=("first",))
    engine, collect = make_engine(tmp_path, steps)
    result = engine.run()
    assert (result.exit_code, result.failed_step, result.remediation) == (1, "second", "free space on node-2")
    assert calls == ["first", "second"]
    finished = collect.kinds(ev.StepFinished)[-1]
    assert (finished.outcome, finished.message) == ("failed", "disk full on node-2")
    broken["on"] = False
    calls.clear()
    engine, collect = make_engine(tmp_path, steps, resume=True)
    assert engine.run().exit_code == 0
    assert calls == ["second", "late", "final"]
    plan = collect.kinds(ev.ResumePlan)[0]
    assert plan.rerun[0][0] == "second" and plan.rerun[0][1].startswith("failed at ")


def test_transient_errors_retry_visibly_then_give_up(tmp_path):
    attempts = {"n": 0}

    def flaky(ctx):
        attempts["n"] += 1
        if attempts["n"] < 3:
            raise ConnectionResetError("connection reset by peer")
        return {"ok": True}

    engine, collect = make_engine(tmp_path, [Step("flaky", "Flaky", flaky, retry=Retry(3, 0.05))])
    assert engine.run().exit_code == 0
    warnings = [w.message for w in collect.kinds(ev.StepWarning)]
    assert warnings == [f"attempt {i}/3 failed: ConnectionResetError: connection reset by peer; retrying in {d:g}s"
                        for i, d in ((1, 0.05), (2, 0.1))]
    assert collect.kinds(ev.StepFinished)[-1].attempts == 3

    def always(ctx):
        raise TransientError("API conflict")

    engine, collect = make_engine(tmp_path, [Step("always", "Always", always, retry=Retry(2, 0.01))])
    result = engine.run()
    assert result.exit_code == 1 and result.message == "gave up after 2 attempts: API conflict"


def test_permanent_error_fails_at_once_with_remediation(tmp_path):
    count = {"n": 0}

    def bad(ctx):
        count["n"] += 1
        raise ValueError("chart values are not a mapping")

    engine, _ = make_engine(tmp_path, [Step("bad", "Bad", bad, retry=Retry(5, 0.01))])
    result = engine.run()
    assert count["n"] == 1
    assert result.message == "unexpected error: ValueError: chart values are not a mapping"
    assert "debug log" in result.remediation
    assert "Traceback" in result.log_path.read_text()


def test_stall_watchdog_warns_and_hard_timeout_fails_with_last_state(tmp_path):
    def slow(ctx):
        ctx.progress(1, 3, "releases", "waiting for egov-mdms", task="egov-mdms")
        ctx.sleep(10)
        return {}

    steps = [Step("slow", "Slow", slow, stall_after=0.3, timeout=1.0)]
    engine, collect = make_engine(tmp_path, steps)
    t0 = time.monotonic()
    result = engine.run()
    assert time.monotonic() - t0 < 4
    assert result.exit_code == 1
    assert result.message == "timed out after 1s; last known state: egov-mdms: 1/3 releases - waiting for egov-mdms"
    stalls = [w.message for w in collect.kinds(ev.StepWarning) if "no progress" in w.message]
    assert stalls and stalls[0].endswith("waiting for egov-mdms: 1/3 releases - waiting for egov-mdms")
    record = jr.Journal.load(tmp_path / "state").get("slow")
    assert record.outcome == "failed" and "timed out" in record.message


def test_cancel_interrupts_current_step_and_resume_finishes(tmp_path):
    calls: list[str] = []
    out = tmp_path / "out"
    started = threading.Event()

    def waits(ctx):
        calls.append("second")
        started.set()
        ctx.sleep(30 if waits.block else 0.01)
        return {}

    waits.block = True
    steps = pipeline(out, calls)
    steps[1] = Step("second", "Second", waits, needs=("first",))
    engine, collect = make_engine(tmp_path, steps)
    threading.Thread(target=lambda: (started.wait(5), engine.cancel("SIGINT received"))).start()
    result = engine.run()
    assert (result.exit_code, result.outcome, result.failed_step) == (130, "interrupted", "second")
    record = jr.Journal.load(tmp_path / "state").get("second")
    assert record.outcome == "interrupted" and record.message == "SIGINT received"
    waits.block = False
    calls.clear()
    engine, _ = make_engine(tmp_path, steps, resume=True)
    assert engine.run().exit_code == 0
    assert calls == ["second", "late", "final"]


def test_dry_run_changes_nothing(tmp_path):
    calls: list[str] = []
    out = tmp_path / "out"
    engine, collect = make_engine(tmp_path, pipeline(out, calls), dry_run=True)
    assert engine.run().exit_code == 0
    assert calls == ["first", "second", "late", "final"]
    assert not out.exists()
    assert not (tmp_path / "state" / "journal.json").exists()
    assert collect.kinds(ev.RunFinished)[0].outcome == "dry-run"


def test_progress_flood_is_coalesced_without_losing_the_last_state(tmp_path):
    seen: list[ev.StepProgress] = []

    def slow_sink(event):
        if isinstance(event, ev.StepProgress):
            seen.append(event)
            time.sleep(0.002)

    def chatty(ctx):
        for i in range(20000):
            ctx.progress(i + 1, 20000, "rows")
        return {}

    engine, _ = make_engine(tmp_path, [Step("chatty", "Chatty", chatty)], sinks=[slow_sink])
    assert engine.run().exit_code == 0
    assert len(seen) < 20000 / 4
    assert seen[-1].done == 20000
    assert [e.done for e in seen] == sorted(e.done for e in seen)
    assert engine.bus.coalesced > 0


def test_secrets_are_masked_in_events_journal_and_log(tmp_path):
    canary = "canary-9c1e0f-secret"
    redact.register(canary)

    def leaky(ctx):
        ctx.log(f"connecting with password {canary}")
        ctx.warn(f"retrying with {canary}")
        return {"dsn": f"postgres://u:{canary}@h/db"}

    def fails(ctx):
        raise StepFailed(f"login failed for password {canary}", remediation=f"check {canary}")

    steps = [Step("leaky", "Leaky", leaky), Step("fails", "Fails", fails, needs=("leaky",))]
    engine, collect = make_engine(tmp_path, steps)
    assert engine.run().exit_code == 1
    for event in collect.events:
        assert canary not in json.dumps(event.to_dict())
    for path in (tmp_path / "state").rglob("*"):
        if path.is_file():
            assert canary.encode() not in path.read_bytes(), path
    assert redact.MASK in (tmp_path / "state" / "journal.json").read_text()


def test_lock_refuses_a_second_run_and_names_the_holder(tmp_path):
    state = tmp_path / "state"
    holder = InstallLock(state, command="install").acquire()
    try:
        engine, _ = make_engine(tmp_path, [Step("one", "One", lambda ctx: {})])
        with pytest.raises(LockHeld) as info:
            engine.run()
        assert f"pid {os.getpid()}" in str(info.value)
        assert current_holder(state)["pid"] == os.getpid()
    finally:
        holder.release()
    assert current_holder(state) is None


def test_stale_lock_of_a_dead_process_is_taken_over_with_a_warning(tmp_path):
    state = tmp_path / "state"
    code = ("import sys, os, signal; from pathlib import Path; from installer.engine.lock import InstallLock; "
            "InstallLock(Path(sys.argv[1])).acquire(); os.kill(os.getpid(), signal.SIGKILL)")
    proc = subprocess.run([sys.executable, "-c", code, str(state)], env={**os.environ, "PYTHONPATH": str(Path.cwd())})
    assert proc.returncode == -9
    left = json.loads((state / "install.lock").read_text())
    assert left["pid"] != os.getpid()
    engine, collect = make_engine(tmp_path, [Step("one", "One", lambda ctx: {})])
    assert engine.run().exit_code == 0
    warnings = [w.message for w in collect.kinds(ev.StepWarning)]
    assert any("stale lock" in w and f"pid {left['pid']}" in w for w in warnings)


def test_journal_left_running_reads_back_as_interrupted(tmp_path):
    journal = jr.Journal(tmp_path, "demo")
    record = journal.record("deploy")
    record.outcome, record.started = jr.RUNNING, time.time()
    journal.save()
    again = jr.Journal.load(tmp_path)
    assert again.get("deploy").outcome == "interrupted"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".journal")]


def test_temporary_files_of_a_write_cut_short_are_cleaned_up(tmp_path):
    journal = jr.Journal(tmp_path, "demo")
    journal.record("deploy").outcome = jr.SUCCEEDED
    journal.save()
    leftover = tmp_path / ".journal.json.abc123"
    leftover.write_text('{"half": ')
    os.utime(leftover, (time.time() - 3600, time.time() - 3600))
    assert jr.Journal.load(tmp_path).get("deploy").outcome == "succeeded"
    assert not leftover.exists()


def test_a_refused_connection_is_retried_until_the_server_is_up(tmp_path):
    import socket

    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    server: list[socket.socket] = []

    def connect(ctx):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2):
                return {"port": port}
        finally:
            if not server:
                listener = socket.socket()
                listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                listener.bind(("127.0.0.1", port))
                listener.listen()
                server.append(listener)

    engine, collect = make_engine(tmp_path, [Step("connect", "Connect", connect, retry=Retry(3, 0.05))])
    try:
        result = engine.run()
    finally:
        for listener in server:
            listener.close()
    assert result.exit_code == 0
    warnings = [w.message for w in collect.kinds(ev.StepWarning)]
    assert len(warnings) == 1 and warnings[0].startswith("attempt 1/3 failed: ConnectionRefusedError")
    assert collect.kinds(ev.StepFinished)[0].attempts == 2
