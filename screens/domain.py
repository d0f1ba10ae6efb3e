"""Domain and TLS: the public name and how its certificate is obtained."""
from __future__ import annotations

from pathlib import Path

from textual import work

from screens.base import SectionScreen
from screens.certs import certificate_problems
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
        key = (str(cert), str(data["fqdn"]).strip().lower().rstrip("."))
        if key != self._checked:
            self._checked = key
            self._check(cert, key[1])

    @work(thread=True, exclusive=True, group="certificate")
    def _check(self, cert: Path, fqdn: str) -> None:
        """The certificate names the FQDN (the key file is checked by the form, as every private key is)."""
        problems = [(("tls", "provided", "cert"), "domain.tls.cert", p) for p in certificate_problems(cert, fqdn)]
        self.app.call_from_thread(self._checked_certificate, problems)

    def _checked_certificate(self, problems: list[tuple]) -> None:
        form = self.forms["domain"]
        for loc, _key, _message in problems:
            row = form.field_row(loc)
            if row is not None:
                row.touched = True
        form.extra_errors = [FieldError(loc, key, message) for loc, key, message in problems]
        form.validate()
