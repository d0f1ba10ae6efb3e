"""Rules that span sections or need the profiles; each names the key at fault."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from installer.answers.models import CLOUD_KINDS
from installer.profiles import ProfileError, release_profile, sizing_profile



def _volume_gb(volume: str) -> Callable[[Any], int | None]:
    """Reads one volume's size from a sizing profile (a function per volume, so each binds its own name)."""
    return lambda p: p.volumes[volume].size_gb if volume in p.volumes else None


# override key -> (how to read the profile's figure, what it is called)
OVERRIDE_FIGURES: dict[str, tuple[Callable[[Any], Any], str]] = {
    "workers": (lambda p: p.node("worker").count if p.node("worker") else None, "worker count"),
    "worker_vcpu": (lambda p: p.node("worker").vcpu if p.node("worker") else None, "vCPU per worker"),
    "worker_memory_gb": (lambda p: p.node("worker").memory_gb if p.node("worker") else None, "GB of RAM per worker"),
    "worker_disk_gb": (lambda p: p.node("worker").disk_gb if p.node("worker") else None, "GB of disk per worker"),
    "control_planes": (lambda p: p.node("control-plane").count if p.node("control-plane") else None, "control-plane count"),
    "replicas": (lambda p: p.services.replicas, "replicas per service"),
    **{
        f"{volume}_volume_gb": (_volume_gb(volume), f"GB for each {volume} volume")
        for volume in ("kafka", "zookeeper", "es_data", "es_master", "postgres", "filestore")
    },
}


def check_rules(answers: Any, base_dir: Path | None) -> list[tuple[str, str]]:
    """Return (dotted key path, message) for every broken cross-section rule.

    `answers` is an Answers, or any object whose section attributes may be None
    (sections that did not validate): rules that need a missing section are
    skipped, so a broken file still gets every rule its valid sections allow.
    """
    problems: list[tuple[str, str]] = []
    # answers may be partial (the wizard checks a page at a time), so each section may be missing
    target: Any = getattr(answers, "target", None)
    sizing: Any = getattr(answers, "sizing", None)
    release_section: Any = getattr(answers, "release", None)
    database: Any = getattr(answers, "database", None)
    monitoring: Any = getattr(answers, "monitoring", None)
    kind = target.kind if target is not None else None

    profile = None
    if sizing is not None:
        try:
            profile = sizing_profile(sizing.profile, base_dir)
        except ProfileError as exc:
            problems.append(("sizing.profile", str(exc)))
    if profile is not None:
        if kind is not None and kind not in profile.target_kinds:
            problems.append(("sizing.profile", f"profile {profile.name} is for {', '.join(profile.target_kinds)}, not {kind}"))
        if not sizing.allow_undersized:
            for key, value in sizing.overrides.model_dump(exclude_none=True).items():
                read, what = OVERRIDE_FIGURES[key]
                minimum = read(profile)
                if minimum is not None and value < minimum:
                    problems.append(
                        (
                            f"sizing.overrides.{key}",
                            f"{value} is below profile {profile.name}'s {minimum} {what}; "
                            "raise it, or set sizing.allow_undersized: true",
                        )
                    )

    release = None
    if release_section is not None:
        try:
            release = release_profile(release_section.version, base_dir)
        except ProfileError as exc:
            problems.append(("release.version", str(exc)))
    if release is not None:
        for index, name in enumerate(release_section.modules):
            module = release.module(name)
            if module is None:
                known = ", ".join(m.name for m in release.modules if m.selectable)
                problems.append((f"release.modules[{index}]", f"no module {name!r} in {release.name} (modules: {known})"))
            elif not module.selectable:
                problems.append((f"release.modules[{index}]", f"module {name!r} is not chosen by name: {module.description}"))

    if database is not None and kind is not None and database.mode == "managed" and kind not in CLOUD_KINDS:
        problems.append(("database.mode", "a managed database is created by a cloud provider; "
                                          f"target kind {kind} needs external or in-cluster"))
    if monitoring is not None and monitoring.tracing and not monitoring.enabled:
        problems.append(("monitoring.tracing", "tracing needs monitoring.enabled: true"))
    ssh = getattr(target, "ssh", None)
    # an openstack target has no node list: its VMs' addresses are known only once the stack made them
    if ssh is not None and hasattr(target, "nodes"):
        hosts = {node.host for node in target.nodes}
        for host in ssh.host_keys:
            if host not in hosts:
                problems.append((f"target.ssh.host_keys.{host}", f"{host} is not one of target.nodes"))
    return problems
