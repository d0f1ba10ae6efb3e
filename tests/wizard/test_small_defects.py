"""The smaller things a new operator trips over at 80x24, each checked on the page."""
from __future__ import annotations

import shutil

import pytest
from textual.widgets import DataTable, Input

from screens.app import make_app
from screens.state import Catalog, WizardState
from tests.wizard.helpers import ROOT, Driver, make_site, screen_text

pytestmark = pytest.mark.timeout(60)


def app_on(tmp_path, pages, example="sdc-vms"):
    site = make_site(tmp_path)
    path = site / "answers.yaml"
    shutil.copy(ROOT / "assets" / "examples" / f"{example}.yaml", path)
    state = WizardState(path, catalog=Catalog.load(site))
    state.load(path)
    app = make_app(state, pages=pages)
    app.animation_level = "none"
    return app


def in_view(screen, widget) -> bool:
    body = screen.query_one("#body")
    return body.region.contains_region(widget.region)


@pytest.mark.asyncio
async def test_sizing_tab_passes_the_tables_keeps_titles_in_view_and_says_what_a_number_needs(tmp_path):
    app = app_on(tmp_path, ["sizing"])
    async with app.run_test(size=(80, 24)) as pilot:
        d = Driver(app, pilot)
        await pilot.pause(0.3)
        row = d.row("sizing", ("profile",))
        assert app.focused is row.query_one("#value") and in_view(app.screen, row.query_one(".field-title"))
        for _ in range(12):
            await pilot.press("tab")
            await pilot.pause()
            assert not isinstance(app.focused, DataTable), "Tab stopped on a table that takes no input"
        workers = d.row("sizing", ("overrides", "workers")).query_one("#value", Input)
        assert "4 from profile sdc-dev" in workers.placeholder
        await d.type("sizing", ("overrides", "workers"), "4x")
        assert workers.value == "4x", "letters typed into a number field are kept, not dropped"
        assert "integer" in d.errors("sizing", ("overrides", "workers"))


@pytest.mark.asyncio
async def test_back_lands_on_the_first_field_and_notices_leave_the_buttons_free(tmp_path):
    app = app_on(tmp_path, ["target", "sizing"])
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        d = Driver(app, pilot)
        await d.next()
        assert app.screen.PAGE == "sizing"
        await d.back()
        await pilot.pause(0.3)
        assert app.screen.PAGE == "target"
        assert app.focused is d.row("name", ()).query_one("#value")
        assert app.screen.query_one("#body").scroll_y == 0
        app.notify("draft saved to somewhere/answers.yaml", title="Saved")
        await pilot.pause(0.3)
        toasts = list(app.screen.query("Toast"))
        assert toasts and not any(t.region.overlaps(app.screen.query_one("#next").region) for t in toasts)


@pytest.mark.asyncio
async def test_a_chosen_start_is_marked_by_its_sign_not_only_its_colour(tmp_path):
    app = make_app(WizardState(make_site(tmp_path) / "answers.yaml", catalog=Catalog.load(tmp_path)))
    app.animation_level = "none"
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.3)
        text = screen_text(app)
        assert "▐●▌ A fresh install" in text and "▐○▌ Load an answers file" in text, text


def test_drop_down_labels_fit_80_columns_and_kinds_not_built_say_so():
    from screens.questions import section_question
    from screens.state import PAGES
    from screens.widgets.union_box import UnionBox

    labels = {tag: UnionBox._label(tag, variant)
              for sections in PAGES.values() for section in sections if section != "name"
              for q in section_question(section).walk() if q.kind == "union"
              for tag, variant in q.variants.items()}
    too_long = {tag: label for tag, label in labels.items() if len(label) > 70}
    assert not too_long, too_long
    target = section_question("target")
    from installer.app.pipeline import kinds_not_built

    # every kind is built today, so no label may say otherwise; a kind listed as unbuilt must say so
    marked = {kind for kind in target.variants if "not built yet" in labels[kind]}
    assert marked == set(kinds_not_built()), marked
    assert target.default not in kinds_not_built(), "the kind offered first is one that works"


@pytest.mark.asyncio
async def test_a_focused_on_off_field_still_says_its_state(tmp_path):
    app = app_on(tmp_path, ["monitoring"])
    async with app.run_test(size=(80, 24)) as pilot:
        d = Driver(app, pilot)
        await pilot.pause(0.3)
        toggle = d.row("monitoring", ("enabled",)).query_one("#value")
        toggle.focus()
        await pilot.pause()
        assert "[x] yes" in screen_text(app)
        await pilot.press("space")
        await pilot.pause()
        assert toggle.value is False and "[ ] no" in screen_text(app)


@pytest.mark.asyncio
async def test_listing_an_existing_clusters_first_machine_switches_ssh_access_on(tmp_path):
    """Machines were listed with SSH access left off, and Next then refused the page: 'machines are listed under
    nodes, so ssh access is needed too'."""
    from screens.widgets.group_box import GroupBox
    from tests.wizard.test_walk import new_app

    site = make_site(tmp_path)
    app = new_app(site / "answers.yaml", pages=["target"])
    async with app.run_test(size=(80, 24)) as pilot:
        d = Driver(app, pilot)
        await d.choose("target", (), "existing-cluster")
        form = app.screen.forms["target"]
        ssh = next(g for g in form.query(GroupBox) if g.question.loc == ("existing-cluster", "ssh"))
        assert not ssh.enabled
        await d.node(0, name="n1", host="10.0.0.10", role="control-plane")
        await d.wait_for(lambda: ssh.enabled, "SSH access switched on with the first machine")
        ssh.query_one("#use").value = False
        await pilot.pause()
        await d.node(1, name="n2", host="10.0.0.11", role="worker")
        await pilot.pause(0.2)
        assert not ssh.enabled, "switched off by hand, it stays off"


@pytest.mark.asyncio
async def test_keys_typed_at_once_into_a_drop_down_choose_from_it(tmp_path):
    """Enter, Down, Enter typed in one burst on the target kind (as over SSH, or by a quick hand) left sdc-vms
    chosen and the list open: the list takes focus a moment after it opens, and the keys before went to the
    closed field. In a terminal the keys after then landed in the wrong fields."""
    from textual import events

    from screens.widgets.union_box import UnionBox
    from tests.wizard.test_walk import new_app

    site = make_site(tmp_path)
    app = new_app(site / "answers.yaml", pages=["target"])
    async with app.run_test(size=(80, 24)) as pilot:
        d = Driver(app, pilot)
        await pilot.pause(0.3)
        await pilot.press("tab")
        await pilot.pause(0.3)
        union = app.screen.forms["target"].query_one(UnionBox)
        assert app.focused is union.query_one("Select")
        for key, character in (("enter", "\r"), ("down", None), ("enter", "\r")):
            app.post_message(events.Key(key, character))
        await d.wait_for(lambda: union.chosen == "existing-cluster", "the second kind chosen")
        await pilot.pause(0.2)
        assert not union.query_one("Select").expanded, "the list closed on the choice"


@pytest.mark.asyncio
async def test_the_footer_names_what_ctrl_n_does_on_welcome_review_and_preflight(tmp_path):
    """The footer said '^n Next' on pages whose Ctrl+N begins, saves or starts the install."""
    from tests.wizard.test_run_pages import ScriptedPreflight

    app = app_on(tmp_path, [])
    app.preflight_source = ScriptedPreflight()
    async with app.run_test(size=(80, 24)) as pilot:
        d = Driver(app, pilot)
        await pilot.pause(0.2)
        assert app.screen.PAGE == "review"
        assert "^n Save" in screen_text(app).splitlines()[-1]
        await d.show("preflight")
        await pilot.pause(0.2)
        assert "^n Start install" in screen_text(app).splitlines()[-1]
        await d.show("welcome")
        await pilot.pause(0.2)
        assert "^n Begin" in screen_text(app).splitlines()[-1]
