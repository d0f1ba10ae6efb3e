"""The wizard shows on the page what `validate` checks on the spot: a TLS key not of its certificate, a kubeconfig
context that is not in the kubeconfig, a host of dotted numbers that is no IPv4 address, an HTTPS git URL."""
from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.wizard.helpers import FQDN, Driver, make_site
from tests.wizard.test_walk import new_app

pytestmark = pytest.mark.timeout(120)


@pytest.mark.asyncio
async def test_a_tls_key_of_another_certificate_is_refused_on_the_domain_page(tmp_path):
    site = make_site(tmp_path)
    (site / "certs" / "stray.key").write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    app = new_app(site / "answers.yaml", pages=["domain"])
    async with app.run_test(size=(80, 24)) as pilot:
        d = Driver(app, pilot)
        await d.set("domain", ("fqdn",), FQDN)
        await d.choose("domain", ("tls",), "provided")
        await d.set("domain", ("tls", "provided", "cert"), "certs/tls.crt")
        await d.secret("domain", ("tls", "provided", "key"), "file", "certs/stray.key")
        await d.wait_for(lambda: "does not belong to the certificate" in d.errors("domain", ("tls", "provided", "key")),
                         "the key of another certificate refused")
        await d.next()
        assert d.screen.PAGE == "domain"
        await d.secret("domain", ("tls", "provided", "key"), "file", "certs/tls.key")
        await d.wait_for(lambda: not d.errors("domain", ("tls", "provided", "key")), "the certificate's own key accepted")


@pytest.mark.asyncio
async def test_a_context_not_in_the_kubeconfig_is_refused_on_the_target_page(tmp_path):
    site = make_site(tmp_path)
    (site / "kubeconfig").write_text("apiVersion: v1\nkind: Config\ncurrent-context: lab\n"
                                     "contexts:\n- name: lab\n  context: {cluster: c, user: u}\n")
    app = new_app(site / "answers.yaml", pages=["target"])
    async with app.run_test(size=(80, 24)) as pilot:
        d = Driver(app, pilot)
        await d.choose("target", (), "existing-cluster")
        await d.type("target", ("existing-cluster", "kubeconfig"), "kubeconfig")
        await d.type("target", ("existing-cluster", "context"), "digit-admin")
        await d.wait_for(lambda: "'digit-admin' is not in" in d.errors("target", ("existing-cluster", "context")),
                         "the unknown context refused")
        await d.type("target", ("existing-cluster", "context"), "lab")
        await d.wait_for(lambda: not d.errors("target", ("existing-cluster", "context")), "the listed context accepted")


@pytest.mark.asyncio
async def test_dotted_numbers_and_https_git_urls_are_refused_on_their_pages(tmp_path):
    site = make_site(tmp_path)
    app = new_app(site / "answers.yaml", pages=["database"])
    async with app.run_test(size=(80, 24)) as pilot:
        d = Driver(app, pilot)
        await d.choose("database", (), "external")
        await d.type("database", ("external", "host"), "10.228.210.300")
        await d.wait_for(lambda: "not a valid IPv4 address" in d.errors("database", ("external", "host")), "the bad address")
    app = new_app(site / "answers.yaml", pages=["credentials"])
    async with app.run_test(size=(80, 24)) as pilot:
        d = Driver(app, pilot)
        await d.wait_for(lambda: d.screen.PAGE == "credentials", "the credentials page")
        await d.type("config_repos", ("configs", "url"), "https://git.sdc.local/digit/configs.git")
        await d.wait_for(lambda: "git-sync here clones over SSH" in d.errors("config_repos", ("configs", "url")),
                         "the HTTPS URL refused")


def warning(d: Driver, section: str, loc: tuple) -> str:
    row = d.row(section, loc)
    return str(row.query_one(".field-warning").render()) if row.has_class("-warned") else ""


@pytest.mark.asyncio
async def test_a_variable_that_is_not_set_is_a_warning_on_its_page_and_on_review(tmp_path, monkeypatch):
    """`validate` warns when a referenced variable is not set; the page where it is named says so as it is
    entered (without holding Next), and Review lists it."""
    import shutil

    from screens.app import make_app
    from screens.state import Catalog, WizardState
    from tests.wizard.helpers import ROOT

    monkeypatch.delenv("DIGIT_WIZ_UNSET_PASSWORD", raising=False)
    monkeypatch.setenv("DIGIT_WIZ_SET_PASSWORD", "s3t-value")
    site = make_site(tmp_path)
    path = site / "answers.yaml"
    shutil.copy(ROOT / "assets" / "examples" / "sdc-vms.yaml", path)
    state = WizardState(path, catalog=Catalog.load(site))
    state.load(path)
    app = make_app(state, pages=["database"])
    app.animation_level = "none"
    async with app.run_test(size=(80, 24)) as pilot:
        d = Driver(app, pilot)
        await d.wait_for(lambda: d.screen.PAGE == "database", "the database page")
        await d.choose("database", (), "external")
        await d.set("database", ("external", "host"), "10.10.0.40")
        await d.set("database", ("external", "username"), "egov")
        await d.secret("database", ("external", "password"), "env", "DIGIT_WIZ_UNSET_PASSWORD")
        await d.wait_for(lambda: "environment variable DIGIT_WIZ_UNSET_PASSWORD is not set"
                         in warning(d, "database", ("external", "password")), "the unset variable warned about")
        assert d.errors("database", ("external", "password")) == "", "a warning, not an error"
        await d.secret("database", ("external", "password"), "env", "DIGIT_WIZ_SET_PASSWORD")
        await d.wait_for(lambda: warning(d, "database", ("external", "password")) == "", "a set variable is fine")
        await d.secret("database", ("external", "password"), "env", "DIGIT_WIZ_UNSET_PASSWORD")
        await d.wait_for(lambda: warning(d, "database", ("external", "password")) != "", "warned again")
        await d.next()
        await d.wait_for(lambda: d.screen.PAGE == "review", "Next goes on past a warning")
        from textual.widgets import Button

        problems = str(d.screen.query_one("#problems").render())
        assert "database.password: environment variable DIGIT_WIZ_UNSET_PASSWORD is not set" in problems
        assert not d.screen.query_one("#save", Button).disabled, "saving is not refused for a warning"
