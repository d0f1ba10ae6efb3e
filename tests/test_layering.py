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
