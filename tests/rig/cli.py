"""Command line for the rig: `tests/rig/up --dir DIR ...` and `tests/rig/down --dir DIR`."""

from __future__ import annotations

import argparse
import sys

from tests.rig.rig import Rig, RigError


def up(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tests/rig/up", description="Start the simulated state data centre.")
    parser.add_argument("--dir", required=True, help="rig directory (answers.yaml, kubeconfig, env, pids)")
    parser.add_argument("--nodes", type=int, default=3, help="number of SSH nodes (default 3)")
    parser.add_argument("--fact", action="append", default=[], metavar="NODE:KEY=VALUE",
                        help="make one node report something else, e.g. n3:cpus=1, n2:swap=on")
    parser.add_argument("--rollout-delay", type=float, default=0.5, metavar="SECONDS",
                        help="seconds before workloads turn ready (default 0.5)")
    parser.add_argument("--loopback", action="store_true", help="nodes on loopback ports, no network namespaces")
    parser.add_argument("--server-version", help="Kubernetes version the emulator reports, e.g. v1.22.0")
    parser.add_argument("--kube-tls", action="store_true", help="serve the Kubernetes API over HTTPS (rig CA in the kubeconfig)")
    parser.add_argument("--bare", action="store_true",
                        help="bare VMs: no cluster; target.kind sdc-vms with stand-in RKE2 artifacts (see README)")
    parser.add_argument("--roles", help="comma-separated role per node, e.g. control-plane,worker,database")
    parser.add_argument("--images-mb", type=float, default=1.0, help="size of the stand-in images archive (MB)")
    parser.add_argument("--registry", action="store_true",
                        help="also an upstream registry filled with the sample tree's images and the site's "
                             "TLS + htpasswd mirror (in answers.yaml)")
    parser.add_argument("--helm-driver", choices=("secret", "sql"), default="secret",
                        help="Helm's release storage: Secrets, Helm's default (default), or the rig's PostgreSQL")
    parser.add_argument("--link-delay-ms", type=float, default=0.0, metavar="MS",
                        help="delay every SSH chunk this long each way (a delaying proxy; tc netem is unavailable)")
    args = parser.parse_args(argv)
    try:
        rig = Rig.up(args.dir, nodes=args.nodes, facts=args.fact, rollout_delay=args.rollout_delay,
                     netns=False if args.loopback else None, server_version=args.server_version,
                     kube_tls=args.kube_tls, bare=args.bare,
                     roles=args.roles.split(",") if args.roles else None, images_mb=args.images_mb,
                     registry=args.registry, helm_driver=args.helm_driver,
                     link_delay_ms=args.link_delay_ms)
    except RigError as exc:
        print(f"tests/rig/up: {exc}", file=sys.stderr)
        return 2 if any(flag in str(exc) for flag in ("--fact", "--nodes", "--roles", "--bare", "--link-delay-ms")) else 1
    print(rig.describe())
    return 0


def down(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tests/rig/down", description="Stop a rig started by tests/rig/up.")
    parser.add_argument("--dir", required=True)
    parser.add_argument("--link-delay-ms", type=float, default=0.0, metavar="MS",
                        help="delay every SSH chunk this long each way (a delaying proxy; tc netem is unavailable)")
    args = parser.parse_args(argv)
    try:
        Rig(args.dir).down()
    except RigError as exc:
        print(f"tests/rig/down: {exc}", file=sys.stderr)
        return 1
    return 0
