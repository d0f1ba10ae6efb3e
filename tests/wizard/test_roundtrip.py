"""The wizard's answers, saved and replayed headless, are the answers it held: for every target kind."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from installer.answers import answers_to_data, load_answers
from screens.app import make_app
from screens.state import PAGES, Catalog, WizardState
from tests.wizard.helpers import ROOT, Driver, chart_skeleton, make_site

EXAMPLES = sorted((ROOT / "assets" / "examples").glob("*.yaml"))
pytestmark = pytest.mark.timeout(120)


@pytest.mark.asyncio
@pytest.mark.parametrize("example", EXAMPLES, ids=[e.stem for e in EXAMPLES])
async def test_every_page_round_trips(example, tmp_path):
    original = load_answers(example)
    site = make_site(tmp_path, original.domain.fqdn)
    path = site / "answers.yaml"
    shutil.copy(example, path)
    # The Release and Monitoring pages refuse a chart folder that lacks the profile's charts: give the
    # example's folder a stand-in with a Chart.yaml at every chart path of its profile.
    written = str(yaml.safe_load(path.read_text())["release"]["charts"])
    if Path(written).is_absolute():
        charts = chart_skeleton(tmp_path.parent / f"{tmp_path.name}-charts", original.release.version)
        path.write_text(path.read_text().replace(written, str(charts)))
        original = original.model_copy(update={"release": original.release.model_copy(update={"charts": charts})})
    else:
        chart_skeleton(site / written, original.release.version)
    state = WizardState(path, catalog=Catalog.load(site))
    state.load(path)
    app = make_app(state, pages=list(PAGES))
    app.animation_level = "none"
    async with app.run_test(size=(120, 40)) as pilot:
        d = Driver(app, pilot)
        for page in PAGES:
            assert page == d.screen.PAGE
            await d.next()
            assert "blocked" not in d.status(), f"{page}: {d.status()}"
        assert d.screen.PAGE == "review"
        held = app.state.validate()
        await pilot.click("#save")
        await d.wait_for(lambda: "Saved" in d.status(), "the save")
    replayed = load_answers(path)
    assert replayed.target.kind == original.target.kind
    assert replayed.model_dump() == held.model_dump()
    # the example's relative paths resolve against its own folder; compare them relative to each file
    assert _data(replayed, site) == _data(original, example.parent)
    assert answers_to_data(replayed, site) == answers_to_data(original, example.parent)
    assert "# " in path.read_text().split("version:")[0]



def _data(answers, base):
    return answers.model_dump(mode="json", exclude_none=True, context={"base_dir": str(base)})
