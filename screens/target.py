"""Target: where DIGIT goes (SDC VMs, an existing cluster, a cloud), with only the fields that kind needs."""
from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, DataTable, Static

from screens.base import SectionScreen
from screens.widgets.confirm_box import ConfirmBox
from screens.widgets.items_editor import ItemsEditor
from screens.widgets.union_box import UnionBox
from screens.widgets.readonly_table import ReadOnlyTable
from screens.hostkeys import HostKeyResult, changed_key_warning, fetch_fingerprint


class TargetScreen(SectionScreen):
    CSS_PATH = "target.tcss"
    PAGE = "target"
    TITLE_TEXT = "Target"
    INTRO = "Name this installation and say where DIGIT will run. Only the fields the chosen kind needs are shown."
    SECTIONS = ("name", "target")

    def __init__(self) -> None:
        super().__init__()
        self.scanned: list[HostKeyResult] = []
        self._machines = 0  # the existing cluster's machines listed, as last seen

    def compose_body(self) -> ComposeResult:
        yield from super().compose_body()
        with Vertical(id="hostkeys-box"):
            yield Static("Test connection reads each node's SSH host key so you can compare it with the fingerprint "
                         "your administrator gives you (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub) before pinning it.",
                         classes="hostkeys-help", markup=False)
            with Horizontal(classes="hostkeys-actions"):
                yield Button("Test connection", id="test-connection")
                yield Button("Pin these host keys", id="pin-keys", disabled=True)
            yield ReadOnlyTable(id="hostkeys", cursor_type="none", show_cursor=False)
            # a key other than the pinned one: both fingerprints and what to check, and pinning it again only
            # with this named confirmation (the Pin button alone keeps the pinned key)
            yield Static("", id="hostkeys-changed", markup=False)
            yield ConfirmBox("", id="confirm-repin")

    def on_mount(self) -> None:
        super().on_mount()
        table = self.query_one("#hostkeys", DataTable)
        table.add_columns("host", "port", "fingerprint / problem")
        self._show_hostkeys_box()
        self._machines = self._machine_count()
        self.query_one("#hostkeys-changed").display = False
        self.query_one("#confirm-repin").display = False

    def _kind(self) -> str:
        return self.forms["target"].query_one(UnionBox).chosen

    def on_section_form_changed(self, event) -> None:
        super().on_section_form_changed(event)
        self._show_hostkeys_box()
        self._ssh_for_machines()

    def _machine_count(self) -> int:
        editor = next((e for e in self.forms["target"].query(ItemsEditor) if e.question.loc[0] == "existing-cluster"), None)
        return len(editor.lines) if editor is not None else 0

    def _ssh_for_machines(self) -> None:
        """An existing cluster's machines are checked over SSH: listing the first one switches SSH access on
        (it was left off, and Next then refused the page for it). Switched off again by hand, it stays off."""
        from screens.widgets.group_box import GroupBox
        from screens.widgets.toggle import Toggle

        count = self._machine_count()
        previous, self._machines = self._machines, count
        if self._kind() != "existing-cluster" or previous != 0 or count == 0:
            return
        form = self.forms["target"]
        box = next((g for g in form.query(GroupBox) if g.question.loc == ("existing-cluster", "ssh")), None)
        if box is not None and not box.enabled:
            box.query_one("#use", Toggle).value = True

    def _show_hostkeys_box(self) -> None:
        self.query_one("#hostkeys-box").display = self._kind() in ("sdc-vms", "existing-cluster")

    def _trusted(self) -> tuple[dict[str, str], Path | None]:
        """The host keys pinned on this page as it stands, and its known_hosts file (relative to the answers)."""
        ssh = (self.forms["target"].data() or {}).get("ssh") or {}
        pinned = ssh.get("host_keys") if isinstance(ssh.get("host_keys"), dict) else {}
        known = ssh.get("known_hosts")
        return ({str(k): str(v) for k, v in pinned.items()},
                (self.wizard.state.base_dir / str(known)) if isinstance(known, str) and known else None)

    def _ssh_port(self, kind: str) -> tuple[int, float]:
        data = self.forms["target"].data() or {}
        ssh = data.get("ssh") or {}
        try:
            port = int(ssh.get("port", 22))
        except (TypeError, ValueError):
            port = 22
        try:
            timeout = float(ssh.get("connect_timeout", 10))
        except (TypeError, ValueError):
            timeout = 10.0
        return port, min(max(timeout, 1.0), 120.0)

    @on(Button.Pressed, "#test-connection")
    def _test(self) -> None:
        kind = self._kind()
        editor = next((e for e in self.forms["target"].query(ItemsEditor) if e.question.loc[0] == kind), None)
        hosts = editor.hosts() if editor else []
        if not hosts:
            self.set_status("Add at least one node with a host first.")
            return
        port, timeout = self._ssh_port(kind)
        self.set_status(f"Reading host keys of {len(hosts)} node(s)…")
        self.query_one("#test-connection", Button).disabled = True
        pinned, known_hosts = self._trusted()
        self._scan([(host, node_port or port) for host, node_port in hosts], timeout, pinned, known_hosts)

    @work(thread=True, exclusive=True, group="hostkeys")
    def _scan(self, hosts: list[tuple[str, int]], timeout: float, pinned: dict[str, str], known_hosts: Path | None) -> None:
        results = [fetch_fingerprint(host, port, timeout, pinned, known_hosts) for host, port in hosts]
        self.app.call_from_thread(self._scanned, results)

    def _scanned(self, results: list[HostKeyResult]) -> None:
        self.scanned = results
        table = self.query_one("#hostkeys", DataTable)
        table.clear()
        for result in results:
            shown = ("✗ CHANGED: see below" if result.changed else result.fingerprint) or f"✗ {result.error}"
            table.add_row(Text(result.host), str(result.port), Text(shown))
        changed = [r for r in results if r.changed]
        # what Pin pins without asking: keys new to this install (a changed one needs the named confirmation)
        good = [r for r in results if r.fingerprint and not r.changed]
        self._show_changed(changed)
        self.query_one("#test-connection", Button).disabled = False
        pin = self.query_one("#pin-keys", Button)
        pin.disabled = not good and not changed
        # the results sit below the form: bring them into view, with the next thing to do focused. The table
        # grows to its rows only in its own next layout, so it is scrolled to once that is done (scrolling
        # right away stopped one line short of the last row)
        def reveal() -> None:
            (pin if good else self.query_one("#test-connection", Button)).focus(scroll_visible=False)
            if changed:  # the buttons at the top, then the table, the warning and its confirmation below them
                table.call_after_refresh(lambda: self.query_one(".hostkeys-actions").scroll_visible(animate=False, top=True))
            else:
                table.call_after_refresh(lambda: self.query_one("#hostkeys-box").scroll_visible(animate=False, top=False))

        self.call_after_refresh(reveal)
        failed = len(results) - len(good) - len(changed)
        self.set_status((f"✗ the host key of {', '.join(r.host for r in changed)} CHANGED (below). " if changed else "")
                        + f"{len(good) + len(changed)} host key(s) read"
                        + (f", {failed} node(s) not reachable" if failed else "")
                        + (". Compare the fingerprints, then pin them." if good else "."))

    def _show_changed(self, changed: list[HostKeyResult]) -> None:
        warning = self.query_one("#hostkeys-changed", Static)
        box = self.query_one("#confirm-repin", ConfirmBox)
        warning.update("\n".join(f"✗ {changed_key_warning(r)}" for r in changed))
        box.value = False
        hosts = ", ".join(r.host for r in changed)
        box.label = f"Pin the new key of {hosts}: reinstalled, checked on its console"
        warning.display = box.display = bool(changed)

    @on(Button.Pressed, "#pin-keys")
    def _pin(self) -> None:
        kind = self._kind()
        form = self.forms["target"]
        row = form.field_row((kind, "ssh", "host_keys"))
        if row is None:
            return
        pinned = dict(row.initial or {})
        repin = self.query_one("#confirm-repin", ConfirmBox).value
        changed = [r for r in self.scanned if r.changed]
        pinned.update({r.host: r.fingerprint for r in self.scanned if r.fingerprint and (repin or not r.changed)})
        row.set_value(pinned)
        # validated without the form's Changed message, whose handler clears the status line just written
        form.validate()
        kept = "" if repin or not changed else (
            f"; the changed key of {', '.join(r.host for r in changed)} is NOT pinned (tick the confirmation below to pin it)")
        self.set_status(f"pinned {len(pinned)} host key(s) under target.ssh.host_keys{kept}")
        if repin and changed:
            # pinned again by the operator's word: what was changed is now the pinned key
            self.scanned = [HostKeyResult(r.host, r.port, r.fingerprint, r.key_type, trusted=(r.fingerprint,),
                                          trusted_by="pinned") if r.changed else r for r in self.scanned]
            self._show_changed([])
        # the pinned list grows above the results: keep them, and the focused button, on the page
        box = self.query_one("#hostkeys-box")
        self.call_after_refresh(lambda: box.call_after_refresh(lambda: box.scroll_visible(animate=False, top=False)))
