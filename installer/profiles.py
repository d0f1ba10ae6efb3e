"""Sizing and release profiles are data files, found on a search path.

Order: `profiles/` beside the answers file (a site's own profiles), the folders
in $DIGIT_INSTALLER_PROFILE_PATH (colon-separated), then the profiles shipped
with the installer. A profile found earlier hides a later one of the same name.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

BUILTIN_DIR = Path(__file__).resolve().parent.parent / "profiles"


class ProfileError(Exception):
    """A profile is missing or malformed; the message names the file."""


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NodeSpec(_Data):
    count: int = Field(ge=0)
    vcpu: int = Field(ge=1)
    memory_gb: int = Field(ge=1)
    disk_gb: int = Field(ge=1)


class VolumeSpec(_Data):
    count: int = Field(ge=0)
    size_gb: int = Field(ge=1)


class ServiceScale(_Data):
    replicas: int = Field(default=1, ge=1)
    heap_scale: float = Field(default=1.0, gt=0)
    memory_scale: float = Field(default=1.0, gt=0)


class SizingProfile(_Data):
    name: str
    description: str
    source: str
    target_kinds: list[str]
    nodes: dict[Literal["control-plane", "worker", "database", "load-balancer"], NodeSpec]
    volumes: dict[Literal["kafka", "zookeeper", "es_data", "es_master", "postgres", "filestore"], VolumeSpec]
    services: ServiceScale = ServiceScale()
    release_timeout_seconds: int = Field(default=600, ge=30)

    def node(self, role: str) -> NodeSpec | None:
        return self.nodes.get(role)  # type: ignore[call-overload,no-any-return]  # role is checked by the Literal keys

    def requirement_for(self, role: str) -> NodeSpec | None:
        """What one node of `role` needs; an all-in-one profile has only workers."""
        return self.node(role) or (self.node("worker") if role == "control-plane" else None)


class ModuleSpec(_Data):
    name: str
    description: str
    depends: list[str] = []
    images: list[str] = []
    selectable: bool = True


class ReleaseSpec(_Data):
    name: str
    chart: str = Field(description="Chart path relative to release.charts.")
    namespace: str
    module: str
    needs: list[str] = []
    when: Literal["in_cluster_database", "monitoring", "tracing", "jenkins"] | None = None
    timeout_seconds: int | None = None
    values: dict[str, Any] = Field(default={}, description="Values this profile pins for the release (image tags "
                                   "and digests, settings), merged over the environment's values.")


class ChartSource(_Data):
    """A chart DIGIT-DevOps does not ship, from a Helm repository at a pinned version (air-gap bundles fetch it)."""

    repo: str = Field(description="Helm repository URL (its index.yaml is read)")
    name: str
    version: str


class ReleaseProfile(_Data):
    name: str = Field(description="The profile's one name: its file's stem, what answers' release.version and "
                      "`upgrade --to` say (digit-2.9-lts).")
    digit_version: str
    source: str
    devops_commit: str | None = Field(default=None, description="The DIGIT-DevOps commit whose chart tree this "
                                      "profile describes ('2.9 LTS' is a moving branch: the commit pins it).")
    images: list[str] = Field(default=[], description="Every image the profile installs, pinned by tag and, when "
                              "known, digest (repository:tag@sha256:...).")
    extends: str | None = Field(default=None, description="The profile this one was derived from (resolved on load).")
    default_modules: list[str]
    modules: list[ModuleSpec]
    releases: list[ReleaseSpec]
    library_charts: list[str] = []
    templates: list[str] = []
    not_deployed: list[str] = Field(default=[], description="Charts in the tree that no release uses, with the reason.")
    chart_sources: dict[str, ChartSource] = Field(default={}, description="Chart path -> the Helm repository chart "
                                                  "an air-gap bundle fetches when the chart source lacks it.")
    extra_images: list[str] = Field(default=[], description="Images no rendered manifest names that DIGIT still pulls "
                                    "at run time (jobs started by hand, solver pods); an air-gap bundle carries them.")
    postgres_min: int = Field(default=11, ge=10, description="The oldest PostgreSQL major version this release's "
                              "Flyway migrations run on (Flyway 9, DIGIT 2.9's, needs 11); an upgrade to this profile "
                              "refuses an older database server before anything changes.")

    @model_validator(mode="after")
    def _consistent(self) -> ReleaseProfile:
        modules = {m.name for m in self.modules}
        for module in self.modules:
            unknown = [d for d in module.depends if d not in modules]
            if unknown:
                raise ValueError(f"module {module.name} depends on unknown module(s) {unknown}")
        names = [r.name for r in self.releases]
        for release in self.releases:
            if release.module not in modules:
                raise ValueError(f"release {release.name} is in unknown module {release.module}")
            missing = [n for n in release.needs if n not in names]
            if missing:
                raise ValueError(f"release {release.name} needs unknown release(s) {missing}")
        if len(set(names)) != len(names):
            raise ValueError("release names repeat")
        unknown_defaults = [m for m in self.default_modules if m not in modules]
        if unknown_defaults:
            raise ValueError(f"default_modules lists unknown module(s) {unknown_defaults}")
        return self

    def module(self, name: str) -> ModuleSpec | None:
        return next((m for m in self.modules if m.name == name), None)

    def with_dependencies(self, selected: list[str]) -> list[str]:
        """The selected modules plus everything they depend on, in profile order."""
        wanted: set[str] = set()
        stack = list(selected or self.default_modules)
        while stack:
            name = stack.pop()
            if name in wanted:
                continue
            wanted.add(name)
            module = self.module(name)
            if module:
                stack.extend(module.depends)
        return [m.name for m in self.modules if m.name in wanted]


def search_path(answers_dir: Path | None = None) -> list[Path]:
    dirs: list[Path] = []
    if answers_dir is not None:
        dirs.append(Path(answers_dir) / "profiles")
    dirs += [Path(p) for p in os.environ.get("DIGIT_INSTALLER_PROFILE_PATH", "").split(os.pathsep) if p]
    dirs.append(BUILTIN_DIR)
    return dirs


_KIND_WORD = {"sizing": "sizing", "releases": "release"}


def _find(kind: str, name: str, answers_dir: Path | None) -> Path:
    if not name or "/" in name or "\\" in name or name.startswith(".") or ".." in name:
        raise ProfileError(f"{name!r} is not a {_KIND_WORD[kind]} profile name (a name from profiles/{kind}/, "
                           "never a path)")
    for base in search_path(answers_dir):
        for suffix in (".yaml", ".yml"):
            candidate = base / kind / f"{name}{suffix}"
            if candidate.is_file():
                return candidate
    raise ProfileError(f"no {_KIND_WORD[kind]} profile named {name!r} "
                       f"(known: {', '.join(_names(kind, answers_dir)) or 'none'})")


def _names(kind: str, answers_dir: Path | None) -> list[str]:
    names: set[str] = set()
    for base in search_path(answers_dir):
        if (base / kind).is_dir():
            names.update(p.stem for p in (base / kind).glob("*.y*ml"))
    return sorted(names)


@functools.lru_cache(maxsize=64)
def _load(path: Path, model: type[_Data]) -> _Data:
    from ruamel.yaml import YAML

    try:
        data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ProfileError(f"{path}: {where}: {first['msg']}") from None
    except Exception as exc:  # YAML or I/O errors: name the file
        raise ProfileError(f"{path}: {exc}") from None


def sizing_profile(name: str, answers_dir: Path | None = None) -> SizingProfile:
    return _load(_find("sizing", name, answers_dir), SizingProfile)  # type: ignore[return-value]


def release_profile(name: str, answers_dir: Path | None = None) -> ReleaseProfile:
    """The release profile of that one name (its file's stem, e.g. digit-2.9-lts), as answers' release.version says.

    A successor (a site's own profile, a newer commit of the LTS branch) need not repeat its base:
    `extends: <base name>` takes the base's releases and modules, then `remove_releases`,
    `add_releases`, `release_values` (release -> values merged over the base's) and `images`
    (replacing pins of the same repository) say what differs.
    """
    return _load_release(_find("releases", name, answers_dir), answers_dir)


def release_profile_files(name: str, answers_dir: Path | None = None) -> list[Path]:
    """The file of the profile of that name, then the files of the bases it `extends`, in order: what a copy
    of the profile must carry to be read elsewhere (an air-gap bundle)."""
    files: list[Path] = []
    path: Path | None = _find("releases", name, answers_dir)
    while path is not None and path not in files:
        files.append(path)
        base = _raw(path).get("extends")
        path = _find("releases", str(base), answers_dir) if base else None
    return files


def canonical_release_name(name: str, answers_dir: Path | None = None) -> str:
    """The profile name an answers file means: answers written when release.version held the bare version
    (`2.9-lts` for profile digit-2.9-lts) name the profile `digit-<version>` when one of that name exists
    and none of the bare one does. Anything else is returned as given (an unknown name is refused where
    the profile is read, with the names that exist)."""
    if not name or name.startswith("digit-") or "/" in name or "\\" in name or ".." in name:
        return name
    known = _names("releases", answers_dir)
    return f"digit-{name}" if name not in known and f"digit-{name}" in known else name


_DERIVED_KEYS = ("remove_releases", "add_releases", "release_values")


def _raw(path: Path) -> dict[str, Any]:
    from ruamel.yaml import YAML

    try:
        data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    except Exception as exc:  # YAML or I/O errors: name the file
        raise ProfileError(f"{path}: {exc}") from None
    if not isinstance(data, dict):
        raise ProfileError(f"{path}: a release profile is a mapping")
    return data


def _derive(path: Path, answers_dir: Path | None, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """The profile's data with `extends` resolved (a chain of bases, never a cycle)."""
    data = _raw(path)
    base_name = data.get("extends")
    if not base_name:
        unknown = [k for k in _DERIVED_KEYS if k in data]
        if unknown:
            raise ProfileError(f"{path}: {unknown[0]}: only a profile that `extends` another may say what differs")
        return data
    base_file = _find("releases", str(base_name), answers_dir)
    if base_file in seen or base_file == path:
        raise ProfileError(f"{path}: extends: {base_name} leads back to itself")
    base = _derive(base_file, answers_dir, seen + (path,))
    merged = {**base, **{k: v for k, v in data.items() if k not in _DERIVED_KEYS}}
    removed = set(data.get("remove_releases") or [])
    missing = sorted(removed - {r.get("name") for r in base.get("releases") or []})
    if missing:
        raise ProfileError(f"{path}: remove_releases: {', '.join(missing)} not in {base_name}")
    releases = [dict(r) for r in base.get("releases") or [] if r.get("name") not in removed]
    releases += [dict(r) for r in data.get("add_releases") or []]
    for release in releases:  # a removed release is no longer anyone's need
        if release.get("needs"):
            release["needs"] = [n for n in release["needs"] if n not in removed]
    by_name = {r.get("name"): r for r in releases}
    for name, values in (data.get("release_values") or {}).items():
        if name not in by_name:
            raise ProfileError(f"{path}: release_values: {name} is not a release of this profile")
        by_name[name]["values"] = _merge(by_name[name].get("values") or {}, values or {})
    if "images" in data:
        pins = {_repository(i): i for i in base.get("images") or []}
        pins.update({_repository(i): i for i in data.get("images") or []})
        merged["images"] = list(pins.values())
    merged["releases"] = releases
    return merged


def _repository(image: str) -> str:
    """egovio/egov-user:v1@sha256:... -> egovio/egov-user (a port in the host is kept)."""
    name = image.split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    return name[:colon] if colon > slash else name


def _merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in overlay.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


@functools.lru_cache(maxsize=64)
def _load_release(path: Path, answers_dir: Path | None) -> ReleaseProfile:
    own = _raw(path)
    if "version" in own:
        raise ProfileError(f"{path}: version: a release profile has one name, its file's stem ({path.stem}); "
                           "remove `version:` (answers say release.version: " + path.stem + ")")
    if own.get("name", path.stem) != path.stem:
        raise ProfileError(f"{path}: name: {own['name']!r} differs from the file's name; a release profile's name "
                           f"is its file's stem ({path.stem})")
    data = {**_derive(path, answers_dir), "name": path.stem}
    try:
        return ReleaseProfile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ProfileError(f"{path}: {where}: {first['msg']}") from None


def sizing_profile_names(answers_dir: Path | None = None) -> list[str]:
    return _names("sizing", answers_dir)


def release_profile_names(answers_dir: Path | None = None) -> list[str]:
    return _names("releases", answers_dir)
