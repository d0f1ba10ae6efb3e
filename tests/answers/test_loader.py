"""Loading, rules, secrets and saving of the answers file."""
import os
import re
import stat

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from installer import redact
from installer.answers import AnswersError, SecretUnavailable, load_answers, load_tree, save_answers
from tests.answers.conftest import ROOT, run_cli


def problems_of(path):
    with pytest.raises(AnswersError) as caught:
        load_answers(path)
    return caught.value.problems


MALFORMED = {
    "wrong-type": ("version: 1\nname: x\ntarget: [1, 2]\n", 3, "target"),
    "unknown-top-key": ("version: 1\nname: demo\nfavourite: blue\n", 3, "favourite"),
    "literal-secret": (None, None, "database.password"),
    "bad-yaml": ("version: 1\nname: demo\n  bad: indent\n", 3, ""),
    "empty": ("", 1, ""),
    "only-comments": ("# nothing here\n", 1, ""),
    "scalar-document": ("just a string\n", 1, ""),
    "duplicate-key": ("version: 1\nname: a\nname: b\n", 3, ""),
    "tab-indent": ("version: 1\nname:\n\t- x\n", 3, ""),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_files_give_positioned_errors_and_exit_2(case, write, valid_text):
    text, line, path = MALFORMED[case]
    if case == "literal-secret":
        text = valid_text.replace("database:\n  mode: in-cluster\n", "database:\n  mode: in-cluster\n  password: s3cret-literal\n")
        line = text.splitlines().index("  password: s3cret-literal") + 1
    answers = write(text)
    found = problems_of(answers)
    assert found, case
    assert any(p.line == line for p in found), [str(p) for p in found]
    assert any(p.key_path == path for p in found), [str(p) for p in found]
    result = run_cli("validate", str(answers))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(f"{answers}:")
    assert "s3cret-literal" not in result.stderr


def test_binary_garbage(write):
    answers = write(bytes(range(256)) * 4)
    found = problems_of(answers)
    assert "binary" in found[0].message
    assert run_cli("validate", str(answers)).returncode == 2


def test_non_utf8_names_the_line(write):
    answers = write(b"version: 1\nname: caf\xe9\n")
    (problem,) = problems_of(answers)
    assert (problem.line, problem.col) == (2, 10)
    assert "UTF-8" in problem.message


def test_ten_megabyte_file_is_refused_without_reading_it(write):
    answers = write(b"# " + b"x" * (10 * 1024 * 1024) + b"\n")
    (problem,) = problems_of(answers)
    assert "at most" in problem.message
    assert run_cli("validate", str(answers)).returncode == 2


def test_deep_nesting(write):
    answers = write("version: 1\nname: " + "[" * 1500 + "]" * 1500 + "\n")
    found = problems_of(answers)
    assert "nesting" in found[0].message or "deeper" in found[0].message
    result = run_cli("validate", str(answers))
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_alias_bomb_is_bounded(write):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i-1}"] * 10) + "]")
    answers = write("\n".join(lines) + "\n")
    found = problems_of(answers)
    assert "values" in found[0].message


def test_missing_file_and_directory(tmp_path):
    assert "no such file" in problems_of(tmp_path / "nope.yaml")[0].message
    assert "directory" in problems_of(tmp_path)[0].message


def test_newer_version_is_refused_with_advice(write, valid_text):
    answers = write(valid_text.replace("version: 1", "version: 7"))
    (problem,) = problems_of(answers)
    assert problem.key_path == "version" and "upgrade the installer" in problem.message


@pytest.mark.parametrize(
    "change, path, words",
    [
        (("role: worker}", "role: database}"), "target.nodes", "control-plane"),
        (("profile: dev", "profile: huge"), "sizing.profile", "no sizing profile"),
        (("profile: dev", "profile: sdc-dev\n  overrides: {workers: 2}"), "sizing.overrides.workers", "below"),
        (("charts: charts", "charts: charts\n  modules: [core, m_nope]"), "release.modules[1]", "no module"),
        (("charts: charts", "charts: charts\n  modules: [backbone]"), "release.modules[0]", "not chosen by name"),
        (("mode: in-cluster", "mode: managed"), "database.mode", "managed database"),
        (("tls: {mode: self-signed}", "tls: {mode: provided, cert: c.pem}"), "domain.tls.key", "missing"),
        (("tls: {mode: self-signed}", "tls: {mode: letsencrypt, email: nope}"), "domain.tls.email", "email"),
    ],
)
def test_cross_field_rules_name_the_key(change, path, words, write, valid_text):
    old, new = change
    if old == "role: worker}":
        text = valid_text.replace(old, new).replace("role: worker", "role: database")
        text = text.replace("    - {name: n1", "    - {name: n1").replace(
            "target:\n  kind: existing-cluster", "target:\n  kind: sdc-vms").replace(
            "  kubeconfig: kubeconfig\n  context: digit-admin\n  storage_class: standard\n", ""
        )
    else:
        assert old in valid_text
        text = valid_text.replace(old, new, 1)
    found = problems_of(write(text))
    assert any(p.key_path.startswith(path) and words in p.message for p in found), [str(p) for p in found]


def test_undersized_overrides_pass_when_allowed(write, valid_text):
    text = valid_text.replace("profile: dev", "profile: dev\n  overrides: {workers: 1, worker_vcpu: 2}\n  allow_undersized: true")
    answers = load_answers(write(text))
    assert answers.sizing.overrides.workers == 1


def test_module_names_come_from_the_release_profile(write, valid_text):
    text = valid_text.replace("charts: charts", "charts: charts\n  modules: [m_pgr, business]")
    assert load_answers(write(text)).release.modules == ["m_pgr", "business"]


def test_a_release_profile_is_named_by_its_one_name(write, valid_text):
    assert "version: digit-2.9-lts" in valid_text
    answers = load_answers(write(valid_text))
    assert answers.release.version == "digit-2.9-lts"


def test_the_bare_version_of_older_files_reads_and_saves_as_the_profile_name(write, valid_text, tmp_path):
    """Files from when release.version held `2.9-lts` keep loading; saving writes the one name."""
    source = write(valid_text.replace("version: digit-2.9-lts", "version: 2.9-lts  # from an older installer"))
    answers = load_answers(source)
    assert answers.release.version == "digit-2.9-lts"
    tree, _ = load_tree(source)
    save_answers(answers, source, tree=tree)
    text = source.read_text()
    assert re.search(r"^  version: digit-2\.9-lts +# from an older installer$", text, re.MULTILINE), text
    assert run_cli("validate", str(source)).returncode == 0


def test_an_unknown_release_profile_is_refused_where_it_is_named(write, valid_text):
    text = valid_text.replace("version: digit-2.9-lts", "version: digit-9.9")
    answers = write(text)
    [problem] = problems_of(answers)
    assert problem.key_path == "release.version"
    assert (problem.line, problem.col) == (text.splitlines().index("  version: digit-9.9") + 1, 3)
    assert "no release profile named 'digit-9.9'" in problem.message and "digit-2.9-lts" in problem.message
    result = run_cli("validate", str(answers))
    assert result.returncode == 2 and result.stderr.startswith(f"{answers}:{problem.line}:3: release.version: ")


def test_a_site_profile_of_the_bare_name_is_not_renamed(write, valid_text, tmp_path):
    """Only a name with no profile of its own is read as digit-<name>: a site's own `lts-site` stays itself."""
    site = tmp_path / "profiles" / "releases"
    site.mkdir(parents=True)
    lts = (ROOT / "profiles" / "releases" / "digit-2.9-lts.yaml").read_text().replace("name: digit-2.9-lts\n", "")
    (site / "lts-site.yaml").write_text(lts)
    answers = load_answers(write(valid_text.replace("version: digit-2.9-lts", "version: lts-site")))
    assert answers.release.version == "lts-site"


def test_secret_references_resolve_and_register_for_masking(write, valid_text, tmp_path, monkeypatch):
    redact.forget_all()
    (tmp_path / "git.key").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nabcdefgh12345678\n-----END OPENSSH PRIVATE KEY-----\n")
    text = valid_text.replace("ssh_key: {env: DIGIT_GIT_SSH_KEY}", "ssh_key: {file: git.key}")
    answers = load_answers(write(text))
    key = answers.secret(answers.config_repos.ssh_key)
    assert key.endswith("-----\n")
    assert redact.mask("log line abcdefgh12345678 end") == "log line ****** end"
    monkeypatch.setenv("DIGIT_SSH_KEY", "canary-ssh-4242")
    assert answers.secret(answers.target.ssh.private_key) == "canary-ssh-4242"
    assert "canary" not in redact.mask("value canary-ssh-4242")
    monkeypatch.delenv("DIGIT_SSH_KEY")
    with pytest.raises(SecretUnavailable, match="DIGIT_SSH_KEY is not set"):
        answers.secret(answers.target.ssh.private_key)
    assert answers.secret(answers.credentials.enc_master_password) is None  # generate: the secret store fills it
    assert answers.credentials.enc_master_password.generate is True


def test_paths_are_absolute_relative_to_the_answers_file(write, valid_text, tmp_path):
    answers = load_answers(write(valid_text))
    assert answers.target.kubeconfig == tmp_path / "kubeconfig"
    assert answers.release.charts == tmp_path / "charts"
    assert answers.base_dir == tmp_path


def test_save_keeps_comments_order_and_is_private(write, valid_text, tmp_path):
    source = write("# operator's note at the top\n" + valid_text.replace("name: demo-cluster", "name: demo-cluster  # keep me"))
    answers = load_answers(source)
    tree, _ = load_tree(source)
    changed = answers.model_copy(update={"name": "renamed"})
    target = tmp_path / "out.yaml"
    save_answers(changed, target, tree=tree)
    text = target.read_text()
    assert "# operator's note at the top" in text
    assert re.search(r"^name: renamed +# keep me$", text, re.MULTILINE)
    assert "credentials:" not in text  # defaults the operator never wrote are not added
    assert text.index("target:") < text.index("sizing:") < text.index("domain:")
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    again = load_answers(target)
    assert again.name == "renamed"
    assert again.model_dump() == changed.model_dump()
    assert "kubeconfig: kubeconfig" in text  # still relative


def test_fresh_save_round_trips_every_example(tmp_path):
    for example in sorted((ROOT / "assets" / "examples").glob("*.yaml")):
        answers = load_answers(example)
        out = tmp_path / example.name
        save_answers(answers, out)
        assert out.read_text().startswith("# yaml-language-server: $schema=")
        assert load_answers(out).model_dump(exclude={"target": {"kubeconfig"}, "release": {"charts"}}) == answers.model_dump(
            exclude={"target": {"kubeconfig"}, "release": {"charts"}}
        )


def test_save_never_leaves_a_partial_file(tmp_path, valid_text, write):
    answers = load_answers(write(valid_text))
    target = tmp_path / "same.yaml"
    target.write_text("original\n")

    class Boom(Exception):
        pass

    import installer.answers.save as loader

    original = loader.dump_yaml

    def failing(*args, **kwargs):
        raise Boom()

    loader.dump_yaml = failing
    try:
        with pytest.raises(Boom):
            save_answers(answers, target)
    finally:
        loader.dump_yaml = original
    assert target.read_text() == "original\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


# ---------------------------------------------------------------- property-based


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=400))
def test_any_bytes_give_answers_or_a_positioned_error(tmp_path, data):
    path = tmp_path / "fuzz.yaml"
    path.write_bytes(data)
    try:
        load_answers(path)
    except AnswersError as exc:
        assert exc.problems and all(p.line >= 1 and p.col >= 1 for p in exc.problems)


_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20))
_documents = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=20)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(section=st.sampled_from(["target", "sizing", "domain", "database", "registry", "release", "config_repos",
                                "monitoring", "ci", "name", "version"]), value=_documents)
def test_any_value_in_any_section_gives_answers_or_problems(tmp_path, valid_text, section, value):
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe")
    data = yaml.load(valid_text)
    data[section] = value
    path = tmp_path / "mutated.yaml"
    with path.open("w") as handle:
        yaml.dump(data, handle)
    try:
        load_answers(path)
    except AnswersError as exc:
        assert all(p.line >= 1 for p in exc.problems)
        if exc.problems[0].message.startswith("invalid YAML"):
            return  # the dumper itself can emit YAML a parser refuses (e.g. a key ':0'); positioned, so fine
        assert any(p.key_path.split(".")[0].split("[")[0] == section for p in exc.problems), [str(p) for p in exc.problems]
