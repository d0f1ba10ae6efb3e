"""installer/ is the core every face shares: it must never pull in a UI."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import importlib, pkgutil, sys
import installer
names = ['installer'] + [m.name for m in pkgutil.walk_packages(installer.__path__, 'installer.') if not m.name.endswith('__main__')]
for name in names:
    importlib.import_module(name)
ui = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'questionary', 'screens'))
print(len(names))
print(','.join(ui))
"""


def test_no_installer_module_imports_the_ui():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    count, ui = out.stdout.splitlines()[0], out.stdout.splitlines()[1:] or [""]
    assert int(count) > 5
    assert ui == [""], f"UI modules loaded by installer/: {ui}"


def test_no_source_line_imports_the_ui():
    offenders = []
    for path in (ROOT / "installer").rglob("*.py"):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            stripped = line.strip()
            if stripped.startswith(("import ", "from ")) and stripped.split()[1].split(".")[0] in ("textual", "questionary", "screens"):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {stripped}")
    assert offenders == []


LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), "--config", str(cwd / "pyproject.toml")], capture_output=True,
                          text=True, cwd=cwd, timeout=300, env={"PYTHONPATH": str(cwd), "PATH": "/usr/bin:/bin"})


def test_import_linter_contracts_hold():
    """The layers of pyproject.toml's [tool.importlinter]: no upward import, no package cycle, heavy
    libraries only in adapters, no UI in installer/."""
    out = _lint_imports(ROOT)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "0 broken" in out.stdout


def test_an_upward_import_breaks_the_layers(tmp_path):
    """The contracts can fail: the engine importing the composition root is reported by name."""
    import shutil

    for name in ("installer", "screens"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    steps = tmp_path / "installer" / "engine" / "steps.py"
    steps.write_text(steps.read_text() + "\nimport installer.app.pipeline  # an upward arrow\n")
    out = _lint_imports(tmp_path)
    assert out.returncode == 1, out.stdout[-4000:]
    assert "Layers: imports point downwards only BROKEN" in out.stdout
    assert "installer.engine.steps -> installer.app.pipeline" in out.stdout
