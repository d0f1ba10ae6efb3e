"""`./install.sh bundle create|verify|push`: the air-gap bundle's commands.

    bundle create --answers FILE --out DIR [--source-registry URL] [--no-wheelhouse] [--git-mirrors] [--sign-key PEM]
    bundle verify DIR [--public-key PEM]
    bundle push DIR --answers FILE [--concurrency N]
    bundle check --answers FILE

Exit codes: 0 done, 1 a check or transfer failed (verify named a file, push refused or failed),
2 bad input, 130 interrupted.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="bundle_command", metavar="ACTION", required=True)
    create = sub.add_parser("create", help="gather charts, images, the installer and artifacts into DIR (needs network)")
    create.add_argument("--answers", required=True, metavar="FILE", help="answers file of the site")
    create.add_argument("--out", required=True, metavar="DIR", help="bundle directory to write")
    create.add_argument("--source-registry", metavar="URL",
                        help="take every image from this registry, stored there as <host>/<path> "
                             "(a pull-through cache or a staging registry); default: each image's own registry")
    create.add_argument("--platform", default="linux/amd64", help="platform to take from multi-platform images")
    create.add_argument("--no-wheelhouse", action="store_true",
                        help="leave out the installer's Python wheels (the jump host already has the installer)")
    create.add_argument("--git-mirrors", action="store_true",
                        help="also carry git mirrors of config_repos.mdms and config_repos.configs")
    create.add_argument("--sign-key", metavar="PEM", help="sign manifest.json with this Ed25519 private key")
    verify = sub.add_parser("verify", help="re-hash every file of a bundle; name what is missing or corrupt")
    verify.add_argument("dir", metavar="DIR")
    verify.add_argument("--public-key", metavar="PEM", help="also check manifest.json's signature with this key")
    verify.add_argument("--state-dir", metavar="DIR", help=argparse.SUPPRESS)
    push = sub.add_parser("push", help="push every image of a verified bundle into registry.mirror")
    push.add_argument("dir", metavar="DIR")
    push.add_argument("--answers", required=True, metavar="FILE", help="answers file naming registry.mirror")
    push.add_argument("--concurrency", type=int, default=4, metavar="N", help="images pushed at once (default 4)")
    push.add_argument("--chunk-mb", type=int, default=32, metavar="MIB",
                      help="upload chunk size (default 32): an upload interrupted between two chunks continues "
                           "from the last one the mirror acknowledged")
    push.add_argument("--state-dir", metavar="DIR", help="state directory (upload journal, verification record)")
    check = sub.add_parser("check", help="is every image the install's plan names in registry.mirror? (changes nothing)")
    check.add_argument("--answers", required=True, metavar="FILE", help="answers file naming registry.mirror")


def _state_root(explicit: str | None = None) -> Path:
    """Where verifications are remembered: not the bundle (it may be read-only media)."""
    from installer.state import state_root

    return Path(explicit) if explicit else state_root()


def _say(message: str) -> None:
    from installer import redact

    print(redact.mask(message), flush=True)


def _err(message: str) -> None:
    from installer import redact

    print(redact.mask(f"install.sh bundle: {message}"), file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    return {"create": run_create, "verify": run_verify, "push": run_push,
            "check": run_check}[args.bundle_command](args)


def run_create(args: argparse.Namespace) -> int:
    from installer.answers import load_or_report
    from installer.bundle.create import CreateOptions, create
    from installer.bundle.manifest import BundleError
    from installer.plan import PlanError

    answers = load_or_report(Path(args.answers).expanduser())
    if answers is None:
        return EXIT_USAGE
    if args.sign_key and not Path(args.sign_key).is_file():
        _err(f"--sign-key {args.sign_key}: no such file")
        return EXIT_USAGE
    options = CreateOptions(out=Path(args.out).expanduser(), source_registry=args.source_registry,
                            platform=args.platform, wheelhouse=not args.no_wheelhouse, git_mirrors=args.git_mirrors,
                            sign_key=Path(args.sign_key) if args.sign_key else None)
    try:
        manifest = create(answers, options, say=_say)
    except PlanError as exc:
        _err(f"{args.answers}: {exc.key or 'release'}: {exc}")
        return EXIT_USAGE
    except BundleError as exc:
        _err(str(exc))
        return EXIT_FAILED
    size = sum(f["size"] for f in manifest["files"])
    _say(f"bundle written to {options.out}: {len(manifest['images'])} images, {len(manifest['charts'])} charts, "
         f"{len(manifest['files'])} files, {size / 1024 / 1024:.1f} MiB")
    from installer.invocation import install_sh

    _say(f"carry it across, then: {install_sh()} bundle verify {options.out}")
    return EXIT_OK


EXTRA_SHOWN = 10  # files the manifest does not list, named one by one before the rest are counted


def _verify(root: Path, state_root: Path, public_key: str | None = None) -> bool:
    from installer.bundle.manifest import check_signature, remember_verified, verify

    if public_key:
        check_signature(root, Path(public_key).read_bytes())
        _say("signature: manifest.json is signed by the given key")
    result = verify(root)
    for problem in result.problems:
        _err(problem)
    for extra in result.extra[:EXTRA_SHOWN]:
        _say(f"not listed in manifest.json (ignored): {extra}")
    if len(result.extra) > EXTRA_SHOWN:
        _say(f"... and {len(result.extra) - EXTRA_SHOWN} more files not listed in manifest.json (ignored)")
    if not result.ok:
        _err(f"{root}: {len(result.problems)} file(s) missing or corrupt; this bundle cannot be used")
        return False
    rate = result.bytes_checked / max(result.seconds, 1e-6) / 1024 / 1024
    _say(f"{root}: every file matches manifest.json ({result.bytes_checked / 1024 / 1024:.1f} MiB at {rate:.0f} MiB/s)")
    remember_verified(state_root, root)
    return True


def run_verify(args: argparse.Namespace) -> int:
    from installer.bundle.manifest import BundleError

    if not Path(args.dir).is_dir():
        _err(f"{args.dir}: not a directory")
        return EXIT_USAGE
    if args.public_key and not Path(args.public_key).is_file():
        _err(f"--public-key {args.public_key}: no such file")
        return EXIT_USAGE
    try:
        return EXIT_OK if _verify(Path(args.dir), _state_root(args.state_dir), args.public_key) else EXIT_FAILED
    except BundleError as exc:
        _err(str(exc))
        return EXIT_FAILED


def run_push(args: argparse.Namespace) -> int:
    from installer.adapters.registry import RegistryError
    from installer.answers import SecretUnavailable, load_or_report
    from installer.bundle.manifest import BundleError, verified_before
    from installer.bundle.push import mirror_endpoint, push
    from installer.state import ensure_state_dir, state_dir_for

    answers = load_or_report(Path(args.answers).expanduser())
    if answers is None:
        return EXIT_USAGE
    root = Path(args.dir)
    if not root.is_dir():
        _err(f"{args.dir}: not a directory")
        return EXIT_USAGE
    state_root = _state_root()
    try:
        endpoint, prefix = mirror_endpoint(answers)
    except SecretUnavailable as exc:
        _err(f"{args.answers}: registry.password: {exc}")
        return EXIT_USAGE
    except BundleError as exc:
        _err(f"{args.answers}: {exc}")
        return EXIT_USAGE
    try:
        if verified_before(state_root, root):
            _say(f"{root}: verified before and unchanged since")
        elif not _verify(root, state_root):
            _err("refusing to push a bundle that does not verify")
            return EXIT_FAILED
        state_dir = ensure_state_dir(state_dir_for(answers.name, args.state_dir))
        if not 1 <= args.chunk_mb <= 1024:
            _err(f"--chunk-mb {args.chunk_mb}: between 1 and 1024")
            return EXIT_USAGE
        result = push(root, endpoint, prefix, state_dir, say=_say, concurrency=args.concurrency,
                      chunk_size=args.chunk_mb << 20)
    except (BundleError, RegistryError) as exc:
        _err(str(exc))
        return EXIT_FAILED
    rate = result.bytes_sent / max(result.seconds, 1e-6) / 1024 / 1024
    _say(f"pushed {result.images} images to {endpoint.host}: {result.bytes_sent} bytes sent "
         f"({rate:.0f} MiB/s), {result.blobs_uploaded} blobs uploaded ({result.blobs_resumed} continued), "
         f"{result.blobs_skipped} already there, {result.blobs_mounted} mounted, in {result.seconds:.2f}s")
    return EXIT_OK


def run_check(args: argparse.Namespace) -> int:
    from installer.adapters.registry import RegistryError
    from installer.answers import SecretUnavailable, load_or_report
    from installer.bundle.check import CHECK_ID, check_answers
    from installer.bundle.manifest import BundleError
    from installer.plan import PlanError

    answers = load_or_report(Path(args.answers).expanduser())
    if answers is None:
        return EXIT_USAGE
    if answers.registry is None:
        _err(f"{args.answers}: registry: the answers name no mirror (registry.mirror) to check")
        return EXIT_USAGE
    try:
        _plan, result = check_answers(answers, on_phase=_say)
    except PlanError as exc:
        _err(f"{args.answers}: {exc.key or 'release'}: {exc}")
        return EXIT_USAGE
    except SecretUnavailable as exc:
        _err(f"{args.answers}: registry.password: {exc}")
        return EXIT_USAGE
    except (BundleError, RegistryError) as exc:
        _err(str(exc))
        return EXIT_FAILED
    for problem in result.problems():
        _err(f"{CHECK_ID}: {problem}")
    if not result.ok:
        _err(f"{CHECK_ID}: {len(result.problems())} of {result.checked + len(result.not_from_mirror)} images "
             f"cannot be pulled from {answers.registry.mirror}")
        return EXIT_FAILED
    _say(f"{CHECK_ID}: all {result.checked} images of the plan are in {answers.registry.mirror}"
         + (" with the bundle's digests" if answers.release.bundle else ""))
    return EXIT_OK
