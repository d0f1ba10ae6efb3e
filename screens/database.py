"""Database and registry mirror; for an external server, a Test button that tries the login on the spot."""
from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static

from screens.base import SectionScreen
from screens.dbtest import KIND_TEXT, DbProbe, probe_database
from screens.widgets.union_box import UnionBox

TEST_TIMEOUT_S = 5.0


class DatabaseScreen(SectionScreen):
    CSS_PATH = "database.tcss"
    PAGE = "database"
    TITLE_TEXT = "Database and registry"
    INTRO = ("DIGIT keeps its data in PostgreSQL: an existing server (external), one the cloud creates (managed) or "
             "one the installer runs in the cluster. Air-gapped sites pull images through a registry mirror.")
    SECTIONS = ("database", "registry")

    def compose_body(self) -> ComposeResult:
        # the test sits right under the database's fields, above the registry's
        yield self.make_form("database")
        with Vertical(id="dbtest-box"):
            with Horizontal(classes="dbtest-actions"):
                yield Button("Test login", id="test-database")
                yield Static("Tries the admin login (or the user's) from this machine, "
                             f"giving up after {TEST_TIMEOUT_S:.0f} s.", classes="dbtest-help", markup=False)
            yield Static("", id="dbtest-result", markup=False)
        yield self.make_form("registry")

    def on_mount(self) -> None:
        super().on_mount()
        self._show_test_box()

    def on_section_form_changed(self, event: Any) -> None:
        super().on_section_form_changed(event)
        self._show_test_box()

    def _mode(self) -> str:
        return self.forms["database"].query_one(UnionBox).chosen

    def _show_test_box(self) -> None:
        self.query_one("#dbtest-box").display = self._mode() == "external"

    def _password(self, field: str, ref: Any) -> str | None:
        """The password as the install would read it: typed on this page, or from the variable or file named."""
        from installer.answers.refs import SecretRef, SecretUnavailable

        row = self.forms["database"].field_row(("external", field))
        typed = row.typed_secret() if row is not None else None
        if typed:
            return typed
        if not isinstance(ref, dict):
            return None
        try:
            return SecretRef.model_validate(ref).resolve(self.forms["database"].base_dir())
        except (SecretUnavailable, ValueError) as exc:
            self._result(f"✗ {field}: {exc}")
            return None

    @on(Button.Pressed, "#test-database")
    def _test(self) -> None:
        data = self.forms["database"].data() or {}
        host = str(data.get("host") or "").strip()
        if not host:
            self._result("✗ give the host first")
            return
        try:
            port = int(data.get("port") or 5432)
        except (TypeError, ValueError):
            self._result("✗ the port is not a number")
            return
        admin = bool(data.get("admin_username"))
        user = str(data.get("admin_username") if admin else data.get("username") or "").strip()
        if not user:
            self._result("✗ give the user first")
            return
        password = self._password("admin_password" if admin else "password",
                                  data.get("admin_password" if admin else "password"))
        if password is None:
            if not str(self.query_one("#dbtest-result", Static).render()).startswith("✗"):
                self._result("✗ give the password first")
            return
        self.query_one("#test-database", Button).disabled = True
        self._result(f"… logging in to {host}:{port} as {user}")
        self._probe(host, port, user, password, str(data.get("sslmode") or "prefer"))

    @work(thread=True, exclusive=True, group="dbtest")
    def _probe(self, host: str, port: int, user: str, password: str, sslmode: str) -> None:
        result = probe_database(host, port, user, password, sslmode, TEST_TIMEOUT_S)
        self.app.call_from_thread(self._probed, host, port, result)

    def _probed(self, host: str, port: int, result: DbProbe) -> None:
        from installer import redact

        self.query_one("#test-database", Button).disabled = False
        if result.version:
            self._result(f"✓ {host}:{port}: logged in as {result.user}, PostgreSQL {result.version}")
        else:
            kind = KIND_TEXT.get(result.kind or "other", "failed")
            self._result(redact.mask(f"✗ {host}:{port} as {result.user}: {kind}: {result.error}"))

    def _result(self, text: str) -> None:
        box = self.query_one("#dbtest-result", Static)
        box.update(text)
        self.set_status(text)
        self.call_after_refresh(lambda: box.scroll_visible(animate=False))
