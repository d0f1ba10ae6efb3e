"""`bundle create`: everything an install of these answers needs, gathered on a connected machine.

    DIR/charts/...            the profile's chart tree: every release's chart and its file:// dependencies
    DIR/profiles/releases/    the release profile the charts are described by
    DIR/images/               one OCI image layout with every image, pinned by digest
    DIR/installer/            the installer itself with wheelhouse/ (./install.sh sets up offline)
    DIR/rke2/, DIR/terraform-providers/, DIR/git/*.git   when the answers call for them
    DIR/manifest.json         every file with size and sha256, every image with reference and digest

The image list is computed, not written by hand: every release of the plan is rendered with
the site's values (monitoring, tracing, Jenkins as the answers enable them, hooks included),
and every image the rendered documents name is collected (see discover.py), plus the release
profile's `extra_images`: images no manifest names but DIGIT needs at run time.
"""
from __future__ import annotations

import datetime
import json
import shutil
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Callable
from typing import Any

from installer.adapters.registry import INDEX_TYPES, Endpoint, HttpRegistry, RegistryError
from installer.bundle.discover import images_in
from installer.bundle.layout import Descriptor, Layout, LayoutError
from installer.bundle.manifest import BundleError, sign, write_manifest
from installer.bundle.progress import ByteProgress
from installer.bundle.reference import DOCKER_HUB, ImageRef, ReferenceError, mirror_path, mirror_tag, parse

REPO = Path(__file__).resolve().parents[2]
DOCKER_HUB_API = "registry-1.docker.io"
INSTALLER_FILES = ("install.sh", "pyproject.toml", "README.md", "installer", "screens", "profiles", "assets", "docs")
FETCH_CONCURRENCY = 4


@dataclass
class CreateOptions:
    out: Path
    source_registry: str | None = None      # http(s)://host:port holding every image as <host>/<path>
    platform: str = "linux/amd64"
    wheelhouse: bool = True
    git_mirrors: bool = False
    sign_key: Path | None = None
    timeout: float = 60.0


@dataclass
class ImageRecord:
    reference: str          # as written in a manifest or the kept list
    digest: str = ""
    media_type: str = ""
    size: int = 0
    sources: list[str] = field(default_factory=list)


# --- which images --------------------------------------------------------------------------

def plan_images(answers: Any, store_dir: Path) -> tuple[Any, dict[str, list[str]]]:
    """Render the plan with the site's values but the upstream image names: reference -> releases naming it."""
    from installer.adapters.helm import HelmSdkEngine
    from installer.plan import build_plan, render_plan
    from installer.secretstore import SecretStore

    store_dir.mkdir(parents=True, exist_ok=True)
    upstream = answers.model_copy(update={"registry": None})
    plan = build_plan(upstream, store=SecretStore(store_dir), placeholder_secrets=True)
    with HelmSdkEngine() as engine:
        render_plan(plan, engine)
    if plan.render_failures:
        raise BundleError("cannot list the images of releases that do not render: " + "; ".join(
            f"{n}: {plan.rendered[n].error}" for n in plan.render_failures))
    found: dict[str, list[str]] = {}
    for name, rendered in plan.rendered.items():
        for image in images_in(rendered.documents):
            found.setdefault(image, []).append(name)
    for release in plan.graph.releases:  # Helm renders no crds/ folder; their defaults name images too
        for image in images_in(crd_documents(Path(release.chart))):
            found.setdefault(image, []).append(f"{release.name} (crds/)")
    return plan, found


def crd_documents(chart: Path) -> list[Any]:
    """The CustomResourceDefinitions in a chart's crds/ folders (its own and its dependencies')."""
    from installer.adapters.helm import load_yaml_all

    seen: set[Path] = set()
    _chart_closure(chart, chart, seen, strict=False)
    documents: list[Any] = []
    for folder in sorted(seen):
        for path in sorted((folder / "crds").rglob("*.y*ml")) if (folder / "crds").is_dir() else []:
            try:
                documents += [d for d in load_yaml_all(path.read_text(encoding="utf-8")) if isinstance(d, dict)]
            except Exception as exc:
                raise BundleError(f"{path}: {exc}") from None
    return documents


def kept_images(profile: Any) -> list[str]:
    return list(getattr(profile, "extra_images", []) or [])


# --- fetching ------------------------------------------------------------------------------

class Fetcher:
    """Pulls images into the layout: manifests by tag (the platform's manifest of an index), blobs by digest."""

    def __init__(self, layout: Layout, options: CreateOptions, progress: ByteProgress | None = None) -> None:
        self.layout, self.options, self.progress = layout, options, progress
        self._clients: dict[str, HttpRegistry] = {}
        self._lock = threading.Lock()
        self._blob_locks: dict[str, threading.Lock] = {}

    def _client(self, host: str) -> HttpRegistry:
        with self._lock:
            if host not in self._clients:
                if self.options.source_registry:
                    endpoint, _ = Endpoint.parse(self.options.source_registry, timeout=self.options.timeout)
                else:
                    endpoint = Endpoint(DOCKER_HUB_API if host == DOCKER_HUB else host, timeout=self.options.timeout)
                self._clients[host] = HttpRegistry(endpoint)
            return self._clients[host]

    def _where(self, ref: ImageRef) -> tuple[HttpRegistry, str]:
        if self.options.source_registry:
            _, prefix = Endpoint.parse(self.options.source_registry)
            return self._client(ref.host), "/".join(p for p in (prefix, ref.host, ref.path) if p)
        return self._client(ref.host), ref.path

    def fetch(self, record: ImageRecord) -> ImageRecord:
        ref = parse(record.reference)
        client, repo = self._where(ref)
        try:
            media_type, body, digest = client.manifest(repo, ref.reference)
            if ref.digest and digest != ref.digest:
                raise BundleError(f"{record.reference}: the registry served {digest}, not the pinned digest")
            if media_type in INDEX_TYPES and not ref.digest:
                media_type, body, digest = self._platform_manifest(client, repo, body, record.reference)
            self.layout.put_bytes(body)
            self._children(client, repo, media_type, body)
        except RegistryError as exc:
            raise BundleError(f"{record.reference}: {exc}") from None
        record.digest, record.media_type, record.size = digest, media_type, len(body)
        return record

    def _platform_manifest(self, client: HttpRegistry, repo: str, body: bytes, reference: str) -> tuple[str, bytes, str]:
        os_name, _, arch = self.options.platform.partition("/")
        for entry in json.loads(body).get("manifests") or []:
            platform = entry.get("platform") or {}
            if platform.get("os") == os_name and platform.get("architecture") == arch:
                return client.manifest(repo, entry["digest"])
        raise BundleError(f"{reference}: no {self.options.platform} image in its index")

    def _children(self, client: HttpRegistry, repo: str, media_type: str, body: bytes) -> None:
        document = json.loads(body)
        if "manifests" in document:  # a pinned index: every platform's manifest, as the digest demands
            for entry in document["manifests"]:
                child_type, child_body, child_digest = client.manifest(repo, entry["digest"])
                if child_digest != entry["digest"]:
                    raise BundleError(f"{repo}@{entry['digest']}: the registry served {child_digest}")
                self.layout.put_bytes(child_body)
                self._children(client, repo, child_type, child_body)
            return
        blobs = [document["config"]] if document.get("config") else []
        blobs += document.get("layers") or []
        for blob in blobs:
            self._blob(client, repo, blob["digest"], int(blob["size"]))

    def _blob(self, client: HttpRegistry, repo: str, digest: str, size: int) -> None:
        with self._lock:
            lock = self._blob_locks.setdefault(digest, threading.Lock())
        with lock:
            if self.layout.has_blob(digest, size):
                if self.progress:
                    self.progress.add(size)
                return
            stream = client.open_blob(repo, digest)
            try:
                self.layout.write_blob(digest, stream, self.progress.add if self.progress else None)
            except LayoutError as exc:
                raise BundleError(str(exc)) from None
            finally:
                stream.close()


# --- charts --------------------------------------------------------------------------------

def _chart_closure(chart: Path, root: Path, seen: set[Path], strict: bool = True) -> None:
    """A chart and, recursively, its file:// dependencies; others must be vendored under charts/."""
    from installer.adapters.helm import load_yaml

    chart = chart.resolve()
    if chart in seen:
        return
    seen.add(chart)
    meta = load_yaml((chart / "Chart.yaml").read_text(encoding="utf-8")) or {}
    for dep in meta.get("dependencies") or []:
        repository, name = str(dep.get("repository") or ""), str(dep.get("name"))
        if repository.startswith("file://"):
            _chart_closure((chart / repository[len("file://"):]), root, seen, strict)
        elif (chart / "charts" / name / "Chart.yaml").is_file():
            _chart_closure(chart / "charts" / name, root, seen, strict)
        elif strict and not ((chart / "charts" / name / "Chart.yaml").is_file()
                  or any((chart / "charts").glob(f"{name}-*.tgz"))):
            raise BundleError(f"{chart / 'Chart.yaml'}: dependency {name} from {repository or '?'} is not vendored "
                              f"under {chart / 'charts'}; run `helm dependency build` there first")


def copy_charts(plan: Any, out: Path) -> list[str]:
    root = Path(plan.charts_root).resolve()
    seen: set[Path] = set()
    for release in plan.graph.releases:
        _chart_closure(Path(release.chart), root, seen)
    copied = []
    for chart in sorted(seen):
        try:
            relative = chart.relative_to(root)
        except ValueError:
            raise BundleError(f"{chart}: a dependency outside the chart tree {root}") from None
        shutil.copytree(chart, out / "charts" / relative, dirs_exist_ok=True, symlinks=False)
        copied.append(relative.as_posix())
    return copied


def copy_profile(answers: Any, out: Path) -> str:
    """The answers' release profile and the bases it extends (a site's own base is not among the installer's)."""
    from installer.profiles import release_profile_files

    files = release_profile_files(answers.release.version, answers.base_dir)
    (out / "profiles" / "releases").mkdir(parents=True, exist_ok=True)
    for source in files:
        shutil.copyfile(source, out / "profiles" / "releases" / source.name)
    return files[0].name


# --- the installer, artifacts, repositories -----------------------------------------------

def copy_installer(out: Path, wheelhouse: bool) -> None:
    target = out / "installer"
    for name in INSTALLER_FILES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, target / name, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif source.is_file():
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    if not wheelhouse:
        return
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as requirements:
        requirements.write("\n".join(project["dependencies"]) + "\n")
        requirements.flush()
        result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check",
                                 "--wheel-dir", str(target / "wheelhouse"), "-r", requirements.name],
                                capture_output=True, text=True, timeout=1800, check=False)
    if result.returncode != 0:
        raise BundleError("pip could not build the wheelhouse: " + (result.stderr.strip().splitlines() or ["?"])[-1])


def copy_folder(source: Path, target: Path, what: str) -> None:
    if not Path(source).is_dir():
        raise BundleError(f"{what}: {source} is not a directory")
    shutil.copytree(source, target, dirs_exist_ok=True)


def carry_artifacts(answers: Any, out: Path) -> dict[str, str]:
    """RKE2 artifacts for sdc-vms, the Terraform provider mirror for clouds, when the answers name them."""
    extras: dict[str, str] = {}
    target = answers.target
    rke2 = getattr(getattr(target, "rke2", None), "artifacts", None)
    if target.kind == "sdc-vms" and rke2:
        copy_folder(Path(rke2), out / "rke2", "target.rke2.artifacts")
        extras["rke2"] = "rke2"
    providers = getattr(target, "provider_mirror", None)
    if providers:
        copy_folder(Path(providers), out / "terraform-providers", "target.provider_mirror")
        extras["terraform_providers"] = "terraform-providers"
    return extras


def mirror_git(answers: Any, out: Path, timeout: float) -> list[str]:
    """`git clone --mirror` of the MDMS and configs repositories, with the answers' deploy key."""
    import os

    done = []
    repos = answers.config_repos
    key_file = None
    env = dict(os.environ)
    try:
        key = answers.secret(repos.ssh_key)
    except Exception:
        key = None
    with tempfile.TemporaryDirectory() as scratch:
        if key:
            key_file = Path(scratch) / "key"
            key_file.write_text(key if key.endswith("\n") else key + "\n")
            key_file.chmod(0o600)
            env["GIT_SSH_COMMAND"] = f"ssh -i {key_file} -o IdentitiesOnly=yes -o BatchMode=yes"
        for name in ("mdms", "configs"):
            repo = getattr(repos, name)
            target = out / "git" / f"{name}.git"
            if target.exists():
                shutil.rmtree(target)
            result = subprocess.run(["git", "clone", "--quiet", "--mirror", repo.url, str(target)],
                                    capture_output=True, text=True, timeout=timeout, env=env, check=False)
            if result.returncode != 0:
                raise BundleError(f"config_repos.{name}: git clone --mirror {repo.url} failed: "
                                  + (result.stderr.strip().splitlines() or ["?"])[-1])
            done.append(name)
    return done


def devops_commit(charts_root: Path) -> str | None:
    """The commit of the DIGIT-DevOps checkout the charts come from; None when they are not in one
    (a chart tree inside the installer's own repository is not DIGIT-DevOps)."""
    result = subprocess.run(["git", "-C", str(charts_root), "rev-parse", "--show-toplevel", "HEAD"],
                            capture_output=True, text=True, timeout=30, check=False)
    if result.returncode != 0:
        return None
    toplevel, commit = result.stdout.split()[:2]
    return None if Path(toplevel).resolve() == REPO.resolve() else commit


# --- the whole ----------------------------------------------------------------------------

def _plan_with_fetched_charts(answers: Any, profile: Any, scratch: Path, options: CreateOptions, say: Any
                              ) -> tuple[Any, dict[str, list[str]], dict[str, Any]]:
    """The rendered plan's images; charts the tree lacks but the profile can fetch are fetched first."""
    from installer.bundle.charts import completed_tree, missing_sources
    from installer.plan import PlanError

    try:
        plan, found = plan_images(answers, scratch / "store")
        return plan, found, {}
    except PlanError as exc:
        missing = list(getattr(exc, "missing", None) or [])
        paths = [r.chart for r in profile.releases if r.name in missing]
        sources = missing_sources(profile, Path(answers.release.charts), paths)
        if not missing or len(sources) < len(paths):
            raise
    say(f"fetching {len(sources)} chart(s) the chart source lacks: "
        + ", ".join(f"{s.name} {s.version}" for s in sources.values()))
    tree, digests = completed_tree(Path(answers.release.charts), sources, scratch, timeout=options.timeout)
    completed = answers.model_copy(update={"release": answers.release.model_copy(update={"charts": tree})})
    plan, found = plan_images(completed, scratch / "store")
    fetched = {path: {"repo": source.repo, "name": source.name, "version": source.version, "sha256": digests[path]}
               for path, source in sources.items()}
    return plan, found, fetched


def create(answers: Any, options: CreateOptions, say: Callable[[str], None] = print) -> dict[str, Any]:
    from installer.profiles import ProfileError, release_profile

    out = Path(options.out)
    out.mkdir(parents=True, exist_ok=True)
    try:
        profile = release_profile(answers.release.version, answers.base_dir)
    except ProfileError as exc:
        raise BundleError(str(exc)) from None
    with tempfile.TemporaryDirectory(prefix="digit-bundle-") as scratch:
        say("rendering every release to list its images ...")
        plan, found, fetched_charts = _plan_with_fetched_charts(answers, profile, Path(scratch), options, say)
        if (out / "charts").exists():
            shutil.rmtree(out / "charts")
        charts = copy_charts(plan, out)
    records: dict[str, ImageRecord] = {}
    for image, releases in sorted(found.items()):
        records[image] = ImageRecord(image, sources=sorted(releases))
    for image in kept_images(profile):
        records.setdefault(image, ImageRecord(image)).sources.append("profile extra_images")
    for record in records.values():
        try:
            parse(record.reference)
        except ReferenceError as exc:
            raise BundleError(str(exc)) from None
    say(f"{len(records)} images from {len(plan.graph.releases)} releases and the profile's kept list")

    profile_file = copy_profile(answers, out)
    say(f"charts: {len(charts)} copied")

    layout = Layout(out / "images")
    layout.init()
    progress = ByteProgress("fetching images", None)
    fetcher = Fetcher(layout, options, progress)
    with ThreadPoolExecutor(FETCH_CONCURRENCY) as pool:
        fetched = list(pool.map(fetcher.fetch, records.values()))
    progress.finish()
    layout.write_index([Descriptor(r.media_type, r.digest, r.size, r.reference) for r in fetched])

    say("the installer and its wheelhouse ..." if options.wheelhouse else "the installer (no wheelhouse) ...")
    copy_installer(out, options.wheelhouse)
    extras: dict[str, Any] = dict(carry_artifacts(answers, out))
    target = answers.target
    if options.git_mirrors:
        extras["git"] = {name: f"git/{name}.git" for name in mirror_git(answers, out, options.timeout * 10)}

    header = {
        "profile": profile.name,
        "digit_devops_commit": devops_commit(Path(answers.release.charts)),
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "installation": answers.name,
        "target_kind": target.kind,
        "modules": list(plan.graph.modules),
        "releases": [r.name for r in plan.graph.releases],
        "charts": charts,
        "profile_file": f"profiles/releases/{profile_file}",
        "platform": options.platform,
        "fetched_charts": fetched_charts,
        **extras,
    }
    images = [{"reference": r.reference, "digest": r.digest, "media_type": r.media_type,
               "mirror": f"{mirror_path(r.reference)}:{mirror_tag(r.reference)}", "sources": r.sources}
              for r in fetched]
    manifest = write_manifest(out, header, images)
    if options.sign_key:
        sign(out, Path(options.sign_key).read_bytes())
    return manifest
