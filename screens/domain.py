"""Domain and TLS: the public name and how its certificate is obtained."""
from __future__ import annotations

from pathlib import Path

from textual import work

from screens.base import SectionScreen
from screens.certs import certificate_problems, key_file_problems
from screens.questions import FieldError


class DomainScreen(SectionScreen):
    CSS_PATH = "domain.tcss"
    PAGE = "domain"
    TITLE_TEXT = "Domain and TLS"
    INTRO = "The name citizens and employees type in their browser, and where its TLS certificate comes from."
    SECTIONS = ("domain",)

    def __init__(self) -> None:
        super().__init__()
        self._checked: tuple | None = None

    def on_section_form_changed(self, event) -> None:
        super().on_section_form_changed(event)
        self._check_certificate()

    def on_mount(self) -> None:
        super().on_mount()
        self.call_after_refresh(self._check_certificate)

    def _check_certificate(self) -> None:
        form = self.forms["domain"]
        data = form.data() or {}
        tls = data.get("tls") or {}
        if tls.get("mode") != "provided" or not tls.get("cert") or not data.get("fqdn"):
            if form.extra_errors:
                form.extra_errors = []
                form.validate()
            self._checked = None
            return
        base = self.wizard.state.base_dir
        cert = Path(str(tls["cert"])).expanduser()
        cert = cert if cert.is_absolute() else base / cert
        key_ref = tls.get("key") if isinstance(tls.get("key"), dict) else {}
        key_file = None
        if key_ref.get("file") and self.forms["domain"].secrets is not None and \
                "domain.tls.key" not in self.forms["domain"].secrets.values:
            key_file = Path(str(key_ref["file"])).expanduser()
            key_file = key_file if key_file.is_absolute() else base / key_file
        key = (str(cert), str(data["fqdn"]).strip().lower().rstrip("."), str(key_file))
        if key != self._checked:
            self._checked = key
            self._check(cert, key[1], key_file)

    @work(thread=True, exclusive=True, group="certificate")
    def _check(self, cert: Path, fqdn: str, key_file: Path | None) -> None:
        problems = [(("tls", "provided", "cert"), "domain.tls.cert", p) for p in certificate_problems(cert, fqdn)]
        if key_file is not None:
            problems += [(("tls", "provided", "key"), "domain.tls.key", p) for p in key_file_problems(key_file)]
        self.app.call_from_thread(self._checked_certificate, problems)

    def _checked_certificate(self, problems: list[tuple]) -> None:
        form = self.forms["domain"]
        for loc, _key, _message in problems:
            row = form.field_row(loc)
            if row is not None:
                row.touched = True
        form.extra_errors = [FieldError(loc, key, message) for loc, key, message in problems]
        form.validate()
