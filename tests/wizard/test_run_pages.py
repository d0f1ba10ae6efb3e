"""Preflight and progress pages: checks with remediations and single re-runs; engine events to rows, logs and summary."""
from __future__ import annotations

import shutil
from dataclasses import dataclass

import pytest
from textual.widgets import Button, DataTable, RichLog

from installer.engine import StepFailed
from installer.engine.steps import Step
from screens.app import make_app
from screens.state import Catalog, WizardState
from tests.wizard.helpers import ROOT, Driver, make_site

pytestmark = pytest.mark.timeout(60)


@dataclass
class Result:
    id: str
    target: str
    status: str
    message: str
    remediation: str = ""
    title: str = ""


class ScriptedPreflight:
    """Stands in for installer.preflight in the UI tests: the first run has a failure, re-runs pass."""

    def __init__(self) -> None:
        self.calls: list[list[str] | None] = []

    def __call__(self, answers, only):
        self.calls.append(only)
        if only is None:
            return [Result("node.ssh", "cp1", "pass", "key accepted", title="SSH reachable"),
                    Result("node.memory", "w1", "fail", "7.6 GiB, needs 16 GiB",
                           "Give the VM more RAM, or choose a smaller sizing profile (sizing.profile).", title="RAM")]
        return [Result("node.memory", "w1", "pass", "16 GiB", title="RAM")]


def loaded_state(tmp_path, example="existing-cluster"):
    site = make_site(tmp_path, "digit.demo.example.org")
    path = site / "answers.yaml"
    shutil.copy(ROOT / "assets" / "examples" / f"{example}.yaml", path)
    state = WizardState(path, catalog=Catalog.load(site), state_dir=tmp_path / "state")
    state.load(path)
    return state


@pytest.mark.asyncio
async def test_preflight_highlights_failures_and_reruns_one_check(tmp_path):
    source = ScriptedPreflight()
    app = make_app(loaded_state(tmp_path), pages=[], preflight_source=source)
    app.animation_level = "none"
    async with app.run_test(size=(80, 24)) as pilot:
        d = Driver(app, pilot)
        await d.show("preflight")
        await d.wait_for(lambda: app.screen.query_one(DataTable).row_count == 2, "the checks")
        assert "1 check(s) failed" in d.status()
        assert "choose a smaller sizing profile" in str(app.screen.query_one("#remediation").render())
        assert app.screen.query_one("#next", Button).disabled
        table = app.screen.query_one(DataTable)
        assert table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value == "node.memory@w1"
        await pilot.click("#rerun")
        await d.wait_for(lambda: "passed" in d.status(), "the re-run")
        assert source.calls == [None, ["node.memory"]]
        assert not app.screen.query_one("#next", Button).disabled


class SshFirst:
    """SSH to a node fails at first, so the node checks behind it are skipped; once SSH works they all run."""

    def __init__(self) -> None:
        self.calls: list[list[str] | None] = []
        self.ssh_works = False

    def __call__(self, answers, only):
        self.calls.append(only)
        results = []
        if only is None or "node.ssh" in only:
            results.append(Result("node.ssh", "w1", "pass" if self.ssh_works else "fail",
                                  "key accepted" if self.ssh_works else "connection refused", title="SSH reachable"))
        if only is None or "node.memory" in only:
            # a skipped check names the address it could not reach; once it runs it names the node
            results.append(Result("node.memory", "w1", "pass", "16 GiB", title="RAM") if self.ssh_works
                           else Result("node.memory", "10.0.0.21", "skip", "SSH failed", title="RAM"))
        return results


async def _preflight_page(app, pilot):
    d = Driver(app, pilot)
    await d.show("preflight")
    await d.wait_for(lambda: app.screen.query_one(DataTable).row_count >= 2 and "running" not in d.status(), "the checks")
    return d


def _rows(app) -> list[str]:
    return [row.value for row in app.screen.query_one(DataTable).rows]


@pytest.mark.asyncio
async def test_rerunning_a_check_replaces_its_row_and_runs_the_checks_it_skipped(tmp_path):
    source = SshFirst()
    app = make_app(loaded_state(tmp_path), pages=[], preflight_source=source)
    app.animation_level = "none"
    async with app.run_test(size=(80, 24)) as pilot:
        d = await _preflight_page(app, pilot)
        assert sorted(_rows(app)) == ["node.memory@10.0.0.21", "node.ssh@w1"]
        table = app.screen.query_one(DataTable)
        assert table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value == "node.ssh@w1"
        source.ssh_works = True
        await pilot.click("#rerun")
        await d.wait_for(lambda: "passed" in d.status(), "the re-run")
        assert source.calls == [None, ["node.ssh", "node.memory"]]
        assert sorted(_rows(app)) == ["node.memory@w1", "node.ssh@w1"]
        assert not app.screen.query_one("#next", Button).disabled


@pytest.mark.asyncio
async def test_coming_back_after_an_answer_changed_runs_every_check_again(tmp_path):
    source = ScriptedPreflight()
    state = loaded_state(tmp_path)
    app = make_app(state, pages=[], preflight_source=source)
    app.animation_level = "none"
    async with app.run_test(size=(80, 24)) as pilot:
        d = await _preflight_page(app, pilot)
        await pilot.press("ctrl+b")
        await d.wait_for(lambda: app.screen.PAGE == "review", "the review page")
        await d.show("preflight")
        await pilot.pause(0.3)
        assert source.calls == [None], "nothing changed, so nothing runs again"
        await d.show("review")
        await pilot.pause()
        state.put("sizing", {**state.section("sizing"), "allow_undersized": True})
        await d.show("preflight")
        await d.wait_for(lambda: len(source.calls) == 2 and "failed" in d.status(), "the fresh run")
        assert source.calls == [None, None]
        assert sorted(_rows(app)) == ["node.memory@w1", "node.ssh@cp1"]
        await pilot.click("#rerun-all")
        await d.wait_for(lambda: len(source.calls) == 3 and "failed" in d.status(), "re-run all")
        assert source.calls[-1] is None and len(_rows(app)) == 2


def _steps(answers):
    def check(ctx):
        for done in range(1, 4):
            ctx.progress(done, 3, "checks")
        ctx.log("all nodes answer")
        return {}

    def deploy(ctx):
        for index, release in enumerate(("egov-user", "egov-mdms-service")):
            ctx.progress(index, 2, "releases", task=release)
            ctx.log(f"installing {release}", task=release)
        raise StepFailed("egov-mdms-service never became ready", remediation="kubectl -n egov logs deploy/egov-mdms-service")

    return [Step("check", "Check the nodes", check), Step("deploy", "Deploy DIGIT releases", deploy, needs=("check",))]


@pytest.mark.asyncio
async def test_progress_runs_the_engine_and_shows_rows_logs_and_summary(tmp_path):
    state = loaded_state(tmp_path)
    app = make_app(state, pages=[], build_steps=_steps, clock=lambda: 100.0)
    app.animation_level = "none"
    async with app.run_test(size=(80, 24)) as pilot:
        d = Driver(app, pilot)
        await d.show("progress")
        screen = app.screen
        await d.wait_for(lambda: screen.finished is not None, "the run to finish", timeout=30)
        assert screen.rows["check"].status in ("ok", "succeeded")
        assert screen.rows["deploy"].status == "failed"
        assert "deploy/egov-user" in screen.rows and "deploy/egov-mdms-service" in screen.rows
        summary = str(screen.query_one("#summary").render())
        assert "stopped at deploy" in summary and "kubectl -n egov logs" in summary and "debug log:" in summary
        screen.widgets["deploy/egov-user"].focus()
        await pilot.press("enter")
        await pilot.pause()
        log = screen.query_one("#log", RichLog)
        assert log.display and any("installing egov-user" in line.text for line in log.lines)
        assert app.exit_code == 1
    assert (tmp_path / "state" / "journal.json").exists()


@pytest.mark.asyncio
async def test_save_and_start_runs_preflight_then_the_install(tmp_path):
    state = loaded_state(tmp_path)

    def passing(answers, only):
        return [Result("cluster.api", "digit-admin", "pass", "v1.34 answers", title="API reachable")]

    def one_step(answers):
        return [Step("hello", "Say hello", lambda ctx: {"said": "hello"})]

    app = make_app(state, pages=[], preflight_source=passing, build_steps=one_step)
    app.animation_level = "none"
    async with app.run_test(size=(80, 24)) as pilot:
        d = Driver(app, pilot)
        assert app.screen.PAGE == "review"
        app.screen.query_one("#save-start").press()
        await d.wait_for(lambda: getattr(app.screen, "PAGE", "") == "preflight", "the preflight page")
        await d.wait_for(lambda: not app.screen.query_one("#next", Button).disabled, "the checks to pass")
        await d.next()
        await d.wait_for(lambda: getattr(app.screen, "finished", None) is not None, "the install", timeout=30)
        assert app.screen.rows["hello"].status == "succeeded" and app.exit_code == 0
        assert "DIGIT is installed" in str(app.screen.query_one("#summary").render())
    assert state.answers_path.exists()


@pytest.mark.asyncio
@pytest.mark.timeout(180)
async def test_preflight_page_runs_the_real_checks_on_the_rig(fresh_rig, monkeypatch, tmp_path):
    """The page's default source is installer.preflight: a swapping node fails, is fixed, and its single re-run passes."""
    rig = fresh_rig(nodes=2, facts=["n2:swap=on"])
    for name, value in rig.env.items():
        monkeypatch.setenv(name, value)
    state = WizardState(rig.answers_path, catalog=Catalog.load(rig.answers_path.parent), state_dir=tmp_path / "state")
    state.load(rig.answers_path)
    app = make_app(state, pages=[])
    app.animation_level = "none"
    async with app.run_test(size=(120, 40)) as pilot:
        d = Driver(app, pilot)
        await d.show("preflight")
        table = lambda: app.screen.query_one(DataTable)  # noqa: E731
        await d.wait_for(lambda: table().row_count > 10, "the real check table", timeout=120)
        keys = [row.value for row in table().rows]
        assert "node.swap@n2" in keys, keys
        for source in ("node.", "k8s.", "db.", "domain."):
            assert any(key.startswith(source) for key in keys), (source, keys)
        assert "failed" in d.status()
        assert table().coordinate_to_cell_key(table().cursor_coordinate).row_key.value == "node.swap@n2"
        assert "swapoff" in str(app.screen.query_one("#remediation").render())
        assert app.screen.query_one("#next", Button).disabled
        rig.set_fact("n2", "swap", "off")
        await pilot.click("#rerun")
        await d.wait_for(lambda: "passed" in d.status(), "the re-run of node.swap", timeout=60)
        assert not app.screen.query_one("#next", Button).disabled


@pytest.mark.asyncio
async def test_escape_sequences_from_a_node_show_as_text_on_the_preflight_page(tmp_path):
    """A node's os-release with OSC/CSI sequences must not retitle the terminal or rewrite lines from the wizard."""
    hostile = "Debian\x1b]0;pwned\x07\x1b[1A\x1b[2K"
    source = lambda answers, only: [Result("node.os", "n1", "warn", hostile, f"upgrade {hostile}", title="OS")]  # noqa: E731
    app = make_app(loaded_state(tmp_path), pages=[], preflight_source=source)
    app.animation_level = "none"
    async with app.run_test(size=(80, 24)) as pilot:
        d = Driver(app, pilot)
        await d.show("preflight")
        await d.wait_for(lambda: app.screen.query_one(DataTable).row_count == 1, "the check")
        table = app.screen.query_one(DataTable)
        cells = [str(cell) for cell in table.get_row_at(0)]
        assert "\x1b" not in "".join(cells) and "Debian\\x1b]0;pwned\\x07" in cells[2]
        app.screen._describe("node.os@n1")
        shown = str(app.screen.query_one("#remediation").render())
        assert "\x1b" not in shown and "\x07" not in shown and "\\x1b[2K" in shown


def test_every_event_a_face_receives_has_control_characters_escaped():
    """The event bus escapes once for every face, the wizard's progress page included."""
    from installer.engine import events as ev

    event = ev.masked(ev.StepLog("preflight", message="n1: Debian\x1b]0;pwned\x07", level="warning"))
    assert event.message == "n1: Debian\\x1b]0;pwned\\x07"


class LongTitles:
    """Checks named as the real ones are: long titles with their target, one failing with a long remediation."""

    def __call__(self, answers, only):
        results = [Result("db.login", "127.0.0.1:33759", "fail",
                          "measured database.password: environment variable DIGIT_DB_PASSWORD is not set, required login",
                          "Check database.username and the password it references; the user must exist on the server "
                          "and be allowed to log in from this machine.", title="Database login works")]
        results.append(Result("node.host_key", "n1", "fail",
                              "host key CHANGED (the node presents a key other than the trusted one): measured "
                              "SHA256:kAl458SPm8ucIxGFpp9I8SmOsXew6r8y0aV9p32f490, required "
                              "SHA256:T1cOqq1BImPm8J1HIqYQlcVo+zZCa+8yWHUYnBGpFKc",
                              "Do not connect until you know why the key changed (reinstalled machine, new VM at "
                              "the same address, or an attack); once you know, pin the new key on the Target page "
                              "or under target.ssh.host_keys. Then run preflight again and keep the old key's "
                              "fingerprint in your records.", title="SSH host key trusted"))
        results += [Result(f"cluster.check{i}", "current-context", "pass", "measured fine, required fine",
                           title="Allocatable CPU and memory for the profile and a little more") for i in range(14)]
        return results


@pytest.mark.asyncio
async def test_preflight_at_80_columns_shows_each_checks_state_and_the_whole_remediation(tmp_path):
    """With the real checks' long titles the result column sat right of the screen (scrolled off), and the
    remediation below a 14-row table was cut at the bottom of the page."""
    from tests.wizard.helpers import screen_text

    app = make_app(loaded_state(tmp_path), pages=[], preflight_source=LongTitles())
    app.animation_level = "none"
    async with app.run_test(size=(80, 24)) as pilot:
        d = await _preflight_page(app, pilot)
        await pilot.pause(0.3)
        text = screen_text(app)
        rows = [line for line in text.splitlines()
                if ("Database login works" in line or "Allocatable" in line) and "measured" not in line]
        assert rows and "✗ FAIL" in rows[0], text
        assert [line for line in rows[1:] if "✓ pass" not in line] == [], text
        remediation = app.screen.query_one("#remediation")
        body = app.screen.query_one("#body")
        assert body.region.contains_region(remediation.region), f"the remediation is cut off:\n{text}"
        assert "allowed to log in from this machine" in text, text
        assert "2 check(s) failed" in d.status()
        await pilot.press("down")  # the next failure, with a longer message and what to do
        await pilot.pause(0.3)
        text = screen_text(app)
        assert "SSH host key trusted (n1)" in str(remediation.render())
        assert body.region.contains_region(remediation.region), f"the longer remediation is cut off:\n{text}"
        assert "keep the old key's" in text and "fingerprint in your records." in text, text


@pytest.mark.asyncio
async def test_progress_end_says_installed_marks_a_finished_steps_tasks_done_and_drops_cancel(tmp_path):
    """A task never reported ended in a step that succeeded showed '■ stopped'; the header read 'Install installed';
    the footer kept offering Cancel install, Next and Back with nothing running."""
    from tests.wizard.helpers import screen_text

    def steps(answers):
        def configure(ctx):
            for done in range(1, 6):
                ctx.progress(done, 5, "objects", task="objects")
            return {}

        return [Step("configure", "Namespaces, secrets, values and storage", configure)]

    app = make_app(loaded_state(tmp_path), pages=[], build_steps=steps)
    app.animation_level = "none"
    async with app.run_test(size=(80, 24)) as pilot:
        d = Driver(app, pilot)
        await d.show("progress")
        screen = app.screen
        await d.wait_for(lambda: screen.finished is not None, "the run to finish", timeout=30)
        await pilot.pause(0.3)
        assert screen.rows["configure"].status == "succeeded"
        assert screen.rows["configure/objects"].status == "succeeded"
        text = screen_text(app)
        assert "stopped" not in text and "Install installed" not in text and "·  Installed" in text, text
        footer = text.splitlines()[-1]
        assert "Cancel install" not in footer and "Next" not in footer and "Back" not in footer, footer
