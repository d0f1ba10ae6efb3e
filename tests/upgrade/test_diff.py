"""The upgrade plan's rules on plain manifests (no cluster): backbone swaps, selectors, claims, CRDs."""
from __future__ import annotations

from installer.upgrade.diff import ReleaseView, compare


def _workload(kind: str, image: str, *, selector: str = "a", storage: str | None = None) -> dict:
    spec: dict = {"selector": {"matchLabels": {"app": selector}},
                  "template": {"spec": {"containers": [{"name": "c", "image": image}]}}}
    if storage:
        spec["volumeClaimTemplates"] = [{"metadata": {"name": "data"},
                                         "spec": {"resources": {"requests": {"storage": storage}}}}]
    return {"kind": kind, "metadata": {"name": "w", "namespace": "backbone"}, "spec": spec}


def _plan(old: list[dict], new: list[dict]):
    return compare("site", {"r": ReleaseView("r", "backbone", documents=old)},
                   {"r": ReleaseView("r", "backbone", documents=new)}, from_profile="a", to_profile="b")


def test_elasticsearch_major_change_is_blocked_with_the_operators_steps() -> None:
    plan = _plan([_workload("StatefulSet", "docker.elastic.co/elasticsearch/elasticsearch:6.6.2")],
                 [_workload("StatefulSet", "docker.elastic.co/elasticsearch/elasticsearch:8.11.3")])
    [(name, reason)] = plan.blocked
    assert name == "r" and "reindex" in reason and "6.6.2" in reason


def test_a_kafka_pipeline_service_is_not_kafka() -> None:
    plan = _plan([_workload("Deployment", "egovio/national-dashboard-kafka-pipeline:v1.0.1")],
                 [_workload("Deployment", "egovio/national-dashboard-kafka-pipeline:v2.0.0")])
    assert plan.blocked == [] and plan.by_action("upgrade") == ["r"]


def test_selector_and_claim_template_changes_are_immutable_and_growth_is_named() -> None:
    plan = _plan([_workload("StatefulSet", "redis:7.2.4", storage="8Gi")],
                 [_workload("StatefulSet", "redis:7.2.4", selector="b", storage="16Gi")])
    assert sorted(f.field for _, f in plan.immutable) == ["spec.selector", "spec.volumeClaimTemplates"]
    [growth] = plan.releases[0].pvc_growth
    assert (growth.old, growth.new) == ("8Gi", "16Gi")


def test_a_changed_crd_is_listed() -> None:
    crd = {"kind": "CustomResourceDefinition", "metadata": {"name": "x.example.org"}, "spec": {"v": 1}}
    plan = _plan([crd], [{**crd, "spec": {"v": 2}}])
    assert plan.releases[0].crds == ["CustomResourceDefinition/backbone/x.example.org"]


def _service(name: str, tag: str) -> dict:
    """A DIGIT service with its Flyway image in a db-migration init container."""
    spec = {"containers": [{"name": name, "image": f"egovio/{name}:{tag}"}],
            "initContainers": [{"name": "db-migration", "image": f"egovio/{name}-db:{tag}"}]}
    return {"kind": "Deployment", "metadata": {"name": name, "namespace": "egov"},
            "spec": {"selector": {"matchLabels": {"app": name}}, "template": {"spec": spec}}}


def test_only_releases_upgraded_or_added_run_migrations_a_removed_one_runs_none() -> None:
    """The sample A -> B upgrade's shape: egov-user's migration image changes, egov-hrms is added, egov-idgen is
    removed. The point of no return names the first two; the removed release's Flyway image runs nowhere."""
    from installer.upgrade.plan_step import plan_text
    from screens.upgrade.plan_notes import migration_releases, point_of_no_return

    def view(name: str, tag: str) -> ReleaseView:
        return ReleaseView(name, "egov", chart=f"{name}-1.0.0", revision=1, status="deployed",
                           documents=[_service(name, tag)])

    deployed = {"egov-user": view("egov-user", "v1.2.8"), "egov-idgen": view("egov-idgen", "v1.2.3")}
    target = {"egov-user": view("egov-user", "v1.2.9"), "egov-hrms": view("egov-hrms", "v1.2.6")}
    plan = compare("site", deployed, target, from_profile="a", to_profile="b")
    assert (plan.by_action("upgrade"), plan.by_action("add"), plan.by_action("remove")) == (
        ["egov-user"], ["egov-hrms"], ["egov-idgen"])
    data = plan.to_dict()
    assert migration_releases(data) == ["egov-hrms", "egov-user"]
    warning = point_of_no_return(data, "the backup")
    assert "(egov-hrms, egov-user)" in warning and "egov-idgen" not in warning
    idgen = {r.name: r for r in plan.releases}["egov-idgen"]
    assert idgen.migration_images == [] and {i.repository for i in idgen.images} == {"egov-idgen", "egov-idgen-db"}
    assert [line for line in plan_text(plan).splitlines() if "egov-idgen-db" in line and "migration" in line] == []
    # A plan whose only migration image goes away with its release needs no backup and has no point of no return.
    removal = compare("site", deployed, {"egov-user": deployed["egov-user"]}, from_profile="a", to_profile="b")
    assert removal.by_action("remove") == ["egov-idgen"] and not removal.needs_backup
    assert point_of_no_return(removal.to_dict(), "the backup") == ""


def test_a_pinned_image_the_charts_render_at_another_tag_is_a_finding() -> None:
    """A profile's images say what it installs and set nothing; a site profile that only lists a new tag there
    would upgrade nothing, and the plan must say so. Pins of repositories nothing renders are no finding."""
    from installer.profiles import ModuleSpec, ReleaseProfile, ReleaseSpec
    from installer.upgrade.pins import pins_not_rendered

    profile = ReleaseProfile(
        name="site", digit_version="v2.9", source="test", default_modules=["core"],
        modules=[ModuleSpec(name="core", description="", images=["egovio/egov-user:v1", "egovio/egov-enc:v3"]),
                 ModuleSpec(name="pgr", description="")],
        releases=[ReleaseSpec(name="egov-user", chart="core-services/egov-user", namespace="egov", module="core")],
        images=["egovio/egov-user:v2", "egovio/egov-mdms-service:v5@sha256:" + "a" * 64, "egovio/pgr-services:v9"])
    rendered = ["registry.sdc.local:5000/egovio/egov-user:v1", "egovio/egov-enc:v3",
                "egovio/egov-mdms-service:v5@sha256:" + "b" * 64, "redis:7.2.4"]
    # egov-user: pinned v2, the charts render v1 (the mirror's prefix is not part of the image);
    # egov-mdms-service: same tag, another digest; a module's images describe it and pin nothing (egov-enc);
    # pgr-services: nothing renders it here (its module is not chosen)
    assert pins_not_rendered(profile, rendered, "registry.sdc.local:5000") == [
        ("egovio/egov-mdms-service:v5@sha256:" + "a" * 64, ["egovio/egov-mdms-service:v5@sha256:" + "b" * 64]),
        ("egovio/egov-user:v2", ["egovio/egov-user:v1"]),
    ]
    assert pins_not_rendered(profile, ["egovio/egov-user:v2", "egovio/egov-mdms-service:v5", "egovio/egov-enc:v4"]) == []


def test_the_wizard_and_the_plan_step_say_a_pin_not_rendered_in_the_same_words() -> None:
    from installer.upgrade.plan_step import pin_warning
    from screens.upgrade.plan_notes import pin_lines

    plan = {"to_profile": "site", "pins_not_rendered": [["egovio/egov-user:v2", ["egovio/egov-user:v1"]]]}
    [line] = pin_lines(plan)
    assert line == "⚠ " + pin_warning("site", "egovio/egov-user:v2", ["egovio/egov-user:v1"])
    assert "site pins egovio/egov-user:v2, but its charts render egovio/egov-user:v1" in line
    assert "release_values" in line and pin_lines({"to_profile": "site"}) == []
