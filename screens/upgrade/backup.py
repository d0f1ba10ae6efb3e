"""The backup before the point of no return: where the dump goes, then what was made and how to restore it.

The upgrade's own steps run up to upgrade-backup (a pg_dump in custom format with its sha256, listed by
pg_restore -l, and Helm's record of every release's current revision). A backup an earlier run of this
upgrade made (the journal records it, for the same target and answers: a resumed upgrade, or the page
reached again) is shown as soon as the page opens, with how to go back, and is reused: Back up is not
offered again.
"""
from __future__ import annotations

import time

from textual import work
from textual.app import ComposeResult
from textual.widgets import Button, Static

from installer.engine import events as ev
from screens.base import BACK, NEXT, WizardScreen
from screens.paths import shown_path
from screens.upgrade.state import PhaseRecorder, upgrade_state


def where_text(subject) -> str:
    from installer.upgrade.checks import backup_dir

    answers = subject.answers
    folder = shown_path(backup_dir(answers, subject.state_dir))
    database = answers.database
    lines = [f"The backup goes to {folder}/<date and time>/ (mode 0700):"]
    if getattr(database, "mode", "") == "external":
        lines.append(f"  {database.name}.dump  pg_dump -Fc of {database.name} on {database.host}:{database.port}, "
                     "with its sha256, checked by listing it (pg_restore -l)")
    elif getattr(database, "mode", "") == "managed":
        lines.append(f"  {database.name}.dump  pg_dump -Fc of {database.name} on the managed database, "
                     "with its sha256, checked by listing it (pg_restore -l)")
    else:
        lines.append("  the database runs in the cluster: back it up with its chart's own means (not dumped here)")
    lines.append("  releases/  Helm's manifest and labels of every release's current revision (mode 0600)")
    lines.append("It is written as <date and time>.partial/ and renamed only once complete and verified.")
    return "\n".join(lines)


def result_text(backup: dict, earlier: bool = False) -> str:
    """What the backup holds, that the upgrade reuses it, and how to go back; earlier: made by an earlier
    run of this upgrade (found in the journal when the page opened)."""
    lines = ["✓ Backup made" + (f" {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(backup['finished']))}"
                               if backup.get("finished") else "") + f" in {backup.get('folder')}"]
    lines.append(("An earlier run of this upgrade made it (the journal records it); it" if earlier else "It")
                 + " will be reused: Upgrade does not back up again.")
    if backup.get("dump"):
        lines.append(f"dump     {backup['dump']}")
        lines.append(f"sha256   {backup.get('sha256')}")
        tables = backup.get("table_names") or []
        listed = f"{backup.get('tables')} table(s), {backup.get('entries')} entries listed by pg_restore -l"
        lines.append(f"tables   {listed}" + (f": {', '.join(tables[:12])}" if tables else ""))
        if len(tables) > 12:
            lines.append(f"         and {len(tables) - 12} more")
        if backup.get("listing_error"):
            lines.append(f"✗ listing it again failed: {backup['listing_error']}")
    releases = backup.get("releases") or {}
    lines.append(f"releases {len(releases)} revision(s) saved: " + ", ".join(f"{n} r{r}" for n, r in sorted(releases.items())))
    from installer.upgrade.going_back import restore_steps

    going_back = restore_steps(backup)
    start = next((i for i, line in enumerate(going_back) if line.startswith("To go back")), len(going_back))
    lines += going_back[start:]
    return "\n".join(lines)


class UpgradeBackupScreen(WizardScreen):
    PAGE = "upgrade-backup"
    TITLE_TEXT = "Backup"
    NEXT_LABEL = "Back up"
    INTRO = ("The last step before anything changes. Once the upgrade starts, migrations may run: going back "
             "then means restoring this backup.")
    DEFAULT_CSS = """
    UpgradeBackupScreen #backup-where { height: auto; margin: 0 0 1 0; }
    UpgradeBackupScreen #backup-result { height: auto; }
    UpgradeBackupScreen #backup-return { color: $warning; height: auto; margin: 1 0 0 0; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.running = False
        self.earlier = False   # the backup shown was found in the journal, made by an earlier run

    def compose_body(self) -> ComposeResult:
        yield Static("", id="backup-where", markup=False)
        yield Static("", id="backup-result", markup=False)
        yield Static("", id="backup-return", markup=False)

    def on_screen_resume(self) -> None:
        upgrade = upgrade_state(self.app)
        self.query_one("#backup-where", Static).update(where_text(upgrade.subject))
        if upgrade.backup is None and not self.running:
            self._find_earlier(upgrade)
        self._shown()

    def _find_earlier(self, upgrade) -> None:
        """The backup the journal records for this upgrade (same target and answers), which it will reuse:
        shown at once (a journal read), its tables listed by pg_restore -l in a worker."""
        try:
            found = upgrade.recorded_backup(upgrade.subject.state_dir, upgrade.subject, listing=False)
        except Exception:  # an unreadable record is the same as none: Back up makes one
            found = None
        if found is None:
            return
        upgrade.backup = found
        self.earlier = True
        self.wizard.final_report = upgrade.not_started(
            f"the backup {found.get('folder')} (sha256 {found.get('sha256') or '-'}) is made and the upgrade "
            "reuses it; no release was changed", self.wizard.state.state_dir is not None)
        self._list_tables(found)

    @work(thread=True, exclusive=True, group="upgrade-backup-tables")
    def _list_tables(self, shown: dict) -> None:
        upgrade = upgrade_state(self.app)
        try:
            listed = upgrade.recorded_backup(upgrade.subject.state_dir, upgrade.subject)
        except Exception:  # the record without its table names stays shown
            return
        if listed is not None and upgrade.backup is shown and listed.get("folder") == shown.get("folder"):
            upgrade.backup = listed
            self.app.call_from_thread(self._shown)

    def _shown(self) -> None:
        upgrade = upgrade_state(self.app)
        result = self.query_one("#backup-result", Static)
        next_button = self.query_one("#next", Button)
        if upgrade.backup is None:
            self.earlier = False
            result.update("Nothing has been backed up yet by this upgrade.")
            next_button.label = "Back up >"
            self.query_one("#backup-return", Static).update("")
            self.set_status("Back up makes the backup; nothing else changes.")
        else:
            result.update(result_text(upgrade.backup, self.earlier))
            next_button.label = "Upgrade >"
            self.query_one("#backup-return", Static).update(
                "⚠ Point of no return: Upgrade starts changing the releases, in order; migrations run with the new "
                "images. Going back after that means the steps above: rolling back each release, then restoring the database.")
            self.set_status("Upgrade starts the upgrade.")

    def action_next(self) -> None:
        if self.running:
            return
        if upgrade_state(self.app).backup is not None:
            self.dismiss(NEXT)
            return
        self.running = True
        self.query_one("#next", Button).disabled = True
        self.set_status("Backing up…")
        self._back_up()

    def _progress(self, event: ev.Event) -> None:
        if isinstance(event, ev.StepStarted):
            self.app.call_from_thread(self.set_status, f"{event.title}…")
        elif isinstance(event, ev.StepProgress) and event.step == "upgrade-backup":
            self.app.call_from_thread(self.set_status, f"Backing up: {event.message}")

    @work(thread=True, exclusive=True, group="upgrade-backup")
    def _back_up(self) -> None:
        upgrade = upgrade_state(self.app)
        recorder = PhaseRecorder(self._progress)
        try:
            outcome = upgrade.run(self, "backup", recorder)
        except Exception as exc:  # say it, stay usable
            self.app.call_from_thread(self._failed, f"the backup could not run: {exc}")
            return
        stopped = recorder.stopped(outcome)
        if stopped:
            self.app.call_from_thread(self._failed, stopped)
            return
        upgrade.backup = upgrade.recorded_backup(upgrade.subject.state_dir)
        self.earlier = False
        if upgrade.backup is not None:
            self.wizard.final_report = upgrade.not_started(
                f"the backup is made in {upgrade.backup.get('folder')} (sha256 {upgrade.backup.get('sha256') or '-'}) "
                "and the upgrade keeps it; no release was changed", self.wizard.state.state_dir is not None)
        self.app.call_from_thread(self._done)

    def _failed(self, text: str) -> None:
        from installer import redact

        self.running = False
        self.query_one("#next", Button).disabled = False
        self.query_one("#backup-result", Static).update(f"✗ {redact.mask(text)}\nNothing was changed.")
        self.set_status("The backup failed: fix the cause, then Back up again (or Back to the checks).")

    def _done(self) -> None:
        self.running = False
        self.query_one("#next", Button).disabled = False
        self._shown()

    def action_back(self) -> None:
        if not self.running:
            self.dismiss(BACK)
