"""`bundle verify` after the README's recipe: the virtualenv `installer/install.sh --setup-only` makes
inside the bundle, and Python's byte-code caches, are not reported file by file; other stray files are
named, ten at most, then counted."""
from __future__ import annotations

from pathlib import Path

from installer.bundle import command
from installer.bundle.manifest import verify, write_manifest


def _tiny_bundle(root: Path) -> Path:
    (root / "charts").mkdir(parents=True)
    (root / "charts" / "a.tgz").write_bytes(b"chart")
    (root / "installer").mkdir()
    (root / "installer" / "install.sh").write_text("#!/bin/sh\n")
    write_manifest(root, {"profile": "test"}, [])
    return root


def test_the_bundled_installers_venv_and_caches_are_not_extras(tmp_path):
    root = _tiny_bundle(tmp_path / "bundle")
    venv = root / "installer" / ".venv" / "lib" / "site-packages"
    venv.mkdir(parents=True)
    for i in range(50):
        (venv / f"mod{i}.py").write_text("x = 1\n")
    cache = root / "installer" / "installer" / "__pycache__"
    cache.mkdir(parents=True)
    (cache / "cli.cpython-311.pyc").write_bytes(b"\0")
    (root / "charts" / "stray.txt").write_text("left here by hand\n")
    result = verify(root)
    assert result.ok and result.extra == ["charts/stray.txt"]


def test_many_stray_files_are_named_ten_at_most_then_counted(tmp_path, capsys):
    root = _tiny_bundle(tmp_path / "bundle")
    for i in range(25):
        (root / "charts" / f"stray{i:02}.txt").write_text("x\n")
    assert command._verify(root, tmp_path / "state")
    out = capsys.readouterr().out.splitlines()
    named = [line for line in out if line.startswith("not listed in manifest.json (ignored): ")]
    assert len(named) == command.EXTRA_SHOWN
    assert "... and 15 more files not listed in manifest.json (ignored)" in out
