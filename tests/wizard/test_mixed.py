"""--answers FILE --interactive: the wizard opens pre-filled and visits only what is missing, invalid or named."""
from __future__ import annotations

import argparse
import shutil

import pytest

from installer.answers import load_answers
from screens.app import make_app
from tests.wizard.helpers import CHARTS, ROOT, Driver, make_site

pytestmark = pytest.mark.timeout(60)

PARTIAL = f"""\
# the operator's own notes survive the wizard
version: 1
name: mixed-mode
target:
  kind: existing-cluster
  kubeconfig: kubeconfig
sizing:
  profile: no-such-profile
database: {{mode: in-cluster}}
release:
  charts: {CHARTS}
config_repos:
  mdms: {{url: "git@git.example.org:digit/mdms.git", branch: main}}
  configs: {{url: "git@git.example.org:digit/configs.git", branch: main}}
  ssh_key: {{env: GIT_KEY}}
"""


@pytest.mark.asyncio
async def test_interactive_visits_missing_invalid_and_named_sections(tmp_path):
    site = make_site(tmp_path)
    path = site / "answers.yaml"
    path.write_text(PARTIAL)
    args = argparse.Namespace(answers=str(path), interactive=True, sections="ci", plain=False, state_dir=None)
    app = make_app(args=args)
    app.animation_level = "none"
    # release: the default profile (digit-2.9-lts) does not match the sample chart folder, so its page is visited
    assert app.flow == ["sizing", "domain", "release", "monitoring", "review"]
    async with app.run_test(size=(80, 24)) as pilot:
        d = Driver(app, pilot)
        assert d.screen.PAGE == "sizing"
        await d.next()
        assert "no-such-profile" in d.status() or "Next is blocked" in d.status()
        await d.set("sizing", ("profile",), "dev")
        await d.next()
        assert d.screen.PAGE == "domain"
        await d.type("domain", ("fqdn",), "mixed.example.org")
        await d.choose("domain", ("tls",), "self-signed")
        await d.next()
        assert d.screen.PAGE == "release"
        await d.next()
        assert d.screen.PAGE == "release" and "missing" in d.status(), d.status()
        await d.set("release", ("version",), "digit-sample")
        await d.next()
        assert d.screen.PAGE == "monitoring"
        await d.set("ci", ("jenkins",), True)
        await d.next()
        assert d.screen.PAGE == "review"
        await pilot.click("#save")
        await d.wait_for(lambda: "Saved" in d.status(), "the save")
    saved = load_answers(path)
    assert saved.sizing.profile == "dev" and saved.domain.fqdn == "mixed.example.org" and saved.ci.jenkins is True
    assert saved.target.kubeconfig == site / "kubeconfig" and saved.config_repos.ssh_key.env == "GIT_KEY"
    assert path.read_text().startswith("# the operator's own notes survive the wizard")


@pytest.mark.asyncio
async def test_welcome_loads_a_file_to_review_and_edit(tmp_path, monkeypatch):
    site = make_site(tmp_path)
    source = site / "given.yaml"
    source.write_text(PARTIAL.replace("no-such-profile", "dev"))
    state_args = argparse.Namespace(answers=None, interactive=False, sections=None, plain=False, state_dir=None)
    monkeypatch.chdir(site)
    app = make_app(args=state_args)
    app.animation_level = "none"
    async with app.run_test(size=(80, 24)) as pilot:
        d = Driver(app, pilot)
        from textual.widgets import Input, RadioButton

        app.screen.query_one("#mode-load", RadioButton).value = True
        await pilot.pause()
        app.screen.query_one("#load-path", Input).value = "missing.yaml"
        await d.next()
        await d.wait_for(lambda: "no such file" in d.status(), "the load error")
        app.screen.query_one("#load-path", Input).value = str(source)
        await d.next()
        await d.wait_for(lambda: getattr(app.screen, "PAGE", "") == "target", "the target page")
        assert d.row("name", ()).value() == "mixed-mode"
        assert app.state.answers_path == source, "a loaded file is saved where it was found"


@pytest.mark.asyncio
async def test_welcome_resumes_a_previous_install(tmp_path, monkeypatch):

    site = make_site(tmp_path)
    monkeypatch.chdir(site)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    previous = tmp_path / "state" / "digit-installer" / "mixed-mode"
    previous.mkdir(parents=True)
    from installer.engine.journal import Journal, RunRecord

    journal = Journal(previous, "mixed-mode")
    journal.start_run(RunRecord("r1", started=1.0, pid=1, host="here"))
    journal.record("deploy").outcome = "failed"
    journal.finish_run("r1", "failed")
    (previous / "answers.yaml").write_text(PARTIAL.replace("no-such-profile", "dev")
                                           + "domain: {fqdn: mixed.example.org, tls: {mode: self-signed}}\n")
    args = argparse.Namespace(answers=None, interactive=False, sections=None, plain=False, state_dir=None)
    app = make_app(args=args)
    app.animation_level = "none"
    async with app.run_test(size=(80, 24)) as pilot:
        d = Driver(app, pilot)
        from textual.widgets import RadioButton

        assert "1 found" in str(app.screen.query_one("#mode-resume", RadioButton).label)
        assert "install mixed-mode: failed at deploy" in str(app.screen.query_one("#previous-0", RadioButton).label)
        app.screen.query_one("#mode-resume", RadioButton).value = True
        await pilot.pause()
        await d.next()
        await d.wait_for(lambda: getattr(app.screen, "PAGE", "") == "review", "the review page")
        assert app.state.resume is True and app.state.answers_path == site / "answers.yaml"
        assert "name: mixed-mode" in app.screen.yaml_text


@pytest.mark.asyncio
async def test_a_fresh_install_is_never_saved_over_an_answers_file_found_here(tmp_path, monkeypatch):
    """A draft (or another install's answers) in the current directory was overwritten by a fresh install's
    first Ctrl+S: the new answers go to a free name, and a path that exists is refused."""
    site = make_site(tmp_path)
    monkeypatch.chdir(site)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    from installer.answers import dump_draft

    earlier = dump_draft({"version": 1, "name": "draft-uat", "sizing": {"profile": "dev"}})
    (site / "answers.yaml").write_text(earlier)
    args = argparse.Namespace(answers=None, interactive=False, sections=None, plain=False, state_dir=None)
    app = make_app(args=args)
    app.animation_level = "none"
    async with app.run_test(size=(80, 24)) as pilot:
        d = Driver(app, pilot)
        from textual.widgets import Input

        save_path = app.screen.query_one("#save-path", Input)
        assert save_path.value == "answers-2.yaml"
        save_path.value = "answers.yaml"
        await d.next()
        assert app.screen.PAGE == "welcome" and "answers.yaml already exists (a draft)" in d.status()
        save_path.value = "answers-2.yaml"
        await d.next()
        await d.wait_for(lambda: getattr(app.screen, "PAGE", "") == "target", "the target page")
        await d.type("name", (), "second-uat")
        await pilot.press("ctrl+s")
        await d.wait_for((site / "answers-2.yaml").exists, "the new draft")
    assert (site / "answers.yaml").read_text() == earlier, "the draft found here is untouched"
    assert "second-uat" in (site / "answers-2.yaml").read_text()


@pytest.mark.asyncio
async def test_welcome_lists_drafts_by_install_name_and_installs_whole_at_80_columns(tmp_path, monkeypatch):
    """A draft was listed as 'draft answers.yaml' alone, and an install's line ran off the screen with its state
    directory ('(state /tmp/…/digit-install…')."""
    from installer.answers import dump_draft
    from installer.engine.journal import Journal, RunRecord
    from tests.wizard.helpers import screen_text

    site = make_site(tmp_path)
    monkeypatch.chdir(site)
    state_home = tmp_path / "a-rather-long-state-home-folder-name" / "state"
    monkeypatch.setenv("XDG_STATE_HOME", str(state_home))
    previous = state_home / "digit-installer" / "mixed-mode"
    previous.mkdir(parents=True)
    journal = Journal(previous, "mixed-mode")
    journal.start_run(RunRecord("r1", started=1.0, pid=1, host="here"))
    journal.record("deploy").outcome = "failed"
    journal.finish_run("r1", "failed")
    (previous / "answers.yaml").write_text(PARTIAL.replace("no-such-profile", "dev"))
    (site / "answers.yaml").write_text(dump_draft({"version": 1, "name": "draft-uat"}))
    args = argparse.Namespace(answers=None, interactive=False, sections=None, plain=False, state_dir=None)
    app = make_app(args=args)
    app.animation_level = "none"
    async with app.run_test(size=(80, 24)) as pilot:
        from textual.widgets import RadioButton

        app.screen.query_one("#mode-resume", RadioButton).value = True
        await pilot.pause(0.3)
        text = screen_text(app)
        assert "draft answers.yaml: draft-uat, saved " in text, text
        install = next(line for line in text.splitlines() if "install mixed-mode" in line)
        assert install.rstrip().endswith("install mixed-mode: failed at deploy"), text


@pytest.mark.asyncio
async def test_interactive_review_goes_back_to_every_page(tmp_path):
    """`--interactive` on a valid file opens Review alone; after a failed preflight ('go back to change the
    answers') Back was disabled, so no answer could be changed without quitting."""
    site = make_site(tmp_path)
    path = site / "answers.yaml"
    # valid throughout: the sample release profile, whose charts the fixture tree has
    (site / "profiles" / "releases").mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "tests" / "fixtures" / "profiles" / "releases" / "digit-sample.yaml", site / "profiles" / "releases")
    path.write_text(PARTIAL.replace("no-such-profile", "dev").replace("release:\n", "release:\n  version: digit-sample\n")
                    + "domain: {fqdn: mixed.example.org, tls: {mode: self-signed}}\n")
    args = argparse.Namespace(answers=str(path), interactive=True, sections=None, plain=False, state_dir=None)
    app = make_app(args=args)
    app.animation_level = "none"
    assert app.flow == ["review"]
    async with app.run_test(size=(80, 24)) as pilot:
        d = Driver(app, pilot)
        assert d.screen.PAGE == "review"
        from textual.widgets import Button

        assert not d.screen.query_one("#back", Button).disabled
        await d.back()
        await d.wait_for(lambda: getattr(app.screen, "PAGE", "") == "monitoring", "the page before Review")
        await d.next()
        await d.wait_for(lambda: getattr(app.screen, "PAGE", "") == "review", "Review again")
        assert "Step 2 of 2" in str(app.screen.query_one(".page-header").render()), "the header follows the flow"
        for page in ("monitoring", "release", "credentials", "database", "domain", "sizing", "target"):
            await d.back()
            await d.wait_for(lambda page=page: getattr(app.screen, "PAGE", "") == page, f"back to {page}")
        assert app.flow == ["target", "sizing", "domain", "database", "credentials", "release", "monitoring", "review"]


@pytest.mark.asyncio
async def test_a_resumed_install_is_saved_into_its_own_answers_file_found_here(tmp_path, monkeypatch):
    """Resuming an install from the welcome page in the folder of its answers.yaml saved them as answers-2.yaml
    beside it (a file of another name keeps its own: the answers go to a free name)."""
    from installer.engine.journal import Journal, RunRecord

    site = make_site(tmp_path)
    monkeypatch.chdir(site)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    previous = tmp_path / "state" / "digit-installer" / "mixed-mode"
    previous.mkdir(parents=True)
    journal = Journal(previous, "mixed-mode")
    journal.start_run(RunRecord("r1", started=1.0, pid=1, host="here"))
    journal.record("deploy").outcome = "failed"
    journal.finish_run("r1", "failed")
    text = PARTIAL.replace("no-such-profile", "dev") + "domain: {fqdn: mixed.example.org, tls: {mode: self-signed}}\n"
    (previous / "answers.yaml").write_text(text)
    for name, expected in (("mixed-mode", "answers.yaml"), ("another-install", "answers-2.yaml")):
        (site / "answers.yaml").write_text(text.replace("name: mixed-mode", f"name: {name}"))
        args = argparse.Namespace(answers=None, interactive=False, sections=None, plain=False, state_dir=None)
        app = make_app(args=args)
        app.animation_level = "none"
        async with app.run_test(size=(80, 24)) as pilot:
            d = Driver(app, pilot)
            from textual.widgets import RadioButton

            app.screen.query_one("#mode-resume", RadioButton).value = True
            await pilot.pause()
            await d.next()
            await d.wait_for(lambda app=app: getattr(app.screen, "PAGE", "") == "review", "the review page")
            assert app.state.answers_path == site / expected, name
