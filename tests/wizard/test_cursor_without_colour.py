"""#16: no state shown by colour alone. The entry of a list the arrow keys are on is underlined and bold as
well as coloured, so a monochrome console or a colour-blind operator sees where Enter will land."""
from __future__ import annotations

import pytest
from textual.widgets import RadioButton, RadioSet

from screens.app import make_app
from screens.state import Catalog, WizardState
from tests.wizard.helpers import make_site

pytestmark = pytest.mark.timeout(60)


@pytest.mark.asyncio
async def test_the_entry_under_the_arrow_keys_is_marked_without_colour(tmp_path, monkeypatch) -> None:
    site = make_site(tmp_path)
    monkeypatch.chdir(site)
    app = make_app(WizardState(site / "answers.yaml", catalog=Catalog.load(site)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.2)
        choices = app.screen.query_one("#start-mode", RadioSet)
        assert app.focused is choices
        await pilot.press("down")
        await pilot.pause(0.1)
        marked = [(str(b.label), b.get_component_rich_style("toggle--label")) for b in choices.query(RadioButton)]
        under = [(label, style) for label, style in marked if style.underline]
        assert len(under) == 1, marked
        label, style = under[0]
        assert style.bold and label != "A fresh install"  # moved by the key, off the chosen entry
        assert not any(style.underline or style.bold for other, style in marked if other != label)


@pytest.mark.asyncio
async def test_the_highlighted_option_of_drop_downs_and_checklists_is_marked_without_colour(tmp_path,
                                                                                           monkeypatch) -> None:
    """Option lists carry the wizard's drop-downs and checklists (Select, SelectionList, ChoiceSelect)."""
    from textual.widgets import OptionList

    site = make_site(tmp_path)
    monkeypatch.chdir(site)
    app = make_app(WizardState(site / "answers.yaml", catalog=Catalog.load(site)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.2)
        options = OptionList("first", "second", id="probe")
        await app.screen.mount(options)
        options.focus()
        await pilot.press("down")
        await pilot.pause(0.1)
        style = options.get_component_rich_style("option-list--option-highlighted")
        assert style.underline and style.bold, style
