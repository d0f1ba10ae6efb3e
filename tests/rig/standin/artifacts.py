"""Writes the stand-in RKE2 artifact folder and each bare node's /usr/local shims (run by the rig at `up`).

The folder has RKE2's air-gap layout: rke2.linux-amd64.tar.gz (bin/rke2, bin/rke2-killall.sh,
bin/rke2-uninstall.sh, lib/systemd/system/rke2-{server,agent}.service), an images archive,
sha256sum-amd64.txt with the real sums of both, and install.sh. The scripts are thin wrappers that
run the stand-ins of this package with the rig's Python; every file says it is a stand-in.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import time
from pathlib import Path

BANNER = "# Stand-in written for the digit installer's test rig (tests/rig/standin); not Rancher's code.\n"
TARBALL = "rke2.linux-amd64.tar.gz"
IMAGES = "rke2-images.linux-amd64.tar.gz"
SUMS = "sha256sum-amd64.txt"


def wrapper(module: str, python: str, repo: Path, rig_dir: Path) -> str:
    return ("#!/bin/sh\n" + BANNER
            + f"export DIGIT_RIG_DIR='{rig_dir}' PYTHONPATH='{repo}'\n"
            + f"exec '{python}' -m tests.rig.standin.{module} \"$@\"\n")


def _unit(role: str) -> str:
    return (BANNER + "[Unit]\n"
            f"Description=Rancher Kubernetes Engine v2 ({role}) - rig stand-in\n"
            "Wants=network-online.target\nAfter=network-online.target\n\n"
            "[Service]\nType=notify\nKillMode=process\nDelegate=yes\nRestart=always\nRestartSec=5s\n"
            f"ExecStart=/usr/local/bin/rke2 {role}\n\n[Install]\nWantedBy=multi-user.target\n")


def _add(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), mode, int(time.time())
    tar.addfile(info, io.BytesIO(data))


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def build(folder: Path, python: str, repo: Path, rig_dir: Path, images_mb: float = 1.0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(folder / TARBALL, "w:gz") as tar:
        _add(tar, "bin/rke2", wrapper("rke2", python, repo, rig_dir).encode(), 0o755)
        _add(tar, "bin/rke2-killall.sh", ("#!/bin/sh\n" + BANNER + "systemctl stop rke2-server rke2-agent\n").encode(), 0o755)
        _add(tar, "bin/rke2-uninstall.sh",
             ("#!/bin/sh\n" + BANNER + "echo 'uninstall is not part of the stand-in' >&2\nexit 1\n").encode(), 0o755)
        _add(tar, "lib/systemd/system/rke2-server.service", _unit("server").encode())
        _add(tar, "lib/systemd/system/rke2-agent.service", _unit("agent").encode())
        _add(tar, "share/rke2/STAND-IN.txt", BANNER.encode())
    # Images: incompressible bytes of the requested size, so copying them costs what a real archive would.
    with tarfile.open(folder / IMAGES, "w:gz", compresslevel=1) as tar:
        _add(tar, "manifest.json", json.dumps([{"RepoTags": ["rancher/rke2-runtime:v1.29.4-rke2r1-standin"]}]).encode())
        _add(tar, "blobs/standin", os.urandom(int(images_mb * 1024 * 1024)))
    (folder / SUMS).write_text("".join(f"{sha256(folder / name)}  {name}\n" for name in (IMAGES, TARBALL)))
    install = folder / "install.sh"
    install.write_text(wrapper("install", python, repo, rig_dir))
    os.chmod(install, 0o755)
    return folder


def node_usr_local(usr_local: Path, python: str, repo: Path, rig_dir: Path) -> None:
    """/usr/local of one bare node: only the systemctl shim (sudo's secure_path looks in /usr/local/sbin first)."""
    sbin = usr_local / "sbin"
    sbin.mkdir(parents=True, exist_ok=True)
    shim = sbin / "systemctl"
    shim.write_text(wrapper("systemctl", python, repo, rig_dir))
    os.chmod(shim, 0o755)
