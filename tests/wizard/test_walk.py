"""Walk every page of the wizard with pilot, as an operator would, and check what it saves."""
from __future__ import annotations

import os
import stat

import pytest

from installer.answers import load_answers
from screens.app import make_app
from screens.state import Catalog, WizardState
from tests.wizard.helpers import CHARTS, FQDN, Driver, make_site, pem_private_key

pytestmark = pytest.mark.timeout(120)

TYPED_TLS_KEY = pem_private_key()


def new_app(path, **options):
    state = WizardState(path, catalog=Catalog.load(path.parent))
    app = make_app(state, **options)
    app.animation_level = "none"
    return app


async def fill_common(d: Driver, kind: str, tmp) -> None:
    """Pages after the target, with an invalid value first on each."""
    assert d.screen.PAGE == "sizing"
    profile = "sdc-dev" if kind == "sdc-vms" else "dev"
    await d.set("sizing", ("profile",), profile)
    await d.type("sizing", ("overrides", "workers"), "1")
    assert "below profile" in d.errors("sizing", ("overrides", "workers"))
    await d.next()
    assert d.screen.PAGE == "sizing" and "Next is blocked" in d.status()
    await d.type("sizing", ("overrides", "workers"), "6")
    assert d.errors("sizing", ("overrides", "workers")) == ""
    await d.next()

    assert d.screen.PAGE == "domain"
    await d.type("domain", ("fqdn",), "not a domain")
    assert "fully qualified" in d.errors("domain", ("fqdn",))
    await d.type("domain", ("fqdn",), FQDN)
    await d.choose("domain", ("tls",), "provided")
    await d.set("domain", ("tls", "provided", "cert"), "certs/other.crt")
    await d.wait_for(lambda: "not " + FQDN in d.errors("domain", ("tls", "provided", "cert")), "certificate mismatch")
    await d.type("domain", ("tls", "provided", "cert"), "certs/tls.crt")
    await d.wait_for(lambda: d.errors("domain", ("tls", "provided", "cert")) == "", "certificate accepted")
    await d.secret("domain", ("tls", "provided", "key"), "type", TYPED_TLS_KEY)
    assert TYPED_TLS_KEY.splitlines()[1] not in d.app.export_screenshot()
    await d.next()

    assert d.screen.PAGE == "database"
    if kind == "sdc-vms":
        await d.set("database", ("external", "host"), "10.10.0.40")
        await d.set("database", ("external", "username"), "egov")
        await d.secret("database", ("external", "password"), "env", "1BAD")
        await d.next()
        assert d.screen.PAGE == "database" and "not a valid environment variable name" in d.status()
        await d.secret("database", ("external", "password"), "env", "DIGIT_DB_PASSWORD")
    else:
        await d.choose("database", (), "in-cluster")
    await d.next()

    assert d.screen.PAGE == "credentials"
    await d.set("config_repos", ("mdms", "url"), "git@git.sdc.local:digit/egov-mdms-data.git")
    await d.set("config_repos", ("mdms", "branch"), "uat")
    await d.set("config_repos", ("configs", "url"), "git@git.sdc.local:digit/configs.git")
    await d.set("config_repos", ("configs", "branch"), "uat")
    await d.secret("config_repos", ("ssh_key",), "file", "keys/git-sync")
    await d.next()

    assert d.screen.PAGE == "release"
    await d.next()
    assert d.screen.PAGE == "release" and "charts" in d.status()
    await d.type("release", ("charts",), str(CHARTS))
    await d.next()
    assert d.screen.PAGE == "release" and "chart(s) of release digit-2.9-lts missing" in d.status()
    await d.set("release", ("version",), "digit-sample")  # the sample tree's own profile, beside the answers
    if kind == "sdc-vms":
        from textual.widgets import SelectionList

        await d.wait_for(lambda: "m_pgr" in d.screen.query_one("#modules", SelectionList).selected, "the profile's modules")
        d.screen.query_one("#modules", SelectionList).select("business")
        await d.wait_for(lambda: "business" in str(d.screen.query_one("#modules-explained").render()), "the explanation")
        explained = str(d.screen.query_one("#modules-explained").render())
        assert "core, needed by business, m_pgr" in explained and "backbone, needed by core" in explained
    await d.next()

    assert d.screen.PAGE == "monitoring"
    await d.type("monitoring", ("alerts", "email"), "ops")
    assert "not an email" in d.errors("monitoring", ("alerts", "email"))
    await d.type("monitoring", ("alerts", "email"), "ops@example.gov.in")
    await d.set("ci", ("jenkins",), True)
    await d.next()
    assert d.screen.PAGE == "review"


async def walk_back_and_forth(d: Driver) -> None:
    """Back to the target page and forward again: nothing typed may be lost."""
    pages = []
    while d.screen.PAGE != "target":
        await d.back()
        pages.append(d.screen.PAGE)
    assert pages == ["monitoring", "release", "credentials", "database", "domain", "sizing", "target"]
    assert d.row("name", ()).value() == "punjab-uat"
    while d.screen.PAGE != "review":
        await d.next()
        assert "blocked" not in d.status(), d.status()


async def save_on_review(d: Driver, tmp) -> None:
    await d.pilot.click("#save")
    await d.wait_for(lambda: "Saved" in d.status(), "the save")


@pytest.mark.asyncio
async def test_sdc_vms_walk(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    site = make_site(tmp_path)
    path = site / "answers.yaml"
    app = new_app(path)
    async with app.run_test(size=(80, 24)) as pilot:
        d = Driver(app, pilot)
        assert d.screen.PAGE == "welcome"
        await d.next()
        assert d.screen.PAGE == "target"
        await d.next()
        assert "Next is blocked" in d.status() and d.screen.PAGE == "target"
        await d.type("name", (), "Punjab UAT")
        assert "lower-case" in d.errors("name", ())
        await d.type("name", (), "punjab-uat")
        assert d.errors("name", ()) == ""
        await d.node(0, name="cp1", host="10.10.0.11", role="control-plane")
        await d.node(1, name="w1", host="bad host!", role="worker")
        await d.set("target", ("sdc-vms", "ssh", "user"), "digit")
        await d.secret("target", ("sdc-vms", "ssh", "private_key"), "file", "keys/id_ed25519")
        await d.next()
        assert d.screen.PAGE == "target" and "neither an IP address" in d.status()
        await d.node(1, host="10.10.0.21")
        await d.next()
        await fill_common(d, "sdc-vms", tmp_path)
        await walk_back_and_forth(d)
        assert TYPED_TLS_KEY.splitlines()[1] not in app.export_screenshot()
        assert TYPED_TLS_KEY not in app.screen.yaml_text and "answers.secrets/domain.tls.key" in app.screen.yaml_text
        await save_on_review(d, tmp_path)

    saved = load_answers(path)
    held = app.state.validate()
    assert saved.model_dump() == held.model_dump()
    assert saved.name == "punjab-uat" and saved.target.kind == "sdc-vms"
    assert [(n.name, n.host, n.role) for n in saved.target.nodes] == [("cp1", "10.10.0.11", "control-plane"),
                                                                      ("w1", "10.10.0.21", "worker")]
    assert saved.target.ssh.user == "digit" and saved.target.ssh.private_key.file == "keys/id_ed25519"
    assert saved.sizing.profile == "sdc-dev" and saved.sizing.overrides.workers == 6
    assert saved.domain.tls.mode == "provided" and saved.domain.tls.cert == site / "certs" / "tls.crt"
    assert saved.database.mode == "external" and saved.database.password.env == "DIGIT_DB_PASSWORD"
    assert saved.release.version == "digit-sample" and saved.release.charts == CHARTS
    assert saved.release.modules == ["core", "business", "m_pgr"]
    assert saved.monitoring.alerts.email == "ops@example.gov.in" and saved.ci.jenkins is True
    assert saved.credentials.enc_master_password.generate is True
    text = path.read_text()
    assert TYPED_TLS_KEY not in text
    key_file = saved.domain.tls.key.path(site)
    assert key_file.read_text() == TYPED_TLS_KEY
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600


@pytest.mark.asyncio
async def test_existing_cluster_walk_and_draft(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    site = make_site(tmp_path)
    path = site / "answers.yaml"
    app = new_app(path)
    async with app.run_test(size=(80, 24)) as pilot:
        d = Driver(app, pilot)
        await d.next()
        await d.type("name", (), "demo-cluster")
        await d.choose("target", (), "existing-cluster")
        await d.next()
        assert d.screen.PAGE == "target" and "target.kubeconfig: required (not filled in yet)" in d.status()
        await d.type("target", ("existing-cluster", "kubeconfig"), "kubeconfig")
        await d.set("target", ("existing-cluster", "context"), "digit-admin")
        await d.node(0, name="n1", host="192.168.56.11", role="worker")
        await d.next()
        # the first machine switched SSH access on: what it needs is asked for
        assert d.screen.PAGE == "target" and "target.ssh.user: required" in d.status()
        await d.set("target", ("existing-cluster", "ssh", "user"), "ubuntu")
        await d.secret("target", ("existing-cluster", "ssh", "private_key"), "env", "DIGIT_SSH_KEY")
        await d.next()
        assert d.screen.PAGE == "sizing", d.status()

        await pilot.press("ctrl+s")
        await d.wait_for(path.exists, "the draft")
        draft = path.read_text()
        assert "draft" in draft and "demo-cluster" in draft and "existing-cluster" in draft
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600

        await fill_common(d, "existing-cluster", tmp_path)
        await save_on_review(d, tmp_path)

    saved = load_answers(path)
    assert saved.model_dump() == app.state.validate().model_dump()
    assert saved.target.kind == "existing-cluster" and saved.target.kubeconfig == site / "kubeconfig"
    assert saved.target.context == "digit-admin" and saved.target.ssh.private_key.env == "DIGIT_SSH_KEY"
    assert saved.database.mode == "in-cluster" and saved.database.password.generate is True
    assert saved.release.version == "digit-sample" and saved.release.modules == []
    assert "# draft" not in path.read_text()


@pytest.mark.asyncio
async def test_help_on_a_field_and_quit_saves_a_draft(tmp_path):
    path = make_site(tmp_path) / "answers.yaml"
    app = new_app(path, pages=["target"])
    async with app.run_test(size=(80, 24)) as pilot:
        d = Driver(app, pilot)
        await d.type("name", (), "kept-on-quit")
        d.row("target", ("sdc-vms", "ssh", "user")).query_one("#value").focus()
        await pilot.press("f1")
        await pilot.pause()
        help_text = " ".join(str(w.render()) for w in app.screen.query("Label, Static"))
        assert "SSH user" in help_text and "passwordless sudo" in help_text and "target.ssh.user" in help_text
        await pilot.press("escape")
        await pilot.pause()
        inline = d.row("target", ("sdc-vms", "ssh", "private_key")).question.help
        assert "{file:" not in inline, "the form's help speaks of fields, not YAML"
        d.row("target", ("sdc-vms", "ssh", "private_key")).query_one("#mode").focus()
        await pilot.press("f1")
        await pilot.pause()
        help_text = " ".join(str(w.render()) for w in app.screen.query("Label, Static"))
        assert "OpenSSH or PEM" in help_text and "environment variable" in help_text, "F1 explains more than the inline help"
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("ctrl+q")
        await pilot.pause()
        await pilot.click("#save-quit")
        await d.wait_for(path.exists, "the draft on quit")
    assert "kept-on-quit" in path.read_text()


@pytest.mark.asyncio
async def test_domain_checks_certificate_and_key_files(tmp_path):
    site = make_site(tmp_path)
    app = new_app(site / "answers.yaml", pages=["domain"])
    async with app.run_test(size=(80, 24)) as pilot:
        d = Driver(app, pilot)
        await d.set("domain", ("fqdn",), FQDN)
        await d.choose("domain", ("tls",), "provided")
        await d.set("domain", ("tls", "provided", "cert"), "certs/missing.crt")
        await d.secret("domain", ("tls", "provided", "key"), "file", "certs/other.crt")
        await d.wait_for(lambda: "does not exist" in d.errors("domain", ("tls", "provided", "cert")), "the missing certificate")
        await d.wait_for(lambda: "a certificate, not a private key" in d.errors("domain", ("tls", "provided", "key")), "the bad key")
        await d.set("domain", ("tls", "provided", "cert"), "certs/tls.crt")
        await d.secret("domain", ("tls", "provided", "key"), "file", "certs/tls.key")
        await d.wait_for(lambda: not d.errors("domain", ("tls", "provided", "key"))
                         and not d.errors("domain", ("tls", "provided", "cert")), "both accepted")
        await d.next()
        assert d.screen.PAGE == "review"


@pytest.mark.asyncio
async def test_review_does_not_say_saved_after_an_answer_changed(tmp_path):
    """Back on Review after changing an answer, the earlier "Saved …" line stayed, though these answers were not."""
    import shutil

    from tests.wizard.helpers import ROOT

    site = make_site(tmp_path)
    path = site / "answers.yaml"
    shutil.copy(ROOT / "assets" / "examples" / "sdc-vms.yaml", path)
    state = WizardState(path, catalog=Catalog.load(site))
    state.load(path)
    app = make_app(state, pages=["sizing"])
    app.animation_level = "none"
    async with app.run_test(size=(80, 24)) as pilot:
        d = Driver(app, pilot)
        await d.next()
        assert d.screen.PAGE == "review"
        await d.pilot.click("#save")
        await d.wait_for(lambda: "Saved" in d.status(), "the save")
        await d.back()
        await d.wait_for(lambda: d.screen.PAGE == "sizing", "the sizing page")
        await d.type("sizing", ("overrides", "workers"), "6")
        await d.next()
        await d.wait_for(lambda: d.screen.PAGE == "review", "review again")
        assert "Saved" not in d.status(), d.status()
        await d.back()
        await d.wait_for(lambda: d.screen.PAGE == "sizing", "the sizing page")
        await d.next()
        await d.wait_for(lambda: d.screen.PAGE == "review", "review again")
        await d.pilot.click("#save")
        await d.wait_for(lambda: "Saved" in d.status(), "the second save")
    assert "workers: 6" in path.read_text()
