"""Line mode's upgrade path in a pseudo-terminal, on a rig of its own: digit-sample-a installed, then the
Ctrl+C, immutable-change and A -> B walks through `./install.sh --plain` as an operator on a serial
console would make them (TERM=dumb, questionary's prompts answered by keys).

Real parts as in test_upgrade: the emulator over HTTP, the rig's PostgreSQL (DIGIT's database and Helm's
sql storage), Helm's real engine, pg_dump. Helm's revisions are read from its sql storage.
"""
from __future__ import annotations

import json
import os
import re
import sys

import pexpect
import pytest

from screens.state import Catalog
from tests.upgrade.test_upgrade import Site, _revisions
from tests.wizard.helpers import ROOT

pytestmark = pytest.mark.timeout(300)
DOWN = "\x1b[B"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from tests.conftest import start_rig

    rig = start_rig(tmp_path_factory, nodes=1, rollout_delay=0.2)
    one = Site(rig, tmp_path_factory.mktemp("upgrade-plain"))
    done = one.install()
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    one.xdg = tmp_path_factory.mktemp("xdg")  # no install of the machine's own is offered
    yield one
    rig.down(quiet=True)


def spawn(site, width: int = 200):
    env = {**site.env, "TERM": "dumb", "XDG_STATE_HOME": str(site.xdg)}
    child = pexpect.spawn(sys.executable, ["-m", "installer", "--plain", "--state-dir", str(site.state)],
                          cwd=str(site.rig.answers_path.parent), env=env, encoding="utf-8", timeout=40,
                          dimensions=(50, width))
    child.logfile_read = open(site.state.parent / f"transcript-{os.getpid()}-{width}.txt", "a")
    return child


def to_the_target_question(child, installed: str = "digit-sample-a") -> None:
    """Upgrade (the second answer of the first question), then the install found (the rig's answers file)."""
    child.expect("What do you want to do")
    child.send(DOWN + "\r")
    child.expect("Which install")
    child.expect(r"install rig-\S+")
    child.send("\r")
    child.expect(f"Installed now: {installed}")
    child.expect(r"Upgrade to")


def profiles(site) -> list[str]:
    """The profiles as the target question lists them (after its '(choose …)' line)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DIGIT_INSTALLER_PROFILE_PATH", site.env["DIGIT_INSTALLER_PROFILE_PATH"])
        return list(Catalog.load(site.rig.answers_path.parent).releases)


def test_line_mode_and_what_it_shares_with_the_upgrade_pages_load_without_textual() -> None:
    """A serial console's line mode does not load the full-screen toolkit to offer the upgrade."""
    import subprocess

    probe = ("import sys, screens.plain, screens.plain_upgrade, screens.upgrade.installs, screens.upgrade.targets, "
             "screens.upgrade.plan_notes, screens.upgrade.state\n"
             "print(sorted(m for m in sys.modules if m.split('.')[0] == 'textual'))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60,
                         cwd=str(ROOT), env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def ended(child) -> str:
    child.expect(pexpect.EOF)
    child.close()
    return child.before


def test_nothing_to_upgrade_asks_nothing_and_ctrl_c_at_the_target_question_changes_nothing(site, tmp_path) -> None:
    journal = (site.state / "journal.json").read_text()
    revisions = _revisions(site)
    child = spawn(site)
    to_the_target_question(child)
    child.sendcontrol("c")
    rest = ended(child)
    assert child.exitstatus == 130, rest
    assert "has not started" in rest and "nothing was changed" in rest
    assert _revisions(site) == revisions  # no Helm revision moved
    assert (site.state / "journal.json").read_text() == journal
    assert "version: digit-sample-a" in site.rig.answers_path.read_text()
    # With nothing to upgrade (another state directory, no answers file with a journal) no such question is asked.
    env = {**site.env, "TERM": "dumb", "XDG_STATE_HOME": str(site.xdg)}
    (tmp_path / "empty").mkdir()
    fresh = pexpect.spawn(sys.executable, ["-m", "installer", "--plain", "--state-dir", str(tmp_path / "empty")],
                          cwd=str(tmp_path), env=env, encoding="utf-8", timeout=60, dimensions=(50, 200))
    fresh.expect(["What do you want to do", "Installation name"])
    assert fresh.after == "Installation name"
    fresh.sendcontrol("c")
    fresh.expect("Save a draft")
    fresh.send("n")
    fresh.expect(pexpect.EOF)


def test_an_immutable_change_is_not_applied_unless_its_named_option_is_answered_yes(site) -> None:
    revisions = _revisions(site)
    child = spawn(site)
    to_the_target_question(child)
    names = profiles(site)
    child.send(DOWN * (names.index("digit-sample-c")) + "\r")  # the installed one is skipped on the way down
    child.expect("IMMUTABLE StatefulSet/backbone/elasticsearch spec.volumeClaimTemplates")
    child.expect("Kubernetes refuses these changes in place")
    child.expect(re.escape("I did the above: let Helm make them again (--recreate-immutable)?"))
    child.expect(r"\(y/N\)")
    child.send("\r")  # the default: No
    rest = ended(child)
    assert child.exitstatus == 1, rest
    assert "--recreate-immutable was not chosen; nothing was changed" in rest
    assert "Start the upgrade" not in rest  # not even the last question: nothing was going to run
    assert _revisions(site) == revisions


def test_the_walk_from_a_to_b_ends_on_b_with_the_closing_block(site) -> None:
    names = profiles(site)
    assert names.index("digit-sample-b") == names.index("digit-sample-a") + 1
    child = spawn(site, width=100)
    to_the_target_question(child)
    child.expect("installed now")  # listed, disabled
    listing = child.before
    assert re.search(r"digit-2\.9-lts .*· \d+ charts missing", listing), listing
    child.send("\r")  # nothing is chosen for the operator
    child.expect("choose the profile to upgrade to")
    child.expect("Upgrade to")
    if "digit-2.9-lts" in names:  # a profile whose charts the folder lacks is refused with the reason
        child.send(DOWN * (names.index("digit-2.9-lts") + 1) + "\r")
        child.expect("digit-2.9-lts cannot be planned for this install")
        child.expect("Upgrade to")
    # as many steps down as it takes to reach the installed profile: the pointer skips it to the next
    child.send(DOWN * (names.index("digit-sample-a") + 1) + "\r")
    child.expect("== Upgrade plan ==")
    child.expect("-> digit-sample-b")
    child.expect("migration: needs the database")
    child.expect("Point of no return")
    child.expect("Start the upgrade as planned above")
    child.expect(r"\(y/N\)")
    child.send("y")
    child.expect("== Upgrading ==", timeout=30)
    child.expect(r"✓ The upgrade of .rig-\S+. succeeded", timeout=240)
    rest = ended(child)
    assert child.exitstatus == 0, rest
    assert "runs digit-sample-b" in rest and "every release ready" in rest
    assert "release.version: digit-sample-b saved in" in rest
    assert "version: digit-sample-b" in site.rig.answers_path.read_text()
    report = json.loads((site.state / "deploy-report.json").read_text())["upgrade"]
    assert report["deployed"] == ["egov-hrms", "egov-indexer", "egov-mdms-service", "egov-user"]
    for line in (rest + listing).splitlines():  # fitted to the 100-column terminal, commands and paths whole
        assert len(line) <= 100 or "/" in line or line.lstrip().startswith(("./install.sh", "helm ")), line


def test_ctrl_c_during_the_run_leaves_a_journal_that_the_printed_resume_command_completes(site) -> None:
    """Back from B to A this time (the walk above left B): interrupted once the releases are being upgraded."""
    import shlex
    import subprocess

    from tests.deploy.conftest import REPO

    names = profiles(site)
    child = spawn(site)
    to_the_target_question(child, installed="digit-sample-b")
    child.send(DOWN * (names.index("digit-sample-a") + 1) + "\r")
    child.expect("-> digit-sample-a")
    child.expect("Start the upgrade as planned above")
    child.expect(r"\(y/N\)")
    child.send("y")
    child.expect(r"\[upgrade-apply\] started")
    child.sendcontrol("c")
    child.expect("was interrupted at step upgrade-apply")
    child.expect("Then resume with:")
    child.expect(r"\r\n\s+(\S.*--resume)\r\n")
    command = shlex.split(child.match.group(1))
    rest = ended(child)
    assert child.exitstatus == 130, rest
    assert command[1:3] == ["upgrade", "--answers"] and command[command.index("--to") + 1] == "digit-sample-a"
    steps = {s["id"]: s for s in json.loads((site.state / "journal.json").read_text())["steps"]}
    assert steps["upgrade-apply"]["outcome"] == "interrupted"
    assert "version: digit-sample-b" in site.rig.answers_path.read_text()  # not moved by a run cut short
    done = subprocess.run([sys.executable, "-m", "installer", *command[1:], "--output", "plain"], cwd=REPO,
                          env=site.env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "runs digit-sample-a" in done.stdout
    assert "version: digit-sample-a" in site.rig.answers_path.read_text()
    steps = {s["id"]: s for s in json.loads((site.state / "journal.json").read_text())["steps"]}
    assert steps["upgrade-apply"]["outcome"] == "succeeded"
