"""A second install (another answers `name`) never takes over the first one's namespaces or releases.

Preflight compares the install that labelled the namespaces; the deploy compares the install that
labelled each Helm release (Helm's real engine, release records in the rig's PostgreSQL).
"""
from __future__ import annotations

from installer.deploy import digests
from installer.deploy.executor import Executor
from installer.deploy.helmops import EngineOperations
from installer.deploy.model import DEPLOYED, FAILED, UNCHANGED
from installer.deploy.readiness import ReadinessWatcher
from installer.plan.objects import INSTALL_LABEL, namespaces
from installer.preflight import analyzers
from installer.preflight.catalogue import CATALOGUE
from installer.preflight.collectors import ClusterFacts
from tests.deploy.conftest import Recorder, sample_specs, unique_suffix

MANAGED = {"app.kubernetes.io/managed-by": "digit-installer"}


def cluster_facts(owner: str | None) -> ClusterFacts:
    labels = {**MANAGED, **({INSTALL_LABEL: owner} if owner else {})}
    return ClusterFacts(context="rig", server="https://127.0.0.1", version="v1.30.0", nodes=[], storage_classes=[],
                        access=[], namespaces={"egov": dict(labels), "digit-installer": dict(labels)}, helm_releases=[])


def existing_install(owner: str | None, install: str, take_over: str | None = None):
    results = analyzers.Results(set(CATALOGUE))
    analyzers.analyze_cluster(cluster_facts(owner), results, None, None, {"egov", "digit-installer"},
                              install=install, take_over=take_over)
    return next(r for r in results.items if r.id == "k8s.existing_install")


def test_namespaces_carry_the_install_name():
    made = namespaces(["egov"], install="punjab-uat")
    assert {o.name: o.manifest["metadata"]["labels"][INSTALL_LABEL] for o in made} == {
        "egov": "punjab-uat", "digit-installer": "punjab-uat"}


def test_preflight_refuses_another_install_naming_it():
    result = existing_install("punjab-uat", install="haryana-uat")
    assert result.status == "fail"
    assert "install 'punjab-uat' owns namespaces digit-installer, egov" in result.message
    assert "target.take_over_install: punjab-uat" in result.remediation


def test_preflight_passes_our_own_install_and_an_explicit_take_over():
    assert existing_install("punjab-uat", install="punjab-uat").status == "pass"
    assert existing_install("punjab-uat", install="haryana-uat", take_over="punjab-uat").status == "pass"
    # Namespaces made before installs were named: this installer's, owner unknown, not refused.
    assert existing_install(None, install="haryana-uat").status == "pass"


def executor(helm, api, install: str, take_over: str | None = None, recorder=None) -> Executor:
    return Executor(EngineOperations(helm), ReadinessWatcher(api, poll_interval=0.1, claim_grace=2.0),
                    installer_version="test", concurrency=2, on_event=recorder, install=install, take_over=take_over)


def test_deploy_refuses_to_upgrade_a_release_of_another_install(rollout, helm, api):
    spec = next(s for s in sample_specs(unique_suffix()) if s.name == "configmaps")
    first = executor(helm, api, "punjab-uat").run([spec])
    assert first.results["configmaps"].outcome == DEPLOYED
    current = EngineOperations(helm).current(spec.name, spec.namespace)
    assert current.labels[digests.LABEL_INSTALL] == "punjab-uat"

    changed = spec.__class__(**{**spec.__dict__, "values": {**spec.values, "extra": {"changed": True}}})
    recorder = Recorder()
    second = executor(helm, api, "haryana-uat", recorder=recorder).run([changed])
    result = second.results["configmaps"]
    assert result.outcome == FAILED and result.reason == "OwnedByAnotherInstall"
    assert "belongs to install 'punjab-uat', not 'haryana-uat'" in result.error
    assert EngineOperations(helm).current(spec.name, spec.namespace).revision == current.revision
    assert executor(helm, api, "haryana-uat").preview(changed) == "refuse: belongs to install 'punjab-uat'"

    taken = executor(helm, api, "haryana-uat", take_over="punjab-uat").run([changed])
    assert taken.results["configmaps"].outcome in (DEPLOYED, UNCHANGED)
    after = EngineOperations(helm).current(spec.name, spec.namespace)
    assert after.labels[digests.LABEL_INSTALL] in ("haryana-uat", "punjab-uat")
