"""What every page looks like at 80x24 and 120x40 (pytest-textual-snapshot; --snapshot-update to accept changes)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from installer.engine import events as ev
from screens.app import make_app
from screens.state import Catalog, WizardState
from tests.wizard.helpers import ROOT, make_site
from tests.wizard.test_run_pages import ScriptedPreflight

SIZES = [(80, 24), (120, 40)]
PAGES = ["welcome", "target", "sizing", "domain", "database", "credentials", "release", "monitoring", "review",
         "preflight", "progress"]
pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A folder of this run's own (parallel runs never share it), made the current directory: the pages show
    paths relative to it, so they read the same on every run (and the example's variables unset, wherever the
    suite runs)."""
    site = make_site(tmp_path_factory.mktemp("wizard-site"))
    shutil.copy(ROOT / "assets" / "examples" / "sdc-vms.yaml", site / "answers.yaml")
    text = (site / "answers.yaml").read_text().replace("/opt/digit/DIGIT-DevOps/deploy-as-code/charts", "charts")
    (site / "answers.yaml").write_text(text)
    (site / "charts").mkdir(exist_ok=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(site)
        for name in ("DIGIT_DB_PASSWORD", "DIGIT_REGISTRY_PASSWORD"):  # the example's variables: warned about as unset
            patch.delenv(name, raising=False)
        yield site


def scripted_run(emit) -> None:
    """A run caught half-way: one step done, one deploying two releases, one waiting."""
    emit(ev.RunStarted(None, install="punjab-uat", run_id="r1", log_path="/var/log/digit/run.log",
                       steps=("validate", "preflight", "deploy", "verify")))
    emit(ev.StepStarted("validate", title="Check answers and referenced secrets"))
    emit(ev.StepProgress("validate", done=12, total=12, unit="secrets"))
    emit(ev.StepFinished("validate", outcome="succeeded", duration=1.0))
    emit(ev.StepStarted("preflight", title="Preflight checks of the target"))
    emit(ev.StepWarning("preflight", message="node w2: swap is on"))
    emit(ev.StepFinished("preflight", outcome="succeeded", duration=8.0))
    emit(ev.StepStarted("deploy", title="Deploy DIGIT releases"))
    emit(ev.StepProgress("deploy", done=14, total=35, unit="releases"))
    emit(ev.StepProgress("deploy", done=1, total=1, task="egov-user"))
    emit(ev.TaskFinished("deploy", task="egov-user", outcome="succeeded"))
    emit(ev.StepProgress("deploy", done=2, total=5, unit="pods", task="egov-mdms-service", message="2/5 pods ready"))


def app_for(page: str, site: Path):
    state = WizardState(site / "answers.yaml", catalog=Catalog.load(site))
    if page != "welcome":
        state.load(site / "answers.yaml")
    shown = ("target", "sizing", "domain", "database", "credentials", "release", "monitoring")
    pages = None if page == "welcome" else [page] if page in shown else []
    app = make_app(state, pages=pages, clock=lambda: 1000.0, event_source=scripted_run,
                   preflight_source=ScriptedPreflight())
    app.animation_level = "none"
    return app


def settle(page: str):
    async def run_before(pilot) -> None:
        app = pilot.app
        if page in ("preflight", "progress"):
            app.show(page)
        for _ in range(40):
            await pilot.pause(0.05)
            screen = app.screen
            if page == "preflight" and screen.query("#checks") and screen.query_one("#checks").row_count == 2:
                break
            if page == "progress" and "deploy/egov-mdms-service" in getattr(screen, "rows", {}):
                break
            if page not in ("preflight", "progress") and getattr(screen, "PAGE", "") == page:
                break
        await pilot.pause(0.2)
        app.screen.set_focus(None)
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("page", PAGES)
def test_page_snapshot(page, size, site, snap_compare):
    assert snap_compare(app_for(page, site), terminal_size=size, run_before=settle(page))
