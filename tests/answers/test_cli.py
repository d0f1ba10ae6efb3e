"""The command line contract: validate, schema, exit codes, --help everywhere."""
import json
import re

import pytest

from tests.answers.conftest import EXAMPLES, ROOT, run_cli

PROBLEM_LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<path>[\w.\[\]-]*): (?P<message>.+)$")


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_every_example_validates_and_names_its_schema(example):
    result = run_cli("validate", str(example))
    assert result.returncode == 0, result.stderr
    assert "valid" in result.stdout
    assert example.read_text().startswith("# yaml-language-server: $schema=../answers.schema.json")


def test_examples_cover_every_target_kind():
    from installer.answers import TARGET_KINDS, load_answers

    kinds = {load_answers(example).target.kind for example in EXAMPLES}
    assert kinds == set(TARGET_KINDS)


def test_committed_schema_is_current():
    result = run_cli("schema")
    assert result.returncode == 0
    committed = (ROOT / "assets" / "answers.schema.json").read_text()
    assert json.loads(result.stdout) == json.loads(committed), "run ./install.sh schema --out assets/answers.schema.json"


def test_schema_describes_sections_and_refuses_unknown_keys():
    schema = json.loads(run_cli("schema").stdout)
    assert schema["additionalProperties"] is False
    for section in ("target", "sizing", "domain", "database", "registry", "release", "config_repos", "monitoring", "ci"):
        assert section in schema["properties"]
    assert set(schema["required"]) >= {"version", "name", "target", "sizing", "domain", "database", "release"}


def test_validate_reports_every_problem_at_once_with_positions(write):
    bad = write(
        "version: 1\n"
        "name: Bad_Name\n"  # line 2
        "target:\n"
        "  kind: sdc-vms\n"
        "  nodes:\n"
        "    - {host: 10.0.0.1, role: worker}\n"  # line 6: no control plane (rule)
        "    - {host: 'not a host', role: worker, colour: red}\n"  # line 7
        "  ssh:\n"
        "    user: digit\n"
        "    private_key: hunter2-literal\n"  # line 10
        "sizing: {profile: sdc-dev}\n"
        "domian: {fqdn: x.example.org, tls: {mode: self-signed}}\n"  # line 12
        "database: {mode: in-cluster}\n"
        "release: {charts: charts}\n"
        "config_repos:\n"
        "  mdms: {url: a, branch: b}\n"
        "  configs: {url: a, branch: b}\n"
        "  ssh_key: {env: KEY}\n"
    )
    result = run_cli("validate", str(bad))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    parsed = [PROBLEM_LINE.match(line) for line in lines]
    assert all(parsed), lines
    found = {(m["line"], m["path"]) for m in parsed}
    assert ("2", "name") in found
    assert ("7", "target.nodes[1].host") in found
    assert ("7", "target.nodes[1].colour") in found
    assert ("10", "target.ssh.private_key") in found
    assert ("12", "domian") in found
    assert any(m["path"] == "domain" and "missing" in m["message"] for m in parsed)
    assert any("did you mean 'domain'" in m["message"] for m in parsed)
    assert "hunter2-literal" not in result.stderr + result.stdout


def test_usage_errors_exit_2():
    assert run_cli("--no-such-flag").returncode == 2
    assert run_cli("validate").returncode == 2
    assert run_cli("--answers", "x.yaml", "--sections", "domain").returncode == 2


def test_without_a_terminal_the_wizard_points_to_answers():
    result = run_cli()
    assert result.returncode == 2
    assert "--answers" in result.stderr


@pytest.mark.parametrize("command", ["validate", "schema", "preflight", "plan", "status", "support-bundle"])
def test_every_subcommand_has_help(command):
    result = run_cli(command, "--help")
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout


def test_help_and_version():
    result = run_cli("--help")
    assert result.returncode == 0 and "--answers" in result.stdout and "Exit codes" in result.stdout
    version = run_cli("--version")
    assert version.returncode == 0 and version.stdout.startswith("digit-installer ")


def test_help_does_not_load_heavy_libraries():
    import subprocess
    import sys

    code = (
        "import sys, contextlib, io\n"
        "from installer.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try: main(['--help'])\n"
        "    except SystemExit: pass\n"
        "heavy = [m for m in ('kubernetes', 'paramiko', 'helm_python', 'psycopg', 'textual', 'pydantic', 'ruamel') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""


def test_rules_are_reported_alongside_structural_mistakes(write):
    """A file with a typo and an unknown profile and module shows all three at once."""
    bad = write(
        "version: 1\n"
        "name: demo\n"
        "target: {kind: existing-cluster, kubeconfig: kc, colour: red}\n"  # line 3: unknown key
        "sizing: {profile: enormous}\n"  # line 4: rule: no such profile
        "domain: {fqdn: digit.example.org, tls: {mode: self-signed}}\n"
        "database: {mode: in-cluster}\n"
        "release: {charts: charts, modules: [core, m_nope]}\n"  # line 7: rule: no such module
        "config_repos: {mdms: {url: a, branch: b}, configs: {url: a, branch: b}, ssh_key: {env: K}}\n"
    )
    result = run_cli("validate", str(bad))
    assert result.returncode == 2
    found = {(m["line"], m["path"]) for m in map(PROBLEM_LINE.match, result.stderr.strip().splitlines())}
    assert found == {("3", "target.colour"), ("4", "sizing.profile"), ("7", "release.modules[1]")}, result.stderr
