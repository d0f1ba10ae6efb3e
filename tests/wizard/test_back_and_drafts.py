"""Back where it leads somewhere, and a continued draft reopened where the operator was (80x24, pilot)."""
from __future__ import annotations

import threading

import pytest
from textual.widgets import RadioButton

from installer.engine import events as ev
from screens.app import make_app
from screens.state import Catalog, WizardState
from tests.wizard.helpers import ROOT, Driver, make_site, screen_text

pytestmark = pytest.mark.timeout(60)


def footer(app) -> str:
    lines = screen_text(app).splitlines()
    return lines[-1] if lines else ""  # nothing drawn yet


async def shown_footer(d) -> str:
    """The footer once drawn (it is composed again whenever the page's bindings change)."""
    await d.wait_for(lambda: "^q Quit" in footer(d.app), "the footer")
    return footer(d.app)


@pytest.mark.asyncio
async def test_the_footer_offers_back_exactly_where_back_leads_somewhere(tmp_path):
    """'^b Back' was offered on the welcome page (where it did nothing) and while an install ran."""
    from tests.wizard.test_run_pages import ScriptedPreflight

    site = make_site(tmp_path)
    state = WizardState(site / "answers.yaml", catalog=Catalog.load(site), state_dir=tmp_path / "state")
    finish = threading.Event()

    def run(emit) -> None:
        emit(ev.RunStarted(None, install="sdc-uat", run_id="r1", log_path="/tmp/run.log", steps=("validate",)))
        emit(ev.StepStarted("validate", title="Check answers"))
        finish.wait(15)
        emit(ev.StepFinished("validate", outcome="succeeded", duration=1.0))
        emit(ev.RunFinished(None, outcome="succeeded", exit_code=0, duration=1.0, log_path="/tmp/run.log"))

    app = make_app(state, clock=lambda: 1000.0, event_source=run, preflight_source=ScriptedPreflight())
    app.animation_level = "none"
    async with app.run_test(size=(80, 24)) as pilot:
        d = Driver(app, pilot)
        await pilot.pause(0.2)
        assert app.screen.PAGE == "welcome"
        assert "Back" not in await shown_footer(d), footer(app)
        await d.back()
        assert app.screen.PAGE == "welcome" and not d.status(), "Ctrl+B on the welcome page does nothing, silently"
        await d.next()
        await d.wait_for(lambda: app.screen.PAGE == "target", "the first page")
        assert "^b Back" in await shown_footer(d), footer(app)
        await d.back()
        await d.wait_for(lambda: app.screen.PAGE == "welcome", "back to the welcome page")
        for page in ("review", "preflight"):
            await d.show(page)
            assert "^b Back" in await shown_footer(d), (page, footer(app))
        await d.show("progress")
        await d.wait_for(lambda: "validate" in app.screen.rows and "^c" in footer(app), "the run under way")
        assert "Back" not in footer(app) and "^c Cancel install" in footer(app), footer(app)
        await d.back()
        assert app.screen.PAGE == "progress"
        finish.set()
        await d.wait_for(lambda: app.screen.finished is not None and "^q" in footer(app) and "Cancel" not in footer(app),
                         "the run's end, and the footer without Cancel")
        assert "Back" not in footer(app), footer(app)


def example_without_the_last_pages(site):
    """The sdc-vms example as far as Credentials: Release and Monitoring not answered yet."""
    from installer.yamlio import load_yaml

    data = load_yaml((ROOT / "assets" / "examples" / "sdc-vms.yaml").read_text())
    for section in ("release", "monitoring", "ci"):
        data.pop(section, None)
    return data


async def continue_first_draft(app, pilot) -> str:
    """Welcome -> Continue a draft (the first listed) -> Next; the page the wizard opens at."""
    d = Driver(app, pilot)
    await pilot.pause(0.1)
    app.screen.query_one("#mode-resume", RadioButton).value = True
    await pilot.pause()
    await d.next()
    await d.wait_for(lambda: app.screen.PAGE != "welcome", "a page after the welcome page")
    return app.screen.PAGE


@pytest.mark.asyncio
async def test_a_continued_draft_reopens_at_the_page_it_was_saved_on(tmp_path):
    """Continuing a draft saved on Credentials opened the first page again; it reopens at Credentials, with every page
    before it kept and reached by Back; an earlier page with a problem now (a profile gone) is where it opens instead."""
    from installer.answers import dump_draft
    from screens.state import find_drafts

    site = make_site(tmp_path)
    draft = site / "punjab-draft.yaml"
    draft.write_text(dump_draft(example_without_the_last_pages(site)))
    state = WizardState(draft, catalog=Catalog.load(site))
    state.load(draft)
    app = make_app(state)
    app.animation_level = "none"
    async with app.run_test(size=(80, 24)) as pilot:
        d = Driver(app, pilot)
        await d.show("credentials")
        await pilot.press("ctrl+s")
        await d.wait_for(lambda: app.draft_path == draft, "the draft saved")
    assert "# wizard page: credentials\n" in draft.read_text()

    def wizard():
        state = WizardState(site / "answers.yaml", catalog=Catalog.load(site))
        state.drafts = find_drafts(site)
        app = make_app(state)
        app.animation_level = "none"
        return app

    app = wizard()
    async with app.run_test(size=(80, 24)) as pilot:
        d = Driver(app, pilot)
        assert await continue_first_draft(app, pilot) == "credentials"
        assert app.state.answers_path == draft
        await d.back()
        await d.wait_for(lambda: app.screen.PAGE == "database", "Back to Database")
        assert d.row("database", ("external", "host")).query_one("#value").value == "10.10.0.40"
        await d.back()
        await d.wait_for(lambda: app.screen.PAGE == "domain", "Back to Domain")
        assert d.row("domain", ("fqdn",)).query_one("#value").value == "uat.digit.example.gov.in"
        # Back goes on through the flow's earlier pages, each holding the draft's values
        assert [app.back_of("domain"), app.back_of("sizing"), app.back_of("target")] == ["sizing", "target", "welcome"]
        assert app.state.draft["name"] == "punjab-uat" and app.state.draft["sizing"] == {"profile": "sdc-dev"}

    # an earlier page has a problem now: the draft reopens there, not past it
    draft.write_text(draft.read_text().replace("profile: sdc-dev", "profile: no-such-profile"))
    app = wizard()
    async with app.run_test(size=(80, 24)) as pilot:
        assert await continue_first_draft(app, pilot) == "sizing"

    # a page this wizard no longer has: the first page with a problem
    draft.write_text(draft.read_text().replace("# wizard page: credentials", "# wizard page: no-such-page"))
    app = wizard()
    async with app.run_test(size=(80, 24)) as pilot:
        assert await continue_first_draft(app, pilot) == "sizing"


@pytest.mark.asyncio
async def test_back_lands_on_the_field_the_page_was_left_from(tmp_path):
    """Back always landed on a page's first field, whatever field the operator had left it from (to change the SSH
    user after Next, the operator tabbed through the name, the kind and every node again)."""
    from tests.wizard.test_small_defects import app_on

    app = app_on(tmp_path, ["target", "sizing"])
    async with app.run_test(size=(80, 24)) as pilot:
        d = Driver(app, pilot)
        await pilot.pause(0.2)
        user = d.row("target", ("sdc-vms", "ssh", "user")).query_one("#value")
        user.focus()
        await pilot.pause()
        await d.next()
        await d.wait_for(lambda: app.screen.PAGE == "sizing", "the sizing page")
        assert app.focused is d.row("sizing", ("profile",)).query_one("#value"), "Next lands on the first field"
        await d.back()
        await d.wait_for(lambda: app.screen.PAGE == "target", "back to the target page")
        await pilot.pause(0.2)
        assert app.focused is user
        assert app.screen.query_one("#body").region.contains_region(user.region), "the field is in view"
