"""A secret typed or pasted into the wizard is kept whole, and a private key that is not one is refused on the page."""
from __future__ import annotations

import os
import stat

import pytest

from installer.answers import load_answers
from screens.app import make_app
from screens.state import Catalog, WizardState
from tests.wizard.helpers import ROOT, Driver, make_site, openssh_private_key

pytestmark = pytest.mark.timeout(60)


def credentials_app(tmp_path):
    site = make_site(tmp_path)
    path = site / "answers.yaml"
    path.write_text((ROOT / "assets" / "examples" / "existing-cluster.yaml").read_text())
    state = WizardState(path, catalog=Catalog.load(site))
    state.load(path)
    app = make_app(state, pages=["credentials"])
    app.animation_level = "none"
    return app, path


@pytest.mark.asyncio
async def test_a_pasted_deploy_key_is_saved_whole(tmp_path):
    key = openssh_private_key()
    app, path = credentials_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        d = Driver(app, pilot)
        await d.secret("config_repos", ("ssh_key",), "type", key)
        paste = d.row("config_repos", ("ssh_key",)).query_one("#paste")
        paste.scroll_visible(animate=False)
        await pilot.pause()
        shown = app.export_screenshot().replace("&#160;", " ")
        assert key.splitlines()[2] not in shown and "7 lines" in shown
        assert d.errors("config_repos", ("ssh_key",)) == ""
        await d.next()
        assert app.screen.PAGE == "review", d.status()
        await pilot.click("#save")
        await d.wait_for(lambda: "Saved" in d.status(), "the save")
    saved = load_answers(path)
    key_file = saved.config_repos.ssh_key.path(path.parent)
    assert key_file.read_text() == key
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert key.splitlines()[1] not in path.read_text()


@pytest.mark.asyncio
async def test_keys_typed_line_by_line_are_kept_whole(tmp_path):
    """A terminal without bracketed paste delivers a paste as keystrokes: newlines arrive as Enter or Ctrl+J."""
    key = openssh_private_key()
    app, _path = credentials_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        row = Driver(app, pilot).row("config_repos", ("ssh_key",))
        row.query_one("#mode").value = "type"
        await pilot.pause()
        row.query_one("#paste").focus()
        await pilot.pause()
        lines = key.splitlines()
        for index, line in enumerate(lines):
            await pilot.press(*line)
            await pilot.press("enter" if index % 2 else "ctrl+j")
        await pilot.pause()
        assert app.state.secrets.values["config_repos.ssh_key"] == key


@pytest.mark.asyncio
@pytest.mark.parametrize("typed, refused", [
    ("-----BEGIN OPENSSH PRIVATE KEY-----", "cut short"),
    ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHk ops@laptop", "public key"),
])
async def test_a_key_that_is_not_a_private_key_is_refused_on_the_page(tmp_path, typed, refused):
    app, _path = credentials_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        d = Driver(app, pilot)
        await d.secret("config_repos", ("ssh_key",), "type", typed)
        assert refused in d.errors("config_repos", ("ssh_key",))
        await d.next()
        assert app.screen.PAGE == "credentials" and refused in d.status()


@pytest.mark.asyncio
async def test_a_key_file_that_is_not_a_private_key_is_refused_on_the_page(tmp_path):
    app, _path = credentials_app(tmp_path)
    (tmp_path / "keys" / "git-sync.pub").write_text("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHk ops@laptop\n")
    async with app.run_test(size=(80, 24)) as pilot:
        d = Driver(app, pilot)
        await d.secret("config_repos", ("ssh_key",), "file", "keys/git-sync.pub")
        assert "public key" in d.errors("config_repos", ("ssh_key",))
        await d.secret("config_repos", ("ssh_key",), "file", "keys/git-sync")
        assert d.errors("config_repos", ("ssh_key",)) == ""
