"""The README keeps its binding opening, and its rig recipe works on a fresh checkout."""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_starts_with_exactly_the_two_commands_then_the_title():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert lines[:4] == ["```", "./install.sh", "tests/run.sh", "```"]
    assert next(line for line in lines[4:] if line.strip()) == "# DIGIT installer"


def test_rig_up_installs_the_test_extras_it_needs_before_starting():
    """jsonpatch and kmock come with the test extras; `tests/rig/up` must not depend on a comment."""
    up = (ROOT / "tests" / "rig" / "up").read_text()
    setup = up.index('DIGIT_INSTALLER_EXTRAS=test "$here/install.sh" --setup-only')
    assert setup < up.index("from tests.rig.cli import up")
    extras = (ROOT / "pyproject.toml").read_text().split("[project.optional-dependencies]", 1)[1]
    assert "kmock" in extras.split("]", 1)[0]


def test_readme_documents_uninstall_and_the_new_flags():
    text = (ROOT / "README.md").read_text()
    for phrase in ("./install.sh uninstall --answers answers.yaml", "--delete-data", "--confirm-delete-data=<name>",
                   "support-bundle --answers answers.yaml --out", "closing block"):
        assert phrase in text, phrase
