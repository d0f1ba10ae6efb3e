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
import time

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


class Scripted:
    """A line-mode wizard whose questions are answered from a list (the prompts are never drawn)."""

    def __init__(self, *answers: object, state_dir=None) -> None:
        import io
        from types import SimpleNamespace

        import questionary

        self.answers = list(answers)
        self.out = io.StringIO()
        self.state = SimpleNamespace(state_dir=state_dir)
        self.q = SimpleNamespace(Choice=questionary.Choice, select=lambda *a, **k: a, text=lambda *a, **k: a,
                                 confirm=lambda *a, **k: a)

    def _ask(self, prompt: object) -> object:
        return self.answers.pop(0)


def upgrade_of(wizard: Scripted, tmp_path):
    """Line mode's upgrade over `wizard` with one install found (its answers file under tmp_path)."""
    from screens.plain_upgrade import LineUpgrade
    from screens.upgrade.installs import FoundInstalls

    answers = tmp_path / "answers.yaml"
    return LineUpgrade(wizard, FoundInstalls(found=[("install site: installed", answers)], not_offered=[]))


def stopped(line_upgrade) -> int:
    try:
        return int(line_upgrade.run())
    except KeyboardInterrupt:
        pytest.fail("a Ctrl+C between two questions escaped line mode's upgrade (Python prints it as it can)")


def test_a_ctrl_c_between_two_questions_stops_with_nothing_changed(tmp_path, monkeypatch) -> None:
    """Ctrl+C lands while the chosen install is opened (after one answer, before the next question)."""
    from screens import plain_upgrade

    def interrupted(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(plain_upgrade, "open_install", interrupted)
    wizard = Scripted(str(tmp_path / "answers.yaml"))
    assert stopped(upgrade_of(wizard, tmp_path)) == 130
    last = wizard.out.getvalue().strip().splitlines()
    assert last[-2:] == ["Stopped: nothing was changed.",
                         "The upgrade has not started; start again with: ./install.sh --plain"], last


def test_a_ctrl_c_that_escapes_the_run_ends_with_the_resume_command(tmp_path) -> None:
    """Ctrl+C lands as the run starts, before the engine's own handlers are set (or after they are restored):
    what was done is in the journal, and the last words are the command that resumes it."""
    from types import SimpleNamespace

    wizard = Scripted(state_dir=tmp_path / "state")
    line = upgrade_of(wizard, tmp_path)
    line.explicit_state_dir = True
    line.upgrade.subject = SimpleNamespace(answers=SimpleNamespace(name="site"), answers_path=tmp_path / "answers.yaml",
                                           state_dir=tmp_path / "state", source="digit-sample-a",
                                           target_id="digit-sample-b")
    line.choose_install = line.choose_target = line.review_plan = line.confirm = lambda: None

    def run_phase(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    line.upgrade.run_phase = run_phase
    assert stopped(line) == 130
    said, command = wizard.out.getvalue().strip().rsplit("\n", 1)
    assert " ".join(said.split("\n\n")[-1].split()) == ("Stopped: the upgrade was interrupted; what it did is kept "
                                                        "in the install's journal. Then resume with:"), said
    assert command.split() == ["./install.sh", "upgrade", "--answers", str(tmp_path / "answers.yaml"), "--to",
                                "digit-sample-b", "--state-dir", str(tmp_path / "state"), "--resume"]


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
    assert "Stopped: nothing was changed." in rest and "has not started" in rest
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


def test_ctrl_c_while_the_plan_is_made_stops_before_any_question(site) -> None:
    """The plan step runs under the engine's Ctrl+C handling, which lets a step it cannot cut go on to its end:
    the plan is the only step, so line mode itself must not go on to the questions after it."""
    revisions = _revisions(site)
    child = spawn(site)
    to_the_target_question(child)
    child.send(DOWN * (profiles(site).index("digit-sample-a") + 1) + "\r")
    child.expect("Planning: reading Helm's records")
    time.sleep(0.3)  # the plan takes a second or so: the step is under way
    child.sendcontrol("c")
    rest = ended(child)
    assert child.exitstatus == 130, rest
    assert "Stopped: nothing was changed." in rest and "Traceback" not in rest
    assert "Start the upgrade" not in rest and "interrupted" not in rest.replace("\r\n", " ").lower()
    assert _revisions(site) == revisions


def test_an_answers_file_named_to_edit_is_not_asked_install_or_upgrade(site) -> None:
    """--interactive --answers FILE: the operator came to edit that file (and install from it), so the question
    a bare --plain asks when an install can be upgraded is not asked (the same install is found here)."""
    env = {**site.env, "TERM": "dumb", "XDG_STATE_HOME": str(site.xdg)}
    before = site.rig.answers_path.read_text()
    child = pexpect.spawn(sys.executable, ["-m", "installer", "--plain", "--interactive", "--answers",
                                           str(site.rig.answers_path), "--state-dir", str(site.state)],
                          cwd=str(site.rig.answers_path.parent), env=env, encoding="utf-8", timeout=40,
                          dimensions=(50, 200))
    # the file is complete, so its review comes first (with a section missing, that section's questions would)
    assert child.expect(["What do you want to do", "Save the answers file to"]) == 1, child.before
    child.sendcontrol("c")
    child.expect("Save a draft")
    child.send("n")
    ended(child)
    assert child.exitstatus == 130
    assert site.rig.answers_path.read_text() == before


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
    child.expect("Start the upgrade as planned above")
    # The point of no return said once, in full, just before the question; the release B removes runs no migration.
    said = " ".join(re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", child.before).split())
    assert said.lower().count("point of no return") == 1, said
    warning = said[said.index("⚠ Point of no return"):]
    assert "egov-user" in warning and "egov-idgen" not in warning, warning
    assert said.index("Upgrade DIGIT") < said.index("⚠ Point of no return"), said
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


def test_objects_applied_without_helm_are_adopted_when_the_named_question_is_answered_yes(site, tmp_path) -> None:
    """A -> B where egov-hrms, which B adds, runs as egov-deployer left it (`helm template | kubectl apply`: no
    Helm record, no Helm label): the plan names each object to adopt, the named question defaults to No, and
    Yes adopts them into the release: none is deleted or made again (the same uid), and Helm now owns them."""
    import subprocess

    import psycopg

    from installer.deploy.cluster import connect_cluster
    from installer.yamlio import load_yaml_all
    from tests.deploy.conftest import REPO

    # The walk B -> A above left egov-hrms installed (an upgrade never uninstalls without a named choice).
    # Its objects lose Helm's ownership and Helm's records of it go: what egov-deployer leaves behind.
    answers_b = site.rig.answers_path.with_name("answers-b-rendered.yaml")  # beside it: its profiles extend
    answers_b.write_text(site.rig.answers_path.read_text().replace("  version: digit-sample-a",
                                                                  "  version: digit-sample-b"))
    try:
        rendered = subprocess.run([sys.executable, "-m", "installer", "plan", "--answers", str(answers_b), "--out",
                                   str(tmp_path / "plan-b")], cwd=REPO, env=site.env, capture_output=True, text=True,
                                  timeout=300)
    finally:
        answers_b.unlink()  # not another install for the question "Which install"
    assert rendered.returncode == 0, rendered.stdout[-2000:] + rendered.stderr[-2000:]
    api = connect_cluster(site.rig.kubeconfig_path, None)
    disown = {"metadata": {"labels": {"app.kubernetes.io/managed-by": None},
                           "annotations": {"meta.helm.sh/release-name": None, "meta.helm.sh/release-namespace": None}}}
    uids = {}
    for doc in load_yaml_all((tmp_path / "plan-b" / "releases" / "egov-hrms" / "manifest.yaml").read_text()):
        if isinstance(doc, dict) and doc.get("kind"):
            kind, name = doc["kind"], doc["metadata"]["name"]
            uids[kind, name] = api.patch(kind, name, disown, "egov")["metadata"]["uid"]
    assert ("Deployment", "egov-hrms") in uids
    with psycopg.connect(site.env["HELM_DRIVER_SQL_CONNECTION_STRING"], autocommit=True) as conn:
        conn.execute("DELETE FROM releases_v1 WHERE name = 'egov-hrms' AND namespace = 'egov'")

    child = spawn(site)
    to_the_target_question(child)
    child.send(DOWN * (profiles(site).index("digit-sample-a") + 1) + "\r")
    child.expect("-> digit-sample-b")
    child.expect("adopt +Deployment/egov/egov-hrms into release egov-hrms")
    child.expect(re.escape("Adopt them into their releases; nothing is deleted (--adopt)?"))
    child.expect(r"\(y/N\)")
    child.send("y")
    child.expect("Start the upgrade as planned above")
    child.expect(r"\(y/N\)")
    child.send("y")
    child.expect(r"✓ The upgrade of .rig-\S+. succeeded", timeout=240)
    rest = ended(child)
    assert child.exitstatus == 0, rest
    for (kind, name), uid in uids.items():
        live = api.get(kind, name, "egov")
        assert live["metadata"]["uid"] == uid, (kind, name)  # neither deleted nor made again
        assert live["metadata"]["annotations"]["meta.helm.sh/release-name"] == "egov-hrms", (kind, name)
        assert live["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "Helm", (kind, name)
    assert "version: digit-sample-b" in site.rig.answers_path.read_text()


def test_a_release_left_pending_is_not_rolled_back_unless_its_named_option_is_answered_yes(site) -> None:
    """Last on this rig (it leaves egov-user marked pending): the plan names the stuck release, the named question
    defaults to No, and No stops before the checks, so Helm's records are as they were."""
    from tests.upgrade.test_upgrade import _mark_pending

    revision = _mark_pending(site, "egov-user", "egov")
    revisions = _revisions(site)
    child = spawn(site)
    to_the_target_question(child, installed="digit-sample-b")  # where the adoption above left it
    child.send(DOWN * (profiles(site).index("digit-sample-a") + 1) + "\r")
    child.expect(f"pending: egov/egov-user is pending-upgrade at revision {revision}")
    child.expect(re.escape("Roll them back to their last deployed revision (--recover-pending)?"))
    child.expect(r"\(y/N\)")
    child.send("\r")  # the default: No
    rest = ended(child)
    assert child.exitstatus == 1, rest
    assert "--recover-pending was not chosen; nothing was changed" in rest
    assert "Start the upgrade" not in rest
    assert _revisions(site) == revisions  # still pending: nothing rolled back
