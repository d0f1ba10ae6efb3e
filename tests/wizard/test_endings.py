"""How the wizard ends: the run's outcome and next steps stay on the terminal; drafts are found again and finished."""
from __future__ import annotations


import pytest
from textual.widgets import Button, RadioButton

from installer.engine import StepFailed
from installer.engine.steps import Step
from screens.app import closing_lines, make_app
from screens.state import Catalog, WizardState, find_drafts
from tests.wizard.helpers import ROOT, Driver, make_site
from tests.wizard.test_run_pages import loaded_state

pytestmark = pytest.mark.timeout(90)


def _failing(answers):
    def deploy(ctx):
        raise StepFailed("egov-user never became ready", remediation="kubectl -n egov describe deploy/egov-user")

    return [Step("hello", "Say hello", lambda ctx: {"said": "hello"}), Step("deploy", "Deploy DIGIT releases", deploy, needs=("hello",))]


@pytest.mark.asyncio
async def test_after_a_failed_run_the_page_and_the_terminal_keep_the_outcome(tmp_path):
    state = loaded_state(tmp_path)
    state.save()
    app = make_app(state, pages=[], build_steps=_failing, clock=lambda: 100.0)
    app.animation_level = "none"
    async with app.run_test(size=(80, 24)) as pilot:
        d = Driver(app, pilot)
        await d.show("progress")
        await d.wait_for(lambda: app.screen.finished is not None, "the run to end", timeout=30)
        await pilot.pause()
        screen = app.screen
        assert "Install failed at deploy" in str(screen.query_one(".page-header").render())
        assert not screen.query_one("#cancel-run", Button).display
        summary = screen.query_one("#summary-box")
        assert summary.display and summary.region.bottom <= screen.query_one("#status").region.y + 1, "outcome below the fold"
        assert screen.rows["hello"].title == "Say hello"
        await pilot.click("#close")
    lines = "\n".join(closing_lines(app))
    # the same closing block the headless run prints, read from the run's state directory
    from installer.app.closing import closing_text

    assert lines == closing_text(tmp_path / "state", state.answers_path, explicit_state_dir=True)
    assert "failed at step deploy" in lines and "kubectl -n egov describe deploy/egov-user" in lines
    assert f"--answers {state.answers_path}" in lines and "--resume" in lines and "Debug log:" in lines


@pytest.mark.asyncio
async def test_the_run_knows_the_saved_answers_file(tmp_path):
    state = loaded_state(tmp_path)
    assert state.validate().source_path is None
    _answers, path = state.save()
    assert state.validate().source_path == path
    state.put("name", "changed-after-saving")
    assert state.validate().source_path is None, "answers that differ from the file must not claim it"


@pytest.mark.asyncio
async def test_a_draft_is_listed_resumed_and_finished_without_its_draft_header(tmp_path, monkeypatch):
    site = make_site(tmp_path)
    monkeypatch.chdir(site)
    drafts = site / "drafts"
    drafts.mkdir()
    path = drafts / "uat.yaml"
    state = WizardState(path, catalog=Catalog.load(site))
    state.load(ROOT / "assets" / "examples" / "existing-cluster.yaml")
    state.answers_path = path
    state.put("sizing", None)
    state.save_draft()
    assert path.read_text().startswith("# draft")
    assert find_drafts(drafts) == [path.resolve()]

    fresh = WizardState(site / "answers.yaml", catalog=Catalog.load(site))
    fresh.drafts = [path]
    app = make_app(fresh)
    app.animation_level = "none"
    async with app.run_test(size=(80, 24)) as pilot:
        d = Driver(app, pilot)
        assert "draft drafts/uat.yaml" in str(app.screen.query_one("#previous-0", RadioButton).label)
        app.screen.query_one("#mode-resume", RadioButton).value = True
        await pilot.pause()
        await d.next()
        await d.wait_for(lambda: getattr(app.screen, "PAGE", "") == "target", "the first page")
        assert app.state.answers_path == path, "a draft is finished where it was found"
        app.state.put("sizing", {"profile": "dev"})
        _answers, saved = app.state.save()
    text = saved.read_text()
    assert saved == path and not text.startswith("# draft") and text.startswith("# yaml-language-server: $schema=")


@pytest.mark.asyncio
async def test_quitting_with_a_draft_says_where_it_is(tmp_path):
    path = make_site(tmp_path) / "answers.yaml"
    app = make_app(WizardState(path, catalog=Catalog.load(tmp_path)), pages=["target"])
    app.animation_level = "none"
    async with app.run_test(size=(80, 24)) as pilot:
        d = Driver(app, pilot)
        await d.type("name", (), "half-done")
        await pilot.press("ctrl+q")
        await pilot.pause()
        await pilot.click("#save-quit")
        await d.wait_for(path.exists, "the draft")
    lines = closing_lines(app)
    assert lines == [f"A draft of the answers is saved in {path}", f"Finish it with: ./install.sh --answers {path} --interactive"]


@pytest.mark.asyncio
async def test_quitting_a_resumed_draft_without_saving_says_the_draft_is_still_there(tmp_path):
    """Continuing a draft, then 'Quit without saving', left nothing on the terminal: not where the draft is, nor
    that the changes since were dropped."""
    path = make_site(tmp_path) / "answers.yaml"
    first = WizardState(path, catalog=Catalog.load(tmp_path))
    first.put("name", "half-done")
    first.save_draft()
    state = WizardState(path, catalog=Catalog.load(tmp_path))
    state.load(path)
    app = make_app(state, pages=["target"])
    app.animation_level = "none"
    async with app.run_test(size=(80, 24)) as pilot:
        d = Driver(app, pilot)
        await d.type("name", (), "changed-name")
        await pilot.press("ctrl+q")
        await pilot.pause()
        await pilot.click("#quit")
        await pilot.pause()
    lines = closing_lines(app)
    assert lines == [f"Not saved: the draft in {path} is as it was saved before",
                     f"Finish it with: ./install.sh --answers {path} --interactive"]
    assert "half-done" in path.read_text()


@pytest.mark.asyncio
async def test_closing_the_wizard_on_a_failed_preflight_leaves_what_failed_on_the_terminal(tmp_path):
    """Quitting on the preflight page after checks failed printed 'Answers saved … Install with: …' alone: what
    failed and what to do were gone with the screen."""
    import shutil

    from tests.wizard.helpers import ROOT
    from tests.wizard.test_run_pages import ScriptedPreflight

    site = make_site(tmp_path)
    path = site / "answers.yaml"
    shutil.copy(ROOT / "assets" / "examples" / "existing-cluster.yaml", path)
    state = WizardState(path, catalog=Catalog.load(site), state_dir=tmp_path / "state")
    state.load(path)
    app = make_app(state, pages=[], preflight_source=ScriptedPreflight())
    app.animation_level = "none"
    async with app.run_test(size=(80, 24)) as pilot:
        d = Driver(app, pilot)
        app.screen.query_one("#save-start").press()
        await d.wait_for(lambda: getattr(app.screen, "PAGE", "") == "preflight" and "failed" in d.status(), "the checks")
        await pilot.press("ctrl+q")
        await pilot.pause()
    lines = closing_lines(app)
    assert lines[:3] == ["Preflight: 1 check(s) failed; nothing was changed.", "✗ RAM (w1): 7.6 GiB, needs 16 GiB",
                         "  what to do: Give the VM more RAM, or choose a smaller sizing profile (sizing.profile)."], lines
    assert f"Fix them, then check again with: ./install.sh preflight --answers {path}" in lines
