"""`./install.sh plan --answers FILE --out DIR [--reveal-secrets]`: the whole plan, offline.

Writes plan.json, plan.txt, env.yaml, env-secrets.yaml, cluster-objects.yaml and, per release,
releases/<name>/values.yaml and releases/<name>/manifest.yaml. Secret values are masked unless
--reveal-secrets is given; then every file holding one is mode 0600. Contacts no cluster.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from installer.files import atomic_write

from installer.exitcodes import EXIT_FAILED, EXIT_OK, EXIT_USAGE
ANSWERS_SECTIONS = ("target", "sizing", "domain", "database", "registry", "release", "config_repos",
                    "credentials", "monitoring", "ci", "name")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--answers", required=True, metavar="FILE", help="answers file")
    parser.add_argument("--out", required=True, metavar="DIR", help="directory to write the plan into")
    parser.add_argument("--state-dir", metavar="DIR", help="state directory (generated secrets live there)")
    parser.add_argument("--reveal-secrets", action="store_true",
                        help="write secret values in clear (files holding them get mode 0600)")


def _dump_yaml(data: Any) -> str:
    import yaml

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(data, Dumper=dumper, sort_keys=False, default_flow_style=False, allow_unicode=True, width=4096)


def _dump_all(documents: list[dict[str, Any]]) -> str:
    return "".join("---\n" + _dump_yaml(doc) for doc in documents)


def _write(path: Path, text: str, private: bool) -> Path:
    return atomic_write(path, text, 0o600 if private else 0o644)


def _masked_documents(documents: list[dict[str, Any]], mask: str) -> list[dict[str, Any]]:
    shown = []
    for document in documents:
        doc = document
        if doc.get("kind") == "Secret":
            doc = dict(doc)
            for field in ("data", "stringData"):
                if isinstance(doc.get(field), dict):
                    doc[field] = dict.fromkeys(doc[field], mask)
        shown.append(doc)
    return shown


def write_plan(plan: Any, out: Path, reveal: bool) -> list[Path]:
    """Every plan file; masked unless `reveal` (then files with secrets are 0600)."""
    from installer import redact
    from installer.plan import plan_summary, plan_text
    from installer.plan.objects import masked_manifest
    from installer.plan.values import EXTRA_SECRET_PATHS, mask_paths, mask_secret_leaves

    out.mkdir(parents=True, exist_ok=True)
    secrets = plan.secret_values
    mask = redact.MASK

    def shown_tree(tree: Any) -> Any:
        return tree if reveal else mask_secret_leaves(tree, secrets, mask)

    def text(value: str) -> str:
        return value if reveal else redact.mask(value)

    written = [
        _write(out / "plan.json", json.dumps(plan_summary(plan), indent=2, sort_keys=False) + "\n", False),
        _write(out / "plan.txt", redact.mask(plan_text(plan)), False),
        _write(out / "env.yaml", _dump_yaml(plan.env_files.env), False),
        _write(out / "env-secrets.yaml", _dump_yaml(
            plan.env_files.env_secrets if reveal else
            shown_tree(mask_paths(plan.env_files.env_secrets, plan.env_files.secret_paths, mask))), reveal),
        _write(out / "cluster-objects.yaml",
               _dump_all([o.manifest if reveal else masked_manifest(o, mask) for o in plan.objects]), reveal),
    ]
    for release in plan.graph.releases:
        folder = out / "releases" / release.name
        values = plan.values[release.name]
        if not reveal:
            values = mask_paths(values, plan.env_files.secret_paths + EXTRA_SECRET_PATHS, mask)
        written.append(_write(folder / "values.yaml", _dump_yaml(shown_tree(values)), reveal))
        rendered = plan.rendered.get(release.name)
        if rendered is None:
            continue
        if rendered.error:
            written.append(_write(folder / "render-error.txt", redact.mask(rendered.error) + "\n", False))
            continue
        if reveal:
            manifest = "".join(f"---\n# Source: {path}\n{body.strip()}\n"
                               for path, body in sorted(rendered.manifests.items()) if body.strip())
        else:
            manifest = text(_dump_all(shown_tree(_masked_documents(rendered.documents, mask))))
        written.append(_write(folder / "manifest.yaml", manifest, reveal))
    return written


def _problem_line(answers_path: Path, key: str, message: str) -> str:
    """FILE:LINE:COL: key: message, pointing into the answers file where the key is."""
    from installer.answers import load_tree
    from installer.answers import locate

    line, col, path = 1, 1, key
    if key and key.split(".", 1)[0].split("[", 1)[0] in ANSWERS_SECTIONS:
        try:
            tree, _ = load_tree(answers_path)
            parts: list[Any] = []
            for part in key.split("."):
                head, _, rest = part.partition("[")
                parts.append(head)
                if rest:
                    parts.append(int(rest.rstrip("]")))
            line, col, path = locate(tree, tuple(parts))
            path = path or key
        except Exception:  # noqa: S110 - a key that cannot be located is reported at line 1
            pass
    else:
        path = "release.version"
    return f"{answers_path}:{line}:{col}: {path}: {message}"


def run(args: argparse.Namespace) -> int:
    from installer import redact
    from installer.answers import load_or_report
    from installer.plan import PlanError, build_plan, plan_text, render_plan
    from installer.secretstore import SecretStore, SecretStoreError
    from installer.state import ensure_state_dir, state_dir_for

    answers_path = Path(args.answers).expanduser()
    answers = load_or_report(answers_path)
    if answers is None:
        return EXIT_USAGE
    state_dir = ensure_state_dir(state_dir_for(answers.name, args.state_dir))
    try:
        plan = build_plan(answers, store=SecretStore(state_dir))
    except PlanError as exc:
        print(redact.mask(_problem_line(answers_path, exc.key, str(exc))), file=sys.stderr)
        return EXIT_USAGE
    except SecretStoreError as exc:
        print(redact.mask(f"{answers_path}: generated secrets: {exc}"), file=sys.stderr)
        return EXIT_USAGE

    from installer.adapters.helm import HelmSdkEngine

    with HelmSdkEngine() as engine:
        render_plan(plan, engine)
    out = Path(args.out).expanduser()
    write_plan(plan, out, bool(args.reveal_secrets))
    print(redact.mask(plan_text(plan)), end="")
    print(f"plan written to {out}" + ("" if args.reveal_secrets else " (secret values masked)"))
    if plan.render_failures:
        print(f"{len(plan.render_failures)} release(s) failed to render: {', '.join(plan.render_failures)}",
              file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK
