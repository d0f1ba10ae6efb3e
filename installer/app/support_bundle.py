"""`support-bundle`: what a maintainer needs to help, with no secret in it.

Only named files go in (logs, journal, copied answers, preflight reports),
never the whole state dir: generated secrets live there too. Every text is
masked on the way in; cluster facts are gathered only for failed releases.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import stat
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

from installer import redact
from installer.app.answers_file import inspect_target
from installer.app.install import register_generated
from installer.answers import unreadable_secrets
from installer.deploy.outputs import FailedRelease, ReleasesFailure
from installer.engine import journal as jr
from installer.engine.lock import current_holder
from installer.exitcodes import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from installer.plan.provisioned import KUBECONFIG_OUTPUT

CLUSTER_TIMEOUT = 10
LOG_TAIL_LINES = 50
MAX_LOG_BYTES = 20 * 1024 * 1024
STEP_REPORTS = ("deploy-report.json", "summary.txt")


def _add_text(tar: tarfile.TarFile, name: str, text: str) -> None:
    data = redact.mask(text).encode("utf-8")
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(time.time())
    info.mode = 0o600
    tar.addfile(info, io.BytesIO(data))


def _read_text(path: Path, limit: int = MAX_LOG_BYTES) -> str:
    """A state file's text: never through a symlink, only a regular file the caller owns.

    A bundle is meant for someone else, so a symlink planted under logs/ (to /etc/shadow, say)
    must not carry its target into it.
    """
    from installer.state import open_state_file

    fd = open_state_file(path, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > limit:
            handle.seek(size - limit)
        return handle.read().decode("utf-8", "replace")


def _own_file(path: Path) -> bool:
    """A regular file (not a symlink) owned by the caller: the only kind a bundle packs."""
    try:
        st = path.lstat()
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and st.st_uid == os.geteuid()


def preflight_reports(state_dir: Path, journal: jr.Journal) -> list[Path]:
    """Preflight reports: files the preflight step named in its outputs, or preflight* files in the state dir."""
    found: list[Path] = []
    record = journal.get("preflight")
    if record is not None:
        for key, value in (record.outputs or {}).items():
            if isinstance(value, str) and "report" in key:
                path = Path(value)
                if not path.is_absolute():
                    path = state_dir / path
                if _own_file(path):
                    found.append(path)
    for path in sorted(state_dir.glob("preflight*")):
        if _own_file(path) and path not in found:
            found.append(path)
    pdir = state_dir / "preflight"
    if pdir.is_dir() and not pdir.is_symlink():
        found += [p for p in sorted(pdir.rglob("*")) if _own_file(p) and p not in found]
    return found


def failed_releases(journal: jr.Journal) -> list[FailedRelease]:
    """The releases a release step (deploy, monitoring, ci) recorded as failed."""
    return [release for record in journal.steps.values()
            for release in ReleasesFailure.from_dict(record.details).failed_releases]


def kubeconfig_of(answers: Any, journal: jr.Journal) -> tuple[str | None, str | None]:
    """The answers' kubeconfig, else the one a provisioning step recorded."""
    target = getattr(answers, "target", None) if answers is not None else None
    path = getattr(target, "kubeconfig", None)
    context = getattr(target, "context", None)
    if not path:
        for record in journal.steps.values():
            value = (record.outputs or {}).get(KUBECONFIG_OUTPUT)
            if isinstance(value, str):
                path = value
    return (str(path) if path else None), context


def cluster_facts(kubeconfig: str, context: str | None, releases: list[FailedRelease]) -> dict[str, Any]:
    """Events per namespace, and status plus last log lines of the pods of each failed release."""
    from installer.adapters.kube import connect

    cluster = connect(kubeconfig, context, timeout=CLUSTER_TIMEOUT)
    facts: dict[str, Any] = {"server_version": cluster.version(), "namespaces": {}}
    for ns in sorted({r.namespace for r in releases}):
        entry: dict[str, Any] = {"events": [], "pods": []}
        try:
            for item in cluster.list("Event", ns):
                involved = item.get("involvedObject") or {}
                entry["events"].append({
                    "object": f"{involved.get('kind', '')}/{involved.get('name', '')}",
                    "type": item.get("type"), "reason": item.get("reason"), "message": item.get("message"),
                    "count": item.get("count"),
                })
        except Exception as exc:
            entry["events_error"] = f"{type(exc).__name__}: {exc}"
        try:
            pods: list[dict[str, Any]] = cluster.list("Pod", ns)
        except Exception as exc:
            entry["pods_error"] = f"{type(exc).__name__}: {exc}"
            pods = []
        names = {r.name for r in releases if r.namespace == ns}
        for pod in pods:
            meta = pod.get("metadata") or {}
            name = meta.get("name") or ""
            labels = meta.get("labels") or {}
            owner = labels.get("app.kubernetes.io/instance") or labels.get("app")
            if owner not in names and not any(name.startswith(n) for n in names):
                continue
            status = pod.get("status") or {}
            info: dict[str, Any] = {"name": name, "phase": status.get("phase"), "containers": []}
            for cs in status.get("containerStatuses") or []:
                waiting = (cs.get("state") or {}).get("waiting") or {}
                info["containers"].append({"name": cs.get("name"), "ready": cs.get("ready"),
                                           "restarts": cs.get("restartCount"), "waiting": waiting.get("reason")})
            try:
                info["log_tail"] = cluster.pod_log(name, ns, tail_lines=LOG_TAIL_LINES)
            except Exception as exc:
                info["log_error"] = f"{type(exc).__name__}: {exc}"
            entry["pods"].append(info)
        facts["namespaces"][ns] = entry
    return facts


def write_bundle(state_dir: Path, output: Path, answers: Any = None, with_cluster: bool = True) -> dict[str, Any]:
    """Write the tar.gz; returns the manifest (what is inside, what could not be collected)."""
    state_dir = Path(state_dir)
    notes = []
    try:
        journal = jr.Journal.load(state_dir, running_is_dead=current_holder(state_dir) is None)
    except jr.JournalError as exc:
        journal = jr.Journal(state_dir)
        notes.append(str(exc))
    manifest: dict[str, Any] = {"created": time.time(), "install": journal.install, "files": [], "notes": notes}
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.partial")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    root = f"digit-support-{journal.install or 'install'}"
    with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
        def add(name: str, text: str) -> None:
            _add_text(tar, f"{root}/{name}", text)
            manifest["files"].append(name)

        if journal.exists() and notes:
            add("journal.json", _read_text(journal.path))
        elif journal.exists():
            add("journal.json", json.dumps(redact.mask_tree(journal.to_dict()), indent=2, default=str))
        else:
            manifest["notes"].append("no journal: the install has not run yet")
        log_dir = state_dir / "logs"
        logs = sorted(p for p in log_dir.glob("*.log") if _own_file(p)) if log_dir.is_dir() and not log_dir.is_symlink() else []
        for path in logs[-10:]:
            add(f"logs/{path.name}", _read_text(path))
        if not logs:
            manifest["notes"].append("no run logs")
        copied = state_dir / "answers.yaml"
        if _own_file(copied):
            add("answers.yaml", _read_text(copied))
        elif answers is not None and getattr(answers, "source_path", None):
            add("answers.yaml", Path(answers.source_path).read_text(encoding="utf-8", errors="replace")[:MAX_LOG_BYTES])
        for path in preflight_reports(state_dir, journal):
            add(f"preflight/{path.name}", _read_text(path))
        last_start = float((journal.runs[-1] if journal.runs else {}).get("started") or 0)
        for report in STEP_REPORTS:
            if _own_file(state_dir / report):
                # a report the last run did not write is an earlier run's: kept apart, never as the current state
                earlier = (state_dir / report).stat().st_mtime < last_start
                add(f"reports/{'earlier-runs/' if earlier else ''}{report}", _read_text(state_dir / report))
                if earlier:
                    manifest["notes"].append(f"{report} is from a run before the last one (reports/earlier-runs/)")
        releases = failed_releases(journal)
        kubeconfig, context = kubeconfig_of(answers, journal)
        if not with_cluster:
            manifest["notes"].append("cluster facts skipped (--no-cluster)")
        elif not releases:
            manifest["notes"].append("no failed releases recorded: no cluster facts collected")
        elif not kubeconfig:
            manifest["notes"].append("no kubeconfig known: no cluster facts collected")
        else:
            try:
                facts = cluster_facts(kubeconfig, context, releases)
                add("cluster/failed-releases.json", json.dumps(redact.mask_tree(facts), indent=2, default=str))
            except Exception as exc:
                manifest["notes"].append(f"cluster not reachable: {type(exc).__name__}: {exc}")
        add("MANIFEST.json", json.dumps(redact.mask_tree(manifest), indent=2, default=str))
    os.replace(tmp, output)
    return manifest


# --- the command -------------------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--answers", metavar="FILE", help="the answers file describing the installation")
    parser.add_argument("--state-dir", metavar="DIR",
                        help="where the journal, lock and logs live (default: $XDG_STATE_HOME/digit-installer/<name>)")
    # --out, not --output: the global --output chooses the progress display (rich, plain, json)
    parser.add_argument("-o", "--out", metavar="FILE", dest="out",
                        help="where to write the bundle (default: ./digit-support-<name>-<time>.tar.gz)")
    parser.add_argument("--no-cluster", action="store_true", help="do not contact the cluster")


def run(args: argparse.Namespace) -> int:
    if not args.answers and not args.state_dir:
        sys.stderr.write("give --answers FILE or --state-dir DIR\n")
        return EXIT_USAGE
    answers, state_dir = inspect_target(args.answers, args.state_dir)
    if state_dir is None:
        sys.stderr.write("no install name in the answers file: give --state-dir DIR\n")
        return EXIT_USAGE
    if answers is not None:
        unreadable_secrets(answers)  # registers every readable secret for masking
    if not state_dir.is_dir():
        sys.stderr.write(f"no state directory at {state_dir}\n")
        return EXIT_FAILED
    warning = register_generated(state_dir)
    if warning:
        sys.stderr.write(warning + "\n")
    name = answers.name if answers is not None else state_dir.name
    output = Path(args.out or f"digit-support-{name}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.tar.gz")
    manifest = write_bundle(state_dir, output, answers=answers, with_cluster=not args.no_cluster)
    sys.stdout.write(redact.mask(f"support bundle: {output} ({len(manifest['files'])} files)") + "\n")
    for note in manifest["notes"]:
        sys.stdout.write(redact.mask(f"  note: {note}") + "\n")
    return EXIT_OK
