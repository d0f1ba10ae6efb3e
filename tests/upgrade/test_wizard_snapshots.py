"""What the upgrade plan page looks like at 80x24 and 120x40 (pytest-textual-snapshot; --snapshot-update to
accept changes), from a plan made by the diff's own rules on plain manifests (no cluster): an image upgrade with
its Flyway migration image, a release added and one removed, a values change, a StatefulSet whose claim template
grows (blocking until confirmed) and an object applied without Helm (adopted only when confirmed)."""
from __future__ import annotations

from pathlib import Path

import pytest

from installer.app.install import InstallOutcome
from installer.upgrade.diff import ReleaseView, compare
from screens.app import make_app
from screens.state import WizardState
from screens.upgrade.state import UpgradeState

SIZES = [(80, 24), (120, 40)]
pytestmark = pytest.mark.timeout(60)
REGISTRY = "registry.sdc.local:5000/egovio"


def _deployment(name: str, image: str, *, migration: str | None = None, env: str = "a") -> dict:
    spec: dict = {"containers": [{"name": name, "image": f"{REGISTRY}/{image}", "env": [{"name": "X", "value": env}]}]}
    if migration:
        spec["initContainers"] = [{"name": "db-migration", "image": f"{REGISTRY}/{migration}"}]
    return {"kind": "Deployment", "metadata": {"name": name, "namespace": "egov"},
            "spec": {"selector": {"matchLabels": {"app": name}}, "template": {"spec": spec}}}


def _statefulset(storage: str) -> dict:
    return {"kind": "StatefulSet", "metadata": {"name": "elasticsearch", "namespace": "backbone"},
            "spec": {"selector": {"matchLabels": {"app": "es"}}, "serviceName": "es",
                     "template": {"spec": {"containers": [{"name": "es", "image": "elasticsearch:8.11.3"}]}},
                     "volumeClaimTemplates": [{"metadata": {"name": "data"},
                                               "spec": {"resources": {"requests": {"storage": storage}}}}]}}


def sample_plan() -> dict:
    def view(name, namespace, *docs, values="v1"):
        return ReleaseView(name, namespace, chart=f"{name}-1.0.0", values_digest=values, revision=1,
                           status="deployed", documents=list(docs))

    deployed = {
        "egov-user": view("egov-user", "egov", _deployment("egov-user", "egov-user:v1.2.8-9fde481-19",
                                                           migration="egov-user-db:v1.2.8-9fde481-19")),
        "egov-indexer": view("egov-indexer", "egov", _deployment("egov-indexer", "egov-indexer:v1.1.7")),
        "egov-idgen": view("egov-idgen", "egov", _deployment("egov-idgen", "egov-idgen:v1.2.3")),
        "elasticsearch": view("elasticsearch", "backbone", _statefulset("8Gi")),
    }
    target = {
        "egov-user": view("egov-user", "egov", _deployment("egov-user", "egov-user:v1.2.9-aaaaaaa-20",
                                                           migration="egov-user-db:v1.2.9-aaaaaaa-20")),
        "egov-indexer": view("egov-indexer", "egov", _deployment("egov-indexer", "egov-indexer:v1.1.7", env="b"),
                             values="v2"),
        "egov-hrms": view("egov-hrms", "egov", _deployment("egov-hrms", "egov-hrms:v1.2.6",
                                                           migration="egov-hrms-db:v1.2.6")),
        "elasticsearch": view("elasticsearch", "backbone", _statefulset("16Gi")),
    }
    plan = compare("punjab-uat", deployed, target, from_profile="digit-sample-a", to_profile="digit-sample-c",
                   from_commit="aaaaaaa0001", to_commit="ccccccc0003")
    plan.unowned = [{"release": "egov-hrms", "release_namespace": "egov", "kind": "ConfigMap", "namespace": "egov",
                     "name": "egov-hrms-config", "uid": "3f1c", "owner": ""}]
    return plan.to_dict()


def app_for(tmp_path: Path):
    from types import SimpleNamespace

    from installer.profiles import ReleaseProfile

    state = WizardState(tmp_path / "answers.yaml", state_dir=tmp_path / "state")
    app = make_app(state, pages=[], clock=lambda: 1000.0)
    # the pages read these parts of the install's answers (the plan page none: it reads the plan)
    answers = SimpleNamespace(name="punjab-uat", release=SimpleNamespace(version="digit-sample-a"), backup=None,
                              database=SimpleNamespace(mode="external", name="egov", host="10.10.0.40", port=5432))
    upgrade = UpgradeState(answers=answers, answers_path=tmp_path / "answers.yaml", state_dir=tmp_path / "state")
    from installer.app.upgrade import UpgradeSubject

    target = ReleaseProfile.model_construct(name="digit-sample-c", digit_version="2.9", devops_commit="ccccccc0003")
    upgrade.subject = UpgradeSubject(answers, tmp_path / "answers.yaml", tmp_path / "state", "digit-sample-a", target)
    upgrade.run_phase = lambda *args, **kwargs: InstallOutcome(0)  # the plan step ran dry; its file is below
    upgrade.read_plan = lambda *args, **kwargs: sample_plan()
    app.upgrade = upgrade
    app.animation_level = "none"
    return app


def settle():
    async def run_before(pilot) -> None:
        app = pilot.app
        app.flow = ["welcome", "upgrade-install", "upgrade-target", "upgrade-plan", "upgrade-checks"]
        app.show("upgrade-plan")
        for _ in range(60):
            await pilot.pause(0.05)
            if getattr(app.screen, "PAGE", "") == "upgrade-plan" and app.upgrade.plan is not None:
                break
        await pilot.pause(0.2)
        app.screen.set_focus(None)
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_plan_page_snapshot(size, tmp_path_factory, snap_compare, monkeypatch):
    tmp_path = tmp_path_factory.mktemp("plan-page")
    monkeypatch.chdir(tmp_path)
    assert snap_compare(app_for(tmp_path), terminal_size=size, run_before=settle())
