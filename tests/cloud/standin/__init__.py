"""The stand-in cloud provider (provider.py) and the filesystem mirror that serves it to Terraform."""
from __future__ import annotations

import os
import sys
from pathlib import Path

PROVIDER = Path(__file__).resolve().parent / "provider.py"
HOST, NAMESPACE, TYPE = "registry.digit.test", "digit", "standin"
VERSION = "0.1.0"


def build_mirror(root: Path, version: str = VERSION) -> Path:
    """An unpacked filesystem mirror (<host>/<namespace>/<type>/<version>/linux_amd64/) holding the stand-in.

    The plugin is a two-line launcher running provider.py with this interpreter, which has `tf` installed.
    """
    plugin_dir = Path(root) / HOST / NAMESPACE / TYPE / version / "linux_amd64"
    plugin_dir.mkdir(parents=True, exist_ok=True)
    launcher = plugin_dir / f"terraform-provider-{TYPE}_v{version}"
    launcher.write_text(f'#!/bin/sh\nexec {sys.executable} {PROVIDER} "$@"\n')
    os.chmod(launcher, 0o755)
    return Path(root)
