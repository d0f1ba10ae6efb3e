"""The wizard's upgrade path on a rig of its own: sample-a installed, then walked from the welcome page to
sample-b (and, on the way, to sample-c, whose immutable change stops it until the operator confirms).

Real parts as in test_upgrade: the emulator over HTTP, the rig's PostgreSQL (DIGIT's database and Helm's
sql storage), Helm's real engine, pg_dump / pg_restore. The tmux test types into a real terminal at 80x24.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import time
import uuid
from pathlib import Path

import pytest
from textual.widgets import Button, Checkbox, Static

from screens.app import closing_lines, make_app
from screens.state import Catalog, WizardState
from tests.upgrade.test_upgrade import Site, _digit_db
from tests.wizard.helpers import ROOT, Driver, screen_text
from tests.wizard.test_tmux import Terminal as TmuxTerminal

pytestmark = pytest.mark.timeout(600)
NOTE = "# kept by hand: the operator's own note survives the wizard's save\n"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from tests.conftest import start_rig

    rig = start_rig(tmp_path_factory, nodes=1, rollout_delay=0.2)
    one = Site(rig, tmp_path_factory.mktemp("upgrade-wizard"))
    rig.answers_path.write_text(NOTE + rig.answers_path.read_text())
    done = one.install()
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    with pytest.MonkeyPatch.context() as patch:
        for name, value in one.env.items():
            if os.environ.get(name) != value:
                patch.setenv(name, value)
        yield one
    rig.down(quiet=True)


def profile_of(path: Path) -> str:
    return next(line.split(":", 1)[1].strip() for line in path.read_text().splitlines()
                if line.startswith("  version: "))


async def choose(d: Driver, label_part: str) -> None:
    from screens.widgets.choice_button import ChoiceButton

    button = next(b for b in d.screen.query(ChoiceButton) if label_part in str(b.label))
    assert not button.disabled, f"{label_part} cannot be chosen"
    button.value = True
    await d.pilot.pause()


async def on_page(d: Driver, page: str, timeout: float = 30.0) -> None:
    await d.wait_for(lambda: getattr(d.app.screen, "PAGE", "") == page, f"the {page} page", timeout)


def wizard_for(site):
    """The wizard on the rig's answers file and the install's state directory, as ./install.sh opens it there."""
    state = WizardState(site.rig.answers_path, catalog=Catalog.load(site.rig.answers_path.parent), state_dir=site.state)
    state.load(site.rig.answers_path)
    app = make_app(state)
    app.animation_level = "none"
    return app, state


async def to_the_target_page(d: Driver) -> None:
    """From the welcome page by keys: upgrade, the install found (first in the list), Next to the target page."""
    await on_page(d, "welcome")
    await key_choose(d, "#start-mode", "Upgrade an existing install")
    await d.pilot.press("ctrl+n")
    await on_page(d, "upgrade-install")
    await d.pilot.press("ctrl+n")
    await on_page(d, "upgrade-target")


async def planned(d: Driver) -> None:
    await on_page(d, "upgrade-plan")
    await d.wait_for(lambda: not d.screen.planning and d.app.upgrade.plan is not None, "the plan", timeout=120)
    await d.pilot.pause()


class Terminal(TmuxTerminal):
    """./install.sh with arguments in an 80x24 tmux; the rig's environment comes from this process."""

    def __init__(self, cwd: Path, *args: str) -> None:
        self.socket = f"upgrade-{uuid.uuid4().hex[:8]}"
        command = f"cd {cwd} && TERM=xterm-256color {ROOT / 'install.sh'} {' '.join(args)}; echo EXIT=$?; sleep 60"
        self.tmux("new-session", "-d", "-s", "wizard", "-x", "80", "-y", "24", command)

    def to_the_plan_of(self, profile: str) -> None:
        """From the welcome page, by keys: upgrade, the rig's install, `profile`, Next to the plan page."""
        self.wait("How do you want to begin?")
        self.choose("Upgrade an existing install")
        self.keys("C-n")
        self.wait("Step 1 of 6")
        self.wait("●▌ answers.yaml: install rig-")
        self.keys("C-n")
        self.wait("Step 2 of 6")
        self.choose(profile)
        self.keys("C-n")
        self.wait("Step 3 of 6")

    def choose(self, label: str, tries: int = 6) -> None:
        """Move down the focused list, selecting each entry, until `label` is the one chosen (● beside it)."""
        for _ in range(tries):
            if f"●▌ {label}" in self.screen():
                return
            self.keys("Down", "Enter")
            time.sleep(0.2)
        raise AssertionError(f"{label!r} could not be chosen; the screen shows:\n{self.screen()}")


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_the_plan_page_at_80x24_in_a_real_terminal(site) -> None:
    """Typed as a person would: nothing that matters is cut at the right edge, the rest is a scroll away."""
    journal_before = (site.state / "journal.json").read_text()
    term = Terminal(site.rig.answers_path.parent, "--state-dir", str(site.state))
    try:
        term.to_the_plan_of("digit-sample-b")
        first = term.wait("what changes", timeout=120)
        lines = first.splitlines()
        assert len(lines) <= 24 and all(len(line) <= 80 for line in lines)
        assert "Upgrade plan" in lines[0]
        assert "digit-sample-a (aaaaaaa0001) → digit-sample-b (bbbbbbb0002)" in first
        assert "1 to add, 3 to upgrade, 1 left out of the target" in first
        assert "Point of no return" in first
        nav = next(line for line in lines if "Checks >" in line)
        assert "< Back" in nav and "Plan again" in nav
        wholes = ("egov-hrms", "+ add", "egov-idgen", "- remove", "egov-indexer", "values changed",
                  "egov-mdms-service", "v1.3.2-44558a0-3", "egov-user-db:", "v1.2.8-9fde481-19",
                  "v1.2.9-aaaaaaa-20", "⚠ migration (Flyway): backup first")
        seen = first
        for _ in range(20):  # the table, a page at a time, for as long as a loaded machine takes to scroll
            if all(whole in " ".join(seen.split()) for whole in wholes):
                break
            term.keys("PageDown")
            time.sleep(0.3)
            seen += "\n" + term.screen()
        flat = " ".join(seen.split())
        for whole in wholes:
            assert whole in flat, (whole, seen)
        term.keys("C-q")
        term.wait("EXIT=0")
    finally:
        term.close()
    assert (site.state / "journal.json").read_text() == journal_before  # the plan changed nothing


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_back_from_the_plan_and_another_profile_by_keys_in_a_real_terminal(site) -> None:
    """At 80x24 in tmux, keys only: Back while the plan is being made, the list has the keys (the earlier choice
    still marked), Down/Enter choose another, and the plan page plans that one."""
    installed = profile_of(site.rig.answers_path)
    first, second = [p for p in ("digit-sample-a", "digit-sample-b", "digit-sample-c") if p != installed][:2]
    term = Terminal(site.rig.answers_path.parent, "--state-dir", str(site.state))
    try:
        term.to_the_plan_of(first)
        term.keys("C-b")
        shown = term.wait("Step 2 of 6")
        assert f"●▌ {first}" in shown, shown  # the earlier choice is still marked
        term.choose(second)
        assert f"○▌ {first}" in term.screen()
        term.keys("C-n")
        term.wait("Step 3 of 6")
        planned_screen = term.wait(f"→ {second} (", timeout=120)
        time.sleep(1.0)  # the plan of the earlier profile, had it still been running, would show by now
        assert f"→ {first} (" not in term.screen(), planned_screen
        assert f"→ {second} (" in term.screen()
        term.keys("C-q")
        term.wait("EXIT=0")
    finally:
        term.close()


async def key_choose(d: Driver, list_id: str, label_part: str) -> None:
    """With the keyboard only: the list must have the focus; Down until `label_part` is highlighted, then Space."""
    from textual.widgets import RadioSet

    listing = d.screen.query_one(list_id, RadioSet)
    assert d.app.focused is listing, f"the focus is on {d.app.focused!r}, not the list"
    for _ in range(len(listing.children) + 1):
        selected = listing._selected
        if selected is not None and label_part in str(listing.children[selected].label):
            await d.pilot.press("space")
            await d.pilot.pause()
            assert label_part in str(listing.pressed_button.label) and "●" in str(listing.pressed_button._button)
            return
        await d.pilot.press("down")
        await d.pilot.pause()
    raise AssertionError(f"{label_part!r} is not in the list")


@pytest.mark.asyncio
@pytest.mark.parametrize("back_while_planning", [False, True], ids=["back-after-the-plan", "back-while-planning"])
async def test_the_target_page_by_keyboard_alone_at_80x24(site, back_while_planning) -> None:
    """Only keys: after Next to the plan and Back, the profile list has the focus with the earlier choice marked;
    choosing another and Next plans that one (Back pressed while the plan was still being made, too)."""
    from textual.widgets import RadioSet

    app, state = wizard_for(site)
    installed = profile_of(site.rig.answers_path)
    first, second = [p for p in ("digit-sample-a", "digit-sample-b", "digit-sample-c") if p != installed][:2]
    async with app.run_test(size=(80, 24)) as pilot:
        d = Driver(app, pilot)
        await to_the_target_page(d)
        await key_choose(d, "#profiles", first)
        await pilot.press("ctrl+n")
        await on_page(d, "upgrade-plan")
        if not back_while_planning:
            await planned(d)
            assert app.upgrade.plan["to_profile"] == first
        await pilot.press("ctrl+b")
        await on_page(d, "upgrade-target")
        await pilot.pause()
        profiles = d.screen.query_one("#profiles", RadioSet)
        assert app.focused is profiles, f"after Back the focus is on {app.focused!r}"
        assert first in str(profiles.pressed_button.label)  # the earlier choice is still marked
        await key_choose(d, "#profiles", second)
        await pilot.press("ctrl+n")
        await planned(d)
        assert app.upgrade.subject.target_id == second
        await d.wait_for(lambda: not d.screen.planning and app.upgrade.plan is not None
                         and app.upgrade.plan["to_profile"] == second, f"the plan of {second}", timeout=120)
        await pilot.pause(0.5)  # an earlier plan still finishing must not replace it
        assert app.upgrade.plan["to_profile"] == second
        assert f"→ {second}" in str(d.screen.query_one("#plan-headline", Static).render())
        await pilot.press("ctrl+q")


@pytest.mark.asyncio
async def test_a_profile_whose_charts_the_folder_lacks_is_marked_and_refused_on_the_target_page(site) -> None:
    """digit-2.9-lts names DIGIT's whole chart tree; the rig's folder is the sample tree. The target page says so
    beside it and refuses Next with the count, the first few charts and what to do; the plan step (`--plan`)
    says the same in a few lines instead of every chart path."""
    from textual.widgets import RadioSet

    from installer.profiles import release_profile

    lts = release_profile("digit-2.9-lts", site.rig.answers_path.parent)
    app, state = wizard_for(site)
    async with app.run_test(size=(80, 24)) as pilot:
        d = Driver(app, pilot)
        await to_the_target_page(d)
        folder = Path(app.upgrade.answers.release.charts)
        lacking = {spec.chart for spec in lts.releases if not (folder / spec.chart / "Chart.yaml").is_file()}
        await key_choose(d, "#profiles", "digit-2.9-lts")
        label = str(d.screen.query_one("#profiles", RadioSet).pressed_button.label)
        count = int(label.rsplit("· ", 1)[-1].removesuffix(" charts missing"))
        assert 4 < count <= len(lacking) and label.endswith(f"· {count} charts missing")
        problem = str(d.screen.query_one("#target-problem", Static).render())
        head = f"✗ {count} chart(s) of digit-2.9-lts missing in tests/fixtures/charts: "
        assert problem.startswith(head) and f" and {count - 4} more. " in problem and "another profile" in problem
        first = problem.removeprefix(head).split(" and ")[0].split(", ")
        assert len(first) == 4 and set(first) <= lacking, first  # the first few, each truly missing
        assert len(problem.splitlines()) <= 4 and not any(chart in problem for chart in lacking - set(first))
        shown = " ".join(screen_text(app).split())  # at 80 columns the mark is read whole, not cut at the edge
        assert f"· {count} charts missing ▎" in shown and "choose another profile" in shown
        assert "Charts from: tests/fixtures/charts (release.charts)" in shown
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert app.screen.PAGE == "upgrade-target", "Next went on with a profile that cannot be planned"
        assert "Next is blocked: digit-2.9-lts cannot be planned for this install" in d.status()
        await key_choose(d, "#profiles", "digit-sample-c")
        assert str(d.screen.query_one("#target-problem", Static).render()) == "" and not d.status()
        await pilot.press("ctrl+q")
    done = site.upgrade("--to", "digit-2.9-lts", "--plan")
    said = done.stdout + done.stderr
    assert done.returncode != 0 and f"{count} chart(s) of digit-2.9-lts missing in {folder}: " in said, said[-3000:]
    assert f" and {count - 4} more" in said and not any(chart in said for chart in lacking - set(first)), said[-3000:]


@pytest.mark.asyncio
async def test_the_wizard_upgrades_sample_a_to_sample_b_page_by_page(site) -> None:
    source = profile_of(site.rig.answers_path)
    with _digit_db(site) as conn:  # something of the operator's, to find in the dump's listing
        conn.execute("CREATE TABLE IF NOT EXISTS eg_wizard_sample (id int PRIMARY KEY)")
        conn.execute("INSERT INTO eg_wizard_sample SELECT g FROM generate_series(1, 40) g ON CONFLICT DO NOTHING")
    app, state = wizard_for(site)
    journal_before = (site.state / "journal.json").read_text()
    async with app.run_test(size=(110, 40)) as pilot:
        d = Driver(app, pilot)
        await on_page(d, "welcome")
        await choose(d, "Upgrade an existing install")
        await d.next()

        await on_page(d, "upgrade-install")
        assert "Step 1 of 6" in screen_text(app)
        await choose(d, f"{site.rig.answers_path}: install {state.draft['name']}, succeeded")
        await d.next()

        await on_page(d, "upgrade-target")
        text = screen_text(app)
        assert f"Installed now: digit-{source.removeprefix('digit-')}" in text
        current = d.screen.query_one("#profile-current")
        assert current.disabled and str(current.label) == f"{source}  · installed now"  # whole at 80 columns
        await choose(d, "digit-sample-c")
        await d.next()

        # sample-c changes a StatefulSet's volumeClaimTemplates: shown as blocking, Next refused until confirmed
        await planned(d)
        blocking = str(d.screen.query_one("#plan-blocking", Static).render())
        assert "Kubernetes refuses these changes in place" in blocking
        assert "StatefulSet/backbone/elasticsearch spec.volumeClaimTemplates" in blocking
        assert "--cascade=orphan" in blocking
        assert d.screen.query_one("#next", Button).disabled
        await d.next()
        assert app.screen.PAGE == "upgrade-plan" and "Next is blocked: Kubernetes refuses" in d.status()
        confirm = d.screen.query_one("#confirm-recreate", Checkbox)
        assert confirm.display and "--recreate-immutable" in str(confirm.label)
        confirm.value = True
        await pilot.pause()
        assert not d.screen.query_one("#next", Button).disabled and app.upgrade.choices.recreate_immutable
        confirm.value = False
        await pilot.pause()
        assert d.screen.query_one("#next", Button).disabled
        # planning ran dry: the journal is as the install left it, nothing was upgraded
        assert (site.state / "journal.json").read_text() == journal_before
        await d.back()

        await on_page(d, "upgrade-target")
        await choose(d, "digit-sample-b")
        await d.next()

        await planned(d)
        plan = app.upgrade.plan
        assert (plan["added"], plan["removed"]) == (["egov-hrms"], ["egov-idgen"])
        assert plan["upgraded"] == ["egov-indexer", "egov-mdms-service", "egov-user"]
        table = screen_text(app)
        for shown in ("egov-hrms", "+ add", "egov-idgen", "- remove", "egov-indexer", "values changed",
                      "egov-mdms-service", "egov-user-db: v1.2.8-9fde481-19 → v1.2.9-aaaaaaa-20",
                      "⚠ migration (Flyway): backup first", "Point of no return"):
            assert shown in table, (shown, table)
        assert not d.screen.query_one("#confirm-recreate", Checkbox).display
        assert not app.upgrade.choices.recreate_immutable  # the choice made for sample-c does not carry over
        assert (site.state / "journal.json").read_text() == journal_before
        await d.next()

        await on_page(d, "upgrade-checks")
        await d.wait_for(lambda: not d.screen.running, "the checks", timeout=120)
        assert d.screen.passed, str(d.screen.query_one("#checks-problems", Static).render())
        assert "✓ upgrade-checks: succeeded" in str(d.screen.query_one("#checks-steps", Static).render())
        await d.next()

        await on_page(d, "upgrade-backup")
        where = str(d.screen.query_one("#backup-where", Static).render())
        assert "backups/<date and time>/" in where and "pg_dump -Fc" in where
        assert str(d.screen.query_one("#next", Button).label) == "Back up >"
        await d.next()
        await d.wait_for(lambda: app.upgrade.backup is not None and not d.screen.running, "the backup", timeout=120)
        backup = app.upgrade.backup
        dump = Path(backup["dump"])
        result = str(d.screen.query_one("#backup-result", Static).render())
        assert f"sha256   {hashlib.sha256(dump.read_bytes()).hexdigest()}" in result
        assert "public eg_wizard_sample" in result and "pg_restore --clean" in result
        assert "restore the database (PGPASSWORD from the environment variable DIGIT_DB_PASSWORD" in result
        assert f"helm rollback egov-user 1 -n egov --kubeconfig {site.rig.kubeconfig_path}" in result
        assert "helm uninstall egov-hrms" in result and "It will be reused" in result
        assert "Point of no return" in str(d.screen.query_one("#backup-return", Static).render())
        assert str(d.screen.query_one("#next", Button).label) == "Upgrade >"
        assert profile_of(site.rig.answers_path) == source  # nothing upgraded yet
        await d.next()

        await on_page(d, "upgrade-progress")
        progress = app.screen
        await d.wait_for(lambda: progress.finished is not None and app.final_report
                         and "upgrade of" in app.final_report, "the upgrade", timeout=400)
        assert progress.finished.exit_code == 0, (progress.finished.message, app.final_report)
        assert progress.rows["upgrade-apply"].status in ("ok", "succeeded")
        assert progress.rows["upgrade-backup"].status == "skipped"  # made on the Backup page, kept
        releases = {k.split("/", 1)[1]: r.status for k, r in progress.rows.items() if k.startswith("upgrade-apply/")}
        assert {"egov-hrms", "egov-user", "egov-mdms-service", "egov-indexer"} <= set(releases), releases
        assert all(s in ("succeeded", "ok", "unchanged") for s in releases.values()), releases
        summary = str(progress.query_one("#summary", Static).render())
        assert "Upgrade done" in screen_text(app)
        await pilot.press("ctrl+q")
    closing = "\n".join(closing_lines(app))
    assert f"The upgrade of '{app.upgrade.answers.name}' succeeded" in closing
    assert "runs digit-sample-b (DevOps commit bbbbbbb0002); every release ready: " in closing
    assert "digit-sample-a" not in closing  # the install's own summary (its profile) is not repeated
    assert backup["sha256"] in closing and "pg_restore --clean" in closing and backup["sha256"] in summary
    assert f"saved in {site.rig.answers_path}" in closing
    # the answers file says the new profile, written through the loader's save: the operator's comment stays
    text = site.rig.answers_path.read_text()
    assert profile_of(site.rig.answers_path).endswith("sample-b") and text.startswith(NOTE)
    # and a headless plan now finds nothing left to upgrade
    done = site.upgrade("--to", profile_of(site.rig.answers_path), "--plan")
    assert done.returncode == 0, done.stdout[-3000:]
    assert site.plan()["upgraded"] == [] and site.plan()["added"] == []


def test_an_upgrade_stopped_after_its_checks_or_backup_is_not_called_succeeded(site) -> None:
    """The Checks and Backup pages run the upgrade's pipeline cut after their last step; an operator who quits
    there has upgraded nothing: `status` and the welcome page say what was done and how to go on."""
    import subprocess
    import sys

    from installer.answers import load_answers
    from installer.app.upgrade import UpgradeChoices, prepare, run_phase
    from screens.state import describe_install

    installed = profile_of(site.rig.answers_path)
    target = "digit-sample-a" if installed != "digit-sample-a" else "digit-sample-b"
    subject = prepare(load_answers(site.rig.answers_path), site.rig.answers_path, target, site.state)
    go_on = (f"continue with ./install.sh upgrade --answers {site.rig.answers_path} --to {target} "
             f"--state-dir {site.state}")
    for phase, done, options in (("checks", "checked", " --recover-pending"), ("backup", "checked and backed up", "")):
        outcome = run_phase(subject, phase, UpgradeChoices(recover_pending=bool(options)), sinks=[])
        assert outcome.exit_code == 0 and not outcome.refused, outcome
        shown = subprocess.run([sys.executable, "-m", "installer", "status", "--answers", str(site.rig.answers_path),
                                "--state-dir", str(site.state)], cwd=ROOT, env=site.env, capture_output=True,
                               text=True, timeout=60)
        assert shown.returncode == 0, shown.stderr
        said = f"upgrade to {target}: {done}, not applied; {go_on}{options} --resume"
        assert f"NOT UPGRADED: {said}" in shown.stdout, shown.stdout
        last = next(line for line in shown.stdout.splitlines() if line.startswith("last run"))
        assert "succeeded" not in last and "(upgrade): stopped after upgrade-" in last, last
        assert "every step succeeded" not in shown.stdout
        assert describe_install(site.state) == said  # the welcome page's and the install list's line
    assert profile_of(site.rig.answers_path) == installed  # nothing was upgraded


@pytest.mark.asyncio
async def test_a_release_left_pending_is_offered_a_roll_back_on_the_checks_page(site) -> None:
    from tests.upgrade.test_upgrade import _mark_pending

    installed = profile_of(site.rig.answers_path)
    revision = _mark_pending(site, "egov-user", "egov")
    app, state = wizard_for(site)
    async with app.run_test(size=(80, 24)) as pilot:
        d = Driver(app, pilot)
        await on_page(d, "welcome")
        await choose(d, "Upgrade an existing install")
        await d.next()
        await on_page(d, "upgrade-install")
        await d.next()
        await on_page(d, "upgrade-target")
        await choose(d, "digit-sample-a" if installed != "digit-sample-a" else "digit-sample-b")
        await d.next()
        await planned(d)
        more = str(d.screen.query_one("#plan-more", Static).render())
        assert f"egov/egov-user is pending-upgrade at revision {revision}" in more
        await d.next()

        await on_page(d, "upgrade-checks")
        await d.wait_for(lambda: not d.screen.running, "the checks", timeout=120)
        problems = str(d.screen.query_one("#checks-problems", Static).render())
        assert f"✗ egov/egov-user is pending-upgrade at revision {revision}" in problems
        assert not d.screen.passed and d.screen.query_one("#next", Button).disabled
        recover = d.screen.query_one("#confirm-recover", Checkbox)
        assert recover.display and "--recover-pending" in str(recover.label) and not recover.value
        await d.next()
        assert app.screen.PAGE == "upgrade-checks"  # nothing rolls back without the named choice
        recover.value = True
        await pilot.pause()
        await pilot.click("#recheck")
        await d.wait_for(lambda: not d.screen.running and d.screen.passed is not None
                         and "rolled back" in str(d.screen.query_one("#checks-recovered", Static).render()),
                         "the roll-back and the checks", timeout=120)
        recovered = str(d.screen.query_one("#checks-recovered", Static).render())
        assert f"✓ egov/egov-user rolled back to revision {revision - 1}" in recovered
        assert d.screen.passed and not d.screen.query_one("#next", Button).disabled
        await pilot.press("ctrl+q")
    assert profile_of(site.rig.answers_path) == installed  # the checks change no answers
    closing = "\n".join(closing_lines(app))
    assert "has not started: the checks passed; nothing was changed (except the pending releases rolled back: " \
           "egov/egov-user rolled back" in closing
    assert f"--to digit-sample-{'a' if installed != 'digit-sample-a' else 'b'}" in closing
    assert closing.rstrip().endswith("--recover-pending")


@pytest.mark.asyncio
async def test_a_release_that_never_becomes_ready_is_rolled_back_and_the_closing_says_how_to_resume(site) -> None:
    import shlex
    import subprocess
    import sys

    import json

    installed = profile_of(site.rig.answers_path)
    target = "digit-sample-a" if installed != "digit-sample-a" else "digit-sample-b"
    steps = {s["id"]: s for s in json.loads((site.state / "journal.json").read_text())["steps"]}
    assert steps["upgrade-backup"]["outcome"] == "succeeded"  # test_an_upgrade_stopped_after_its_checks_or_backup
    earlier = steps["upgrade-backup"]["outputs"]
    app, state = wizard_for(site)
    site.rig.set_rollout(never_ready=["egov-mdms-service"], reason="CrashLoopBackOff")
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            d = Driver(app, pilot)
            await on_page(d, "welcome")
            await choose(d, "Upgrade an existing install")
            await d.next()
            await on_page(d, "upgrade-install")
            await d.next()
            await on_page(d, "upgrade-target")
            await choose(d, target)
            await d.next()
            await planned(d)
            assert "egov-mdms-service" in app.upgrade.plan["upgraded"]
            await d.next()
            await on_page(d, "upgrade-checks")
            await d.wait_for(lambda: not d.screen.running, "the checks", timeout=120)
            assert d.screen.passed
            await d.next()
            await on_page(d, "upgrade-backup")
            # The backup the stopped run above made for this same target: shown as the page opens, reused.
            result = str(d.screen.query_one("#backup-result", Static).render())
            assert f"in {earlier['folder']}" in result and f"sha256   {earlier['sha256']}" in result, result
            assert "An earlier run of this upgrade made it (the journal records it); it will be reused" in result
            assert "To go back to where the upgrade started:" in result and "pg_restore --clean" in result
            revision = earlier["releases"]["egov-mdms-service"]
            assert f"helm rollback egov-mdms-service {revision} -n egov --kubeconfig {site.rig.kubeconfig_path}" \
                in result
            assert str(d.screen.query_one("#next", Button).label) == "Upgrade >"
            await d.wait_for(lambda: "public eg_wizard_sample" in str(d.screen.query_one("#backup-result", Static)
                                                                     .render()), "the tables pg_restore -l lists")
            await d.next()
            await on_page(d, "upgrade-progress")
            progress = app.screen
            await d.wait_for(lambda: progress.finished is not None and app.final_report
                             and "upgrade of" in app.final_report, "the upgrade", timeout=400)
            assert progress.finished.exit_code == 1
            assert progress.rows["upgrade-backup"].status == "skipped"  # the earlier backup, reused
            assert progress.rows["upgrade-apply/egov-mdms-service"].status == "failed"
            assert "Upgrade stopped" in screen_text(app)
            await pilot.press("ctrl+q")
    finally:
        site.rig.set_rollout(never_ready=[])
    closing = "\n".join(closing_lines(app))
    assert f"The upgrade of '{state.draft['name']}' failed at step upgrade-apply" in closing
    assert "egov-mdms-service" in closing
    assert profile_of(site.rig.answers_path) == installed  # not saved: the upgrade did not finish
    resume = next(line.strip() for line in closing.splitlines() if line.strip().startswith("./install.sh upgrade"))
    assert resume.endswith(f"--to {target} --state-dir {site.state} --resume"), resume
    # the command it names finishes the upgrade once the cause is fixed
    done = subprocess.run([sys.executable, "-m", "installer", *shlex.split(resume)[1:], "--yes", "--output", "plain"],
                          cwd=ROOT, env=site.env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
