"""Before Helm runs: is every image the plan's rendered manifests name in the mirror, by digest?

Check id `images.in_mirror` (stable). Images are read from the same rendered documents Helm
will apply (discover.py), so a hook Job's or a custom resource's image counts as much as a
Deployment's. An image the plan does not take from the mirror, one the mirror lacks, and one
the mirror holds with another digest than the bundle's are each named.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Callable
from typing import Any

from installer.adapters.registry import HttpRegistry, RegistryError
from installer.bundle.discover import images_in
from installer.bundle.manifest import read_manifest
from installer.bundle.push import mirror_endpoint

CHECK_ID = "images.in_mirror"


@dataclass
class MirrorCheck:
    checked: int = 0
    missing: list[str] = field(default_factory=list)
    not_from_mirror: list[str] = field(default_factory=list)
    wrong_digest: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.not_from_mirror or self.wrong_digest)

    def problems(self) -> list[str]:
        return ([f"{i}: not in the mirror" for i in self.missing]
                + [f"{i}: not taken from the mirror (the chart writes it in a template the mirror setting cannot reach)"
                   for i in self.not_from_mirror]
                + self.wrong_digest)


def plan_image_refs(plan: Any) -> dict[str, list[str]]:
    """image as rendered -> releases naming it."""
    found: dict[str, list[str]] = {}
    for name, rendered in sorted(plan.rendered.items()):
        for image in images_in(rendered.documents):
            found.setdefault(image, []).append(name)
    return found


def check_mirror(plan: Any, answers: Any, bundle: Path | None = None, concurrency: int = 8) -> MirrorCheck:
    endpoint, prefix = mirror_endpoint(answers, timeout=20.0)
    mirror = answers.registry.mirror.rstrip("/")
    expected: dict[str, str] = {}
    if bundle is not None:
        for image in read_manifest(bundle).get("images") or []:
            expected[image["mirror"]] = image["digest"]
    registry = HttpRegistry(endpoint)
    result = MirrorCheck()
    wanted: list[tuple[str, str, str]] = []
    for image in sorted(plan_image_refs(plan)):
        if not image.startswith(mirror + "/"):
            result.not_from_mirror.append(image)
            continue
        rest = image[len(mirror) + 1:]
        name, _, digest = rest.partition("@")
        path, tag = name.rsplit(":", 1) if ":" in name.rsplit("/", 1)[-1] else (name, "latest")
        repo = f"{prefix}/{path}" if prefix else path
        wanted.append((image, repo, digest or tag))

    def probe(item: tuple[str, str, str]) -> tuple[str, str | None, str | None]:
        image, repo, reference = item
        try:
            return image, registry.manifest_digest(repo, reference), None
        except RegistryError as exc:
            return image, None, str(exc)

    with ThreadPoolExecutor(concurrency) as pool:
        for image, found, error in pool.map(probe, wanted):
            result.checked += 1
            if error:
                result.missing.append(f"{image} ({error})")
            elif found is None:
                result.missing.append(image)
            else:
                key = image[len(mirror) + 1:].split("@")[0]
                want = expected.get(key)
                if want and want != found:
                    result.wrong_digest.append(f"{image}: the mirror has {found}, the bundle {want}")
    registry.close()
    return result


def check_answers(answers: Any, outputs: dict[str, Any] | None = None,
                  on_phase: Callable[[str], None] | None = None) -> tuple[Any, MirrorCheck]:
    """Render the install's plan and check its images against the mirror; changes and writes nothing.

    Secrets name no image, so unresolved or not yet generated ones render as placeholders.
    PlanError propagates (the caller reports it as bad answers).
    """
    import tempfile

    from installer.adapters.helm import HelmSdkEngine
    from installer.plan import build_plan, render_plan
    from installer.secretstore import SecretStore

    with tempfile.TemporaryDirectory(prefix="digit-images-") as scratch:
        plan = build_plan(answers, store=SecretStore(Path(scratch), persist=False), outputs=outputs or {},
                          placeholder_secrets=True)
    if on_phase:
        on_phase(f"rendering {len(plan.graph.releases)} releases")
    with HelmSdkEngine() as engine:
        render_plan(plan, engine)
    if on_phase:
        on_phase(f"asking {answers.registry.mirror} for every image")
    bundle = Path(answers.release.bundle) if answers.release.bundle else None
    return plan, check_mirror(plan, answers, bundle)
