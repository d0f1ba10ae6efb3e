"""Drive the wizard as a person would: focus a field, type, press Next."""
from __future__ import annotations

import datetime
import shutil
from pathlib import Path
from typing import Any

from textual.widgets import Input, Select, Switch

ROOT = Path(__file__).resolve().parents[2]
CHARTS = ROOT / "tests" / "fixtures" / "charts"
# The release profile of the sample chart tree: a site's own profile, as the wizard finds one beside the answers.
SAMPLE_PROFILE = ROOT / "tests" / "fixtures" / "profiles" / "releases" / "digit-sample.yaml"
FQDN = "uat.digit.example.gov.in"


def make_site(tmp: Path, fqdn: str = FQDN) -> Path:
    """A folder like an operator's: keys, a certificate for the FQDN, a kubeconfig, and in profiles/releases/
    the sample chart tree's release profile (digit-sample, which the walks choose with CHARTS)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    (tmp / "keys").mkdir(parents=True, exist_ok=True)
    (tmp / "certs").mkdir(exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, fqdn)])
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    for cert_name, host in (("tls.crt", fqdn), ("other.crt", "other.example.org")):
        cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
                .issuer_name(name).public_key(key.public_key()).serial_number(1)
                .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=3650))
                .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
                .sign(key, hashes.SHA256()))
        (tmp / "certs" / cert_name).write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp / "certs" / "tls.key").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                              serialization.NoEncryption()))
    (tmp / "keys" / "id_ed25519").write_text(openssh_private_key())
    (tmp / "keys" / "git-sync").write_text(openssh_private_key())
    (tmp / "kubeconfig").write_text("apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n")
    (tmp / "profiles" / "releases").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SAMPLE_PROFILE, tmp / "profiles" / "releases" / SAMPLE_PROFILE.name)
    return tmp


def openssh_private_key() -> str:
    """A fresh ed25519 key in OpenSSH's format, as ssh-keygen writes it (seven lines)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    return ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()).decode()


def pem_private_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()


class Driver:
    def __init__(self, app, pilot) -> None:
        self.app, self.pilot = app, pilot

    @property
    def screen(self):
        return self.app.screen

    def row(self, section: str, loc: tuple):
        row = self.screen.forms[section].field_row(loc)
        assert row is not None, f"no visible field {section} {loc} on {self.screen}"
        return row

    async def type(self, section: str, loc: tuple, text: str) -> None:
        """Focus the field, put in text (its last character typed as a key press), then leave it with Tab."""
        field = self.row(section, loc).query_one("#value", Input)
        field.focus()
        await self.pilot.pause()
        field.value = text[:-1]
        field.cursor_position = len(field.value)
        if text:
            await self.pilot.press(text[-1] if text[-1] != " " else "space")
        await self.pilot.press("tab")
        await self.pilot.pause()

    async def set(self, section: str, loc: tuple, value: Any) -> None:
        """Put a value in a field directly (as a paste would) and leave it."""
        row = self.row(section, loc)
        row.touched = True
        widget = row.query_one("#value")
        if isinstance(widget, Select):
            widget.value = value
        elif isinstance(widget, Switch):
            widget.value = bool(value)
        else:
            widget.value = str(value)
        await self.pilot.pause()

    async def secret(self, section: str, loc: tuple, mode: str, text: str = "") -> None:
        row = self.row(section, loc)
        row.query_one("#mode", Select).value = mode
        await self.pilot.pause()
        if mode == "type" and row.query("#paste") and row.query_one("#paste").display:
            await self.paste(row.query_one("#paste"), text)
            await self.pilot.press("tab")
        elif mode != "generate":
            field = row.query_one("#value", Input)
            field.focus()
            await self.pilot.pause()
            field.value = text[:-1]
            field.cursor_position = len(field.value)
            await self.pilot.pause()
            await self.pilot.press(text[-1])
            await self.pilot.press("tab")
        await self.pilot.pause()

    async def paste(self, widget, text: str) -> None:
        """A bracketed paste into `widget`, delivered as the terminal delivers it: to whatever has focus."""
        from textual import events

        widget.focus()
        await self.pilot.pause()
        self.app.post_message(events.Paste(text))
        await self.pilot.pause()

    async def choose(self, section: str, loc: tuple, tag: str) -> None:
        from screens.widgets.union_box import UnionBox

        for box in self.screen.forms[section].query(UnionBox):
            if box.question.loc == loc:
                box.query_one(Select).value = tag
                await self.pilot.pause()
                return
        raise AssertionError(f"no choice {loc} in {section}")

    def errors(self, section: str, loc: tuple) -> str:
        row = self.row(section, loc)
        return str(row.query_one(".field-error").render()) if row.has_class("-invalid") else ""

    def status(self) -> str:
        return str(self.screen.query_one("#status").render())

    async def next(self) -> None:
        await self.pilot.press("ctrl+n")
        await self.pilot.pause()
        await self.pilot.pause()

    async def show(self, page: str) -> None:
        """Go to a page directly and wait until it is the one on screen."""
        self.app.show(page)
        await self.wait_for(lambda: getattr(self.app.screen, "PAGE", "") == page, f"the {page} page")

    async def back(self) -> None:
        await self.pilot.press("ctrl+b")
        await self.pilot.pause()

    async def wait_for(self, condition, what: str, timeout: float = 10.0) -> None:
        import asyncio

        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout

        def holds() -> bool:
            from textual.css.query import NoMatches

            try:
                return bool(condition())
            except (NoMatches, AttributeError):  # the page asked for is not on screen yet (the flow moves there)
                return False

        while not holds():
            if loop.time() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            await self.pilot.pause(0.05)

    async def node(self, index: int, **values: str) -> None:
        from screens.widgets.items_editor import ItemsEditor

        editor = next(e for e in self.screen.query(ItemsEditor) if self.screen.forms["target"]._visible(e))
        while len(editor.lines) <= index:
            editor.query_one("#add-item").press()
            await self.pilot.pause()
            await self.pilot.pause()
        _line, rows, _item = editor.lines[index]
        for row in rows:
            if row.question.name in values:
                widget = row.query_one("#value")
                widget.value = values[row.question.name]
        await self.pilot.pause()


def screen_text(app) -> str:
    """The screen as lines of text, from the SVG screenshot (characters placed by their x position)."""
    import html
    import re

    svg = app.export_screenshot()
    rows: dict[float, list[tuple[float, str]]] = {}
    for match in re.finditer(r'<text class="[^"]*" x="([\d.]+)" y="([\d.]+)"[^>]*>(.*?)</text>', svg, re.DOTALL):
        rows.setdefault(float(match.group(2)), []).append((float(match.group(1)), html.unescape(match.group(3))))
    lines = []
    for y in sorted(rows):
        line = ""
        for x, text in sorted(rows[y]):
            line = line.ljust(round(x / 12.2)) + text
        lines.append(line.replace("\xa0", " ").rstrip())
    return "\n".join(lines)


def chart_skeleton(root, profile_name: str):
    """A folder with a minimal Chart.yaml at every chart path the profile names (what the pages check)."""
    from installer.profiles import release_profile

    for spec in release_profile(profile_name, ROOT).releases:
        chart = root / spec.chart
        chart.mkdir(parents=True, exist_ok=True)
        (chart / "Chart.yaml").write_text(f"apiVersion: v2\nname: {chart.name}\nversion: 0.1.0\n")
    return root
