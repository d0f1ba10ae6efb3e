"""The Release page checks the profile against the chart folder, where the mistake is made."""
from __future__ import annotations

import shutil

import pytest

from screens.app import make_app
from screens.state import Catalog, WizardState
from tests.wizard.helpers import CHARTS, ROOT, Driver, make_site

pytestmark = pytest.mark.timeout(60)


def release_app(tmp_path):
    site = make_site(tmp_path)
    path = site / "answers.yaml"
    shutil.copy(ROOT / "assets" / "examples" / "sdc-vms.yaml", path)
    state = WizardState(path, catalog=Catalog.load(site))
    state.load(path)
    app = make_app(state, pages=["release", "monitoring"])
    app.animation_level = "none"
    return app


@pytest.mark.asyncio
async def test_a_profile_whose_charts_the_folder_lacks_is_refused_naming_them(tmp_path):
    app = release_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        d = Driver(app, pilot)
        await d.wait_for(lambda: getattr(app.screen, "PAGE", "") == "release", "the release page")
        await d.set("release", ("version",), "digit-2.9-lts")
        await d.type("release", ("charts",), str(CHARTS))
        await d.next()
        assert app.screen.PAGE == "release", "Next let a profile through whose charts the folder lacks"
        status = d.status()
        assert status.startswith("Next is blocked: release.charts: ")
        error = d.errors("release", ("charts",))
        # the LTS profile's default modules against the sample tree: the charts the sample tree does not carry
        assert "chart(s) of release digit-2.9-lts missing in" in error and str(CHARTS) in error
        count = int(error.split(" chart(s)")[0].rsplit(" ", 1)[-1])
        assert count >= 1 and "backbone-services/" in error
        assert "choose the profile that matches this folder" in error

        await d.set("release", ("version",), "digit-sample")
        await d.wait_for(lambda: d.errors("release", ("charts",)) == "", "the error to clear")
        await d.next()
        assert app.screen.PAGE == "monitoring", d.status()
        assert app.state.draft["release"]["version"] == "digit-sample"


@pytest.mark.asyncio
async def test_charts_only_a_later_page_asks_for_do_not_hold_the_release_page(tmp_path):
    """Monitoring and Jenkins are chosen on the next page: their charts missing is for that page to say (with the
    switch that leaves them out; tests/wizard/test_monitoring_page.py), never a Release page the operator cannot
    get past."""
    charts = tmp_path / "charts"
    shutil.copytree(CHARTS, charts, symlinks=True)
    shutil.rmtree(charts / "monitoring")
    shutil.rmtree(charts / "ci")
    app = release_app(tmp_path / "site")
    async with app.run_test(size=(80, 24)) as pilot:
        d = Driver(app, pilot)
        await d.wait_for(lambda: getattr(app.screen, "PAGE", "") == "release", "the release page")
        app.state.draft["ci"]["jenkins"] = True
        assert app.state.draft["monitoring"]["enabled"]
        await d.set("release", ("version",), "digit-sample")
        await d.type("release", ("charts",), str(charts))
        await d.next()
        assert app.screen.PAGE == "monitoring", d.status()


@pytest.mark.asyncio
async def test_a_file_with_the_bare_version_shows_and_saves_the_profiles_name(tmp_path):
    """Answers written when release.version held `2.9-lts` open on the profile digit-2.9-lts, and save it so."""
    site = make_site(tmp_path)
    path = site / "answers.yaml"
    path.write_text((ROOT / "assets" / "examples" / "sdc-vms.yaml").read_text()
                    .replace("version: digit-2.9-lts", "version: 2.9-lts"))
    state = WizardState(path, catalog=Catalog.load(site))
    state.load(path)
    assert state.draft["release"]["version"] == "digit-2.9-lts"
    app = make_app(state, pages=["release"])
    app.animation_level = "none"
    async with app.run_test(size=(80, 24)) as pilot:
        d = Driver(app, pilot)
        await d.wait_for(lambda: getattr(app.screen, "PAGE", "") == "release", "the release page")
        assert d.row("release", ("version",)).value() == "digit-2.9-lts"
        # the name is accepted; what is left is the example's chart folder, which this machine lacks
        problems = state.section_problems("release")
        assert not any("release profile" in p for p in problems) and all("does not exist" in p for p in problems)
    _answers, saved = state.save()
    assert "  version: digit-2.9-lts\n" in saved.read_text()


@pytest.mark.asyncio
async def test_a_chart_folder_that_is_not_there_or_not_a_chart_tree_is_refused_on_the_spot(tmp_path):
    """A folder that does not exist, a DIGIT-DevOps clone's top instead of its deploy-as-code/charts, or a bundle
    without charts/: refused on the page (not only warned about by `validate`), saying what to give instead."""
    clone = tmp_path / "DIGIT-DevOps"
    shutil.copytree(CHARTS, clone / "deploy-as-code" / "charts", symlinks=True)
    app = release_app(tmp_path / "site")
    async with app.run_test(size=(80, 24)) as pilot:
        d = Driver(app, pilot)
        await d.wait_for(lambda: getattr(app.screen, "PAGE", "") == "release", "the release page")
        await d.set("release", ("version",), "digit-sample")
        nowhere = tmp_path / "nowhere" / "charts"
        await d.type("release", ("charts",), str(nowhere))
        await d.next()
        assert app.screen.PAGE == "release", "Next let a chart folder through that does not exist"
        error = d.errors("release", ("charts",))
        assert f"{nowhere} does not exist" in error and "deploy-as-code/charts" in error, error
        assert d.status().startswith("Next is blocked: release.charts: ")

        await d.type("release", ("charts",), str(clone))
        await d.next()
        assert app.screen.PAGE == "release", "Next let a folder through that is not a chart tree"
        error = d.errors("release", ("charts",))
        assert f"{clone} is not a DIGIT-DevOps deploy-as-code/charts tree" in error, error
        assert f"did you mean {clone / 'deploy-as-code' / 'charts'}" in error, error

        bundle = tmp_path / "bundle"
        bundle.mkdir()
        await d.type("release", ("charts",), "")
        await d.type("release", ("bundle",), str(bundle))
        await d.next()
        assert app.screen.PAGE == "release", "Next let a bundle through that has no charts"
        error = d.errors("release", ("charts",)) or d.errors("release", ("bundle",))
        assert f"the bundle {bundle} has no charts/ folder" in error, error

        await d.type("release", ("bundle",), "")
        await d.type("release", ("charts",), str(clone / "deploy-as-code" / "charts"))
        await d.next()
        assert app.screen.PAGE == "monitoring", d.status()
