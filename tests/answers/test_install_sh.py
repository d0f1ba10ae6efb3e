"""install.sh sets itself up once, and offline from wheelhouse/ on an air-gapped jump host."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.answers.conftest import ROOT


def _make_tree(tmp_path: Path, dependency: str) -> Path:
    """A copy of install.sh beside a pyproject that needs one small package, and a stand-in installer."""
    tree = tmp_path / "jump-host"
    (tree / "installer").mkdir(parents=True)
    shutil.copy(ROOT / "install.sh", tree / "install.sh")
    (tree / "pyproject.toml").write_text(
        f'[project]\nname = "probe"\nversion = "0"\ndependencies = ["{dependency}"]\n[project.optional-dependencies]\ntest = []\n'
    )
    (tree / "installer" / "__init__.py").write_text("")
    (tree / "installer" / "__main__.py").write_text(
        "import sys, offline_probe_dep\nprint('ran with', offline_probe_dep.VALUE, sys.argv[1:])\n"
    )
    return tree


def _wheel(tmp_path: Path, wheelhouse: Path) -> None:
    """Write a minimal pure-Python wheel by hand (a wheel is a zip with metadata)."""
    import base64
    import hashlib
    import zipfile

    wheelhouse.mkdir(parents=True, exist_ok=True)
    dist = "offline_probe_dep-1.0.dist-info"
    files = {
        "offline_probe_dep/__init__.py": "VALUE = 42\n",
        f"{dist}/METADATA": "Metadata-Version: 2.1\nName: offline-probe-dep\nVersion: 1.0\n",
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for name, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(text.encode())}")
    record.append(f"{dist}/RECORD,,")
    files[f"{dist}/RECORD"] = "\n".join(record) + "\n"
    with zipfile.ZipFile(wheelhouse / "offline_probe_dep-1.0-py3-none-any.whl", "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)


def _env():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DIGIT_INSTALLER", "VIRTUAL_ENV", "PYTHONPATH"))}
    env["PIP_NO_INDEX"] = "1"  # belt and braces: nothing may come from the network
    env["DIGIT_INSTALLER_PYTHON"] = sys.executable
    return env


def test_offline_install_from_wheelhouse_then_reuse(tmp_path):
    tree = _make_tree(tmp_path, "offline-probe-dep==1.0")
    _wheel(tmp_path, tree / "wheelhouse")
    first = subprocess.run(["bash", str(tree / "install.sh"), "hello"], capture_output=True, text=True, env=_env(), timeout=300)
    assert first.returncode == 0, first.stderr
    assert "ran with 42 ['hello']" in first.stdout
    assert "offline" in first.stderr
    assert (tree / ".venv" / "bin" / "python").exists()
    second = subprocess.run(["bash", str(tree / "install.sh"), "again"], capture_output=True, text=True, env=_env(), timeout=120)
    assert second.returncode == 0
    assert second.stderr == ""  # set up once, reused silently
    assert "ran with 42 ['again']" in second.stdout


def test_missing_wheel_fails_cleanly_with_exit_2(tmp_path):
    tree = _make_tree(tmp_path, "offline-probe-dep==9.9")
    _wheel(tmp_path, tree / "wheelhouse")
    result = subprocess.run(["bash", str(tree / "install.sh")], capture_output=True, text=True, env=_env(), timeout=300)
    assert result.returncode == 2
    assert "installing dependencies failed" in result.stderr
    assert "Traceback" not in result.stderr
