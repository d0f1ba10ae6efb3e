"""The headless command as an operator runs it: real processes, real signals, kill -9, resume."""
from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from installer.engine.lock import InstallLock

ROOT = Path(__file__).resolve().parents[2]
CANARY = "canary-7f3b9e21-do-not-leak"
GENERATED = "generated-4d2a91c0-grafana"
STEPS = ["validate", "objects", "database", "alerts", "summary"]

ANSWERS = """\
version: 1
name: engine-demo
target:
  kind: existing-cluster
  kubeconfig: kubeconfig
sizing:
  profile: dev
domain:
  fqdn: digit.demo.example.org
  tls: {mode: self-signed}
database:
  mode: external
  host: 127.0.0.1
  port: 5432
  name: egov
  username: egov
  password: {env: DIGIT_TEST_CANARY}
release:
  charts: charts
config_repos:
  mdms: {url: "git@github.com:example/egov-mdms-data.git", branch: demo}
  configs: {url: "git@github.com:example/configs.git", branch: demo}
  ssh_key: {file: deploy_key}
monitoring:
  enabled: true
  alerts: {email: ALERTS}
"""


class Site:
    """An answers file, a state dir and an output dir for one simulated install."""

    def __init__(self, base: Path, email: str = "ops@example.org") -> None:
        self.base = base
        base.mkdir(parents=True, exist_ok=True)
        (base / "charts").mkdir(exist_ok=True)
        (base / "kubeconfig").write_text("apiVersion: v1\nkind: Config\n")
        (base / "deploy_key").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-real-key\n")
        self.answers = base / "answers.yaml"
        self.set_email(email)
        self.state = base / "state"
        self.out = base / "out"

    def set_email(self, email: str) -> None:
        self.answers.write_text(ANSWERS.replace("ALERTS", email))

    def env(self, **extra: str) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DEMO_", "DIGIT_INSTALLER_TEST"))}
        env.update({"PYTHONPATH": str(ROOT), "DIGIT_TEST_CANARY": CANARY, "DEMO_OUT": str(self.out)})
        env.update(extra)
        return env

    def argv(self, *args: str, output: str | None = "plain") -> list[str]:
        face = ["--output", output] if output else []
        return [sys.executable, "-m", "tests.engine.demo_pipeline", "--answers", str(self.answers),
                "--state-dir", str(self.state), *face, *args]

    def run(self, *args: str, output: str = "plain", **env: str) -> subprocess.CompletedProcess:
        return subprocess.run(self.argv(*args, output=output), cwd=ROOT, env=self.env(**env),
                              capture_output=True, text=True, timeout=60)

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "installer", *args], cwd=ROOT, env=self.env(),
                              capture_output=True, text=True, timeout=60)

    def journal(self) -> dict:
        data = json.loads((self.state / "journal.json").read_text())
        return {s["id"]: s for s in data["steps"]}

    def end_state(self) -> dict[str, str]:
        return {p.name: p.read_text() for p in sorted(self.out.iterdir())}


@pytest.fixture
def site(tmp_path):
    return Site(tmp_path / "site")


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    site = Site(tmp_path_factory.mktemp("baseline"))
    proc = site.run()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return site.end_state()


def assert_no_canary(text: str, where: str) -> None:
    assert CANARY not in text, f"canary secret leaked into {where}"
    assert GENERATED not in text, f"generated secret leaked into {where}"


def assert_state_clean(site: Site) -> None:
    for path in site.state.rglob("*"):
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), f"canary secret in {path}"
            if path.name != "generated-secrets.json":
                assert GENERATED.encode() not in path.read_bytes(), f"generated secret in {path}"


def test_full_run_plain_output_and_log(site, baseline):
    proc = site.run()
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split(" ", 1)[1].startswith("run ") and "log: " in lines[0]
    log_path = Path(lines[0].rsplit("log: ", 1)[1])
    assert log_path.is_file() and log_path.parent == site.state / "logs"
    events, closing = proc.stdout.split("\n\n✓ The install of 'engine-demo' succeeded.", 1)
    lines = events.splitlines()
    assert all(line[:4].isdigit() and line[10] == "T" for line in lines)
    assert "digit     https://digit.demo.example.org/" in closing
    assert [s for s in STEPS if any(f"[{s}] succeeded" in line for line in lines)] == STEPS
    assert site.end_state() == baseline
    assert (site.state / "answers.yaml").read_text() == site.answers.read_text()
    assert_no_canary(proc.stdout + proc.stderr, "stdout/stderr")
    assert_state_clean(site)


def run_in_pty(argv: list[str], env: dict, timeout: float = 60) -> tuple[int, str]:
    """Run with a terminal as stdout/stderr, so the rich face draws its live display."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(argv, cwd=ROOT, env={**env, "TERM": "xterm-256color", "COLUMNS": "120"},
                            stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)
    os.close(slave)
    chunks = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    os.close(master)
    return proc.wait(timeout=10), b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.parametrize("fail_at", [None, "database", "summary"])
def test_canary_never_leaks_under_any_face(site, fail_at):
    site.state.mkdir(parents=True)
    store = site.state / "generated-secrets.json"
    store.write_text(json.dumps({"version": 1, "values": {"credentials.grafana_admin_password": GENERATED}}))
    store.chmod(0o600)
    extra = {"DEMO_FAIL_AT": fail_at} if fail_at else {}
    expected = 1 if fail_at else 0
    for output in ("plain", "json"):
        proc = site.run(output=output, **extra)
        assert proc.returncode == expected, proc.stdout + proc.stderr
        assert_no_canary(proc.stdout + proc.stderr, f"{output} output")
        if output == "json":
            events = [json.loads(line) for line in proc.stdout.splitlines()]
            assert events[0]["event"] == "run.started" and events[-1]["event"] == "run.finished"
            assert any(e["event"] == "step.warning" and "******" in e["message"] for e in events)
    assert "grafana admin password is ******" in (site.state / "logs").joinpath(
        max(p.name for p in (site.state / "logs").iterdir())).read_text()
    code, screen = run_in_pty(site.argv(output=None), site.env(DEMO_DELAY="0.1", **extra))
    assert code == expected, screen
    assert "\x1b[" in screen and "━" in screen, "the rich face (the default on a terminal) did not draw"
    assert_no_canary(screen, "rich terminal output")
    assert_state_clean(site)
    bundle = site.base / "bundle.tar.gz"
    proc = site.cli("support-bundle", "--answers", str(site.answers), "--state-dir", str(site.state),
                    "-o", str(bundle))
    assert proc.returncode == 0, proc.stderr
    assert_no_canary(proc.stdout + proc.stderr, "support-bundle output")
    with tarfile.open(bundle) as tar:
        names = tar.getnames()
        assert any(n.endswith("/journal.json") for n in names)
        assert any("/logs/run-" in n for n in names)
        assert any(n.endswith("/answers.yaml") for n in names)
        for member in tar.getmembers():
            if member.isfile():
                content = tar.extractfile(member).read()
                assert CANARY.encode() not in content and GENERATED.encode() not in content, member.name
    if fail_at:
        journal = site.journal()
        assert journal[fail_at]["outcome"] == "failed"
        assert journal[fail_at]["message"] == "database refused password ******"


# 'before:X' is the same journal state as 'after:' the step before X, so only the first one is listed.
KILL_POINTS = ["before:validate"] + [f"after:{step}" for step in STEPS] + ["progress:objects:1", "progress:objects:4"]


@pytest.mark.parametrize("point", KILL_POINTS)
def test_kill_9_anywhere_then_resume_reaches_the_same_end_state(site, baseline, point):
    proc = site.run(DIGIT_INSTALLER_TEST_KILL_AT=point)
    assert proc.returncode == -signal.SIGKILL, proc.stdout + proc.stderr
    proc = site.run("--resume")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert site.end_state() == baseline
    assert all(r["outcome"] == "succeeded" for r in site.journal().values())
    plan = next(line for line in proc.stdout.splitlines() if "resuming from" in line or "nothing to rerun" in line)
    step = point.split(":")[1]
    if point.startswith("progress:") or (point.startswith("after:") and step == "validate"):
        assert f"rerun {step} (" in plan
    if point.startswith("progress:"):
        assert f"resuming from {step}" in plan and "interrupted at" in plan
    if point.startswith("after:") and step != "validate":
        assert f"skip {step} (succeeded" in plan
    assert_state_clean(site)


def _wait_for(predicate, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached")


def _objects_running(site: Site) -> bool:
    try:
        return site.journal().get("objects", {}).get("outcome") == "running"
    except (FileNotFoundError, ValueError):
        return False


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_interrupts_cooperatively_and_resume_completes(site, baseline, sig):
    proc = subprocess.Popen(site.argv(), cwd=ROOT, env=site.env(DEMO_DELAY="0.3"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for(lambda: _objects_running(site))
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, out + err
    record = site.journal()["objects"]
    assert record["outcome"] == "interrupted"
    assert record["message"] == f"{signal.Signals(sig).name} received"
    assert "press Ctrl+C again to exit at once" in out
    assert f"Debug log: {site.state}/logs/" in out and "Then resume with:" in out
    proc = site.run("--resume")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "resuming from objects" in proc.stdout
    assert site.end_state() == baseline


def test_status_during_a_run_names_the_running_step_and_the_holder(site):
    proc = subprocess.Popen(site.argv(), cwd=ROOT, env=site.env(DEMO_DELAY="0.5"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: _objects_running(site))
        status = site.cli("status", "--state-dir", str(site.state))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)
    assert status.returncode == 0, status.stderr
    assert f"a run is in progress: install is locked by pid {proc.pid}" in status.stdout
    rows = {line.split()[0]: line.split() for line in status.stdout.splitlines() if line.split()}
    assert rows["objects"][1] == "running" and rows["validate"][1] == "succeeded"
    assert "next:" not in status.stdout


def test_second_ctrl_c_exits_at_once(site):
    proc = subprocess.Popen(site.argv(), cwd=ROOT, env=site.env(DEMO_DELAY="3", DEMO_STUBBORN="1"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for(lambda: _objects_running(site))
    proc.send_signal(signal.SIGINT)
    time.sleep(0.3)
    assert proc.poll() is None
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=10)
    assert proc.returncode == 130 and time.monotonic() - t0 < 2
    assert site.journal()["objects"]["outcome"] == "interrupted"


def test_concurrent_run_is_refused_naming_the_holder(site):
    lock = InstallLock(site.state, command="test holder").acquire()
    try:
        proc = site.run()
    finally:
        lock.release()
    assert proc.returncode == 1
    assert f"install is locked by pid {os.getpid()}" in proc.stderr and "test holder" in proc.stderr
    assert f"wait for it to finish, or watch it with: ./install.sh status --answers {site.answers}" in proc.stderr
    assert not site.out.exists()


def test_stale_lock_from_killed_run_is_taken_over(site, baseline):
    proc = site.run(DIGIT_INSTALLER_TEST_KILL_AT="progress:objects:2")
    assert proc.returncode == -signal.SIGKILL
    dead_pid = json.loads((site.state / "install.lock").read_text())["pid"]
    proc = site.run("--resume")
    assert proc.returncode == 0
    assert f"took over a stale lock left by a process that is gone: pid {dead_pid}" in proc.stdout
    assert site.end_state() == baseline


def test_changing_a_late_answer_reruns_only_that_step_and_dependents(site):
    assert site.run().returncode == 0
    before = site.journal()
    site.set_email("alerts@example.org")
    proc = site.run("--resume")
    assert proc.returncode == 0, proc.stderr
    after = site.journal()
    rerun = [s for s in STEPS if after[s]["started"] != before[s]["started"]]
    assert rerun == ["validate", "alerts", "summary"]
    assert "rerun alerts (inputs changed: monitoring)" in proc.stdout
    assert "rerun summary (depends on alerts, which reruns)" in proc.stdout
    assert (site.out / "alerts.txt").read_text() == "alerts@example.org"


def test_dry_run_touches_nothing(site):
    proc = site.run("--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert not site.out.exists()
    assert not (site.state / "journal.json").exists() and not (site.state / "answers.yaml").exists()
    assert "run dry-run" in proc.stdout


def test_status_shows_outcomes_durations_and_last_error(site):
    proc = site.run(DEMO_FAIL_AT="alerts")
    assert proc.returncode == 1
    status = site.cli("status", "--state-dir", str(site.state))
    assert status.returncode == 0, status.stderr
    rows = {line.split()[0]: line for line in status.stdout.splitlines()[3:] if line.split()}
    assert rows["objects"].split()[1] == "succeeded" and rows["objects"].split()[2].endswith("s")
    assert rows["alerts"].split()[1] == "failed"
    assert "database refused password ****** -> check that ****** is right" in rows["alerts"]
    assert rows["summary"].split()[1] == "pending"
    assert "next: `--resume` continues at alerts" in status.stdout
    assert_no_canary(status.stdout, "status")
    as_json = json.loads(site.cli("status", "--state-dir", str(site.state), "--output", "json").stdout)
    assert [s["outcome"] for s in as_json["steps"]] == ["succeeded", "succeeded", "succeeded", "failed", "pending"]


def test_bad_answers_exit_2_with_file_line_key(site):
    site.answers.write_text(site.answers.read_text().replace("port: 5432", "port: many"))
    proc = site.run()
    assert proc.returncode == 2
    assert f"{site.answers}:" in proc.stderr and "database.port" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_unreadable_journal_is_reported_not_crashed_on(site):
    assert site.run().returncode == 0
    (site.state / "journal.json").write_text('{"steps": [ truncated')
    proc = site.run("--resume")
    assert proc.returncode == 1
    assert "cannot resume: " in proc.stderr and "journal.json cannot be read" in proc.stderr
    assert "Traceback" not in proc.stderr
    status = site.cli("status", "--state-dir", str(site.state))
    assert status.returncode == 1 and "move it aside" in status.stderr
    bundle = site.base / "b.tar.gz"
    proc = site.cli("support-bundle", "--state-dir", str(site.state), "-o", str(bundle))
    assert proc.returncode == 0 and "journal.json cannot be read" in proc.stdout
    with tarfile.open(bundle) as tar:
        assert any(name.endswith("/journal.json") for name in tar.getnames())


def run_in_pty_80x24(argv: list[str], env: dict, timeout: float = 60) -> tuple[int, str]:
    """Like run_in_pty, on a terminal of 80 columns and 24 rows (the size the operator may have)."""
    import fcntl
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    clean = {k: v for k, v in env.items() if k not in ("COLUMNS", "LINES")}
    proc = subprocess.Popen(argv, cwd=ROOT, env={**clean, "TERM": "xterm-256color"},
                            stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)
    os.close(slave)
    chunks = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    os.close(master)
    return proc.wait(timeout=10), b"".join(chunks).decode("utf-8", "replace")


def _screen_text(raw: str) -> str:
    """Terminal output without escape sequences and carriage-return redraws."""
    import re

    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\x1b[()][A-Z0-9]", "", raw)
    return "\n".join(line.split("\r")[-1] for line in text.replace("\r\n", "\n").split("\n"))


def _closing_block(text: str) -> str:
    marks = [text.rfind("✓ The install of"), text.rfind("✗ The install of")]
    start = max(marks)
    assert start >= 0, f"no closing block in:\n{text[-1500:]}"
    return text[start:]


@pytest.mark.parametrize("face", ["plain", "json", "rich"])
def test_every_face_ends_with_the_summary_urls_and_log(site, face):
    if face == "rich":
        code, raw = run_in_pty_80x24(site.argv(output=None), site.env())
        out = _screen_text(raw)
    else:
        proc = site.run(output=face)
        code, out = proc.returncode, proc.stdout + proc.stderr
        if face == "json":  # stdout stays a stream of JSON objects; the closing block goes to stderr
            assert all(json.loads(line) for line in proc.stdout.splitlines())
            out = proc.stderr
    assert code == 0, out
    block = _closing_block(out)
    assert "✓ The install of 'engine-demo' succeeded." in block
    assert "  digit     https://digit.demo.example.org/" in block
    # at 80 columns a path too long for the line goes whole onto the next one, under the label
    assert "Debug log: " + str(site.state / "logs") in " ".join(block.split())
    assert block.count("Debug log:") == 1  # once, though the summary names the log too


@pytest.mark.parametrize("face", ["plain", "json", "rich"])
def test_every_face_ends_with_what_failed_what_to_do_and_the_resume_command(site, face):
    env = {"DEMO_FAIL_AT": "alerts"}
    if face == "rich":
        code, raw = run_in_pty_80x24(site.argv(output=None), site.env(**env))
        out = _screen_text(raw)
    else:
        proc = site.run(output=face, **env)
        code, out = proc.returncode, (proc.stderr if face == "json" else proc.stdout + proc.stderr)
    assert code == 1, out
    block = _closing_block(out).splitlines()
    assert block[0] == "✗ The install of 'engine-demo' failed at step alerts:"
    assert block[1] == "  database refused password ******"
    assert block[2:4] == ["What to do:", "  check that ****** is right"]
    assert block[4] == "Then resume with:"
    assert block[5] == f"  ./install.sh --answers {site.answers} --state-dir {site.state} --resume"
    if face == "rich":  # the failure is told once, in the closing block, not also by the live display
        assert out.count("database refused password") == 1, out


def test_rich_face_at_80_columns_keeps_columns_still_and_words_whole(site):
    long_warning = "the storage class digit-static has no provisioner so every claim waits for a volume made by hand"
    code, raw = run_in_pty_80x24(site.argv(output=None), site.env(DEMO_DELAY="0.15", DEMO_WARNING=long_warning))
    out = _screen_text(raw)
    assert code == 0, out
    lines = out[:out.rfind("✓ The install of")].splitlines()  # the face's own output (paths after it are long)
    assert all(len(line) <= 80 for line in lines), [line for line in lines if len(line) > 80]
    # the warning wraps at word boundaries: every word of it appears whole on some line
    warning_lines = " ".join(line.strip() for line in lines if "storage class" in line or "claim waits" in line
                             or "made by hand" in line)
    for word in long_warning.split():
        assert word in warning_lines.split(), (word, warning_lines)
    # every live frame draws the progress bar at the same column (columns fixed between frames)
    bar_columns = {line.index("━") for line in lines if "━" in line}
    assert len(bar_columns) == 1, bar_columns


def test_declining_the_confirmation_exits_1_saying_nothing_changed(site):
    master, slave = pty.openpty()
    proc = subprocess.Popen(site.argv(output="plain"), cwd=ROOT, env=site.env(), stdin=slave, stdout=slave, stderr=slave)
    os.close(slave)
    chunks = []
    deadline = time.monotonic() + 30
    answered = False
    while time.monotonic() < deadline and proc.poll() is None:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunks.append(os.read(master, 65536))
            except OSError:
                break
        if not answered and b"[y/N]" in b"".join(chunks):
            os.write(master, b"n\n")
            answered = True
    code = proc.wait(timeout=10)
    try:
        while select.select([master], [], [], 0.2)[0]:
            data = os.read(master, 65536)
            if not data:
                break
            chunks.append(data)
    except OSError:
        pass
    os.close(master)
    out = b"".join(chunks).decode()
    assert answered, out
    assert code == 1, out
    assert "Not confirmed: nothing was changed. Answer y to install, or pass --yes." in out
    assert not site.out.exists() and not (site.state / "journal.json").exists()


def test_status_and_support_bundle_work_when_the_answers_cannot_be_loaded(site, baseline):
    assert site.run().returncode == 0
    site.answers.write_text(site.answers.read_text().replace("sizing:\n  profile: dev", "sizing:\n  profile: dev\n  typo: 1"))
    env_state = ["--state-dir", str(site.state)]
    proc = site.cli("status", "--answers", str(site.answers), *env_state)
    assert proc.returncode == 0, proc.stderr
    assert "sizing.typo" in proc.stderr and "reading the state directory alone" in proc.stderr
    assert "every step succeeded" in proc.stdout
    # without --state-dir, the install's name in the broken file still finds its state directory
    proc = site.cli("status", "--answers", str(site.answers))
    assert "reading the state directory of 'engine-demo' alone" in proc.stderr
    bundle = site.base / "b.tar.gz"
    proc = site.cli("support-bundle", "--answers", str(site.answers), *env_state, "--out", str(bundle))
    assert proc.returncode == 0, proc.stderr
    with tarfile.open(bundle) as tar:
        assert any(n.endswith("/journal.json") for n in tar.getnames())


def test_support_bundle_out_flag_and_help_no_longer_clash_with_output(site, baseline):
    assert site.run().returncode == 0
    help_text = site.cli("support-bundle", "--help").stdout
    assert "-o FILE, --out FILE" in help_text and "--output" not in help_text
    for flag in ("-o", "--out"):
        bundle = site.base / f"bundle{flag}.tar.gz"
        proc = site.cli("support-bundle", "--state-dir", str(site.state), flag, str(bundle))
        assert proc.returncode == 0 and bundle.is_file(), proc.stderr


def test_support_bundle_keeps_an_earlier_runs_summary_apart(site, baseline):
    assert site.run().returncode == 0
    (site.state / "summary.txt").write_text("DIGIT is installed (an earlier run)\n")
    os.utime(site.state / "summary.txt", (1, 1))
    assert site.run(DEMO_FAIL_AT="alerts").returncode == 1
    bundle = site.base / "bundle.tar.gz"
    proc = site.cli("support-bundle", "--state-dir", str(site.state), "--out", str(bundle))
    assert proc.returncode == 0, proc.stderr
    with tarfile.open(bundle) as tar:
        names = tar.getnames()
    assert any(n.endswith("/reports/earlier-runs/summary.txt") for n in names), names
    assert not any(n.endswith("/reports/summary.txt") for n in names)
    assert "summary.txt is from a run before the last one" in proc.stdout
