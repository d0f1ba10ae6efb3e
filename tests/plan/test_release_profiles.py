"""A release profile has one name: its file's stem, which answers, the wizard and `upgrade --to` use."""
from __future__ import annotations

from pathlib import Path

import pytest

from installer.profiles import ProfileError, release_profile, release_profile_names

ROOT = Path(__file__).resolve().parents[2]
UPGRADE_PROFILES = ROOT / "tests" / "fixtures" / "upgrade" / "profiles"


def _site(tmp_path: Path, name: str, text: str) -> Path:
    folder = tmp_path / "profiles" / "releases"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.yaml").write_text(text)
    return tmp_path


def _lts_text() -> str:
    return (ROOT / "profiles" / "releases" / "digit-2.9-lts.yaml").read_text()


def test_every_profile_is_called_by_its_file_name(monkeypatch):
    monkeypatch.setenv("DIGIT_INSTALLER_PROFILE_PATH", f"{ROOT / 'tests' / 'fixtures' / 'profiles'}:{UPGRADE_PROFILES}")
    names = release_profile_names()
    assert {"digit-2.9-lts", "digit-sample", "digit-sample-a", "digit-sample-b", "digit-sample-c"} <= set(names)
    for name in names:
        assert release_profile(name).name == name


def test_a_derived_profile_is_called_by_its_own_name_not_its_base(tmp_path):
    base = _site(tmp_path, "digit-2.9-lts-site", "extends: digit-2.9-lts\ndevops_commit: abc1234\n")
    profile = release_profile("digit-2.9-lts-site", base)
    assert profile.name == "digit-2.9-lts-site" and profile.devops_commit == "abc1234"
    assert [r.name for r in profile.releases] == [r.name for r in release_profile("digit-2.9-lts").releases]


def test_a_separate_version_field_is_refused_naming_the_file(tmp_path):
    base = _site(tmp_path, "digit-2.9-lts-site", "extends: digit-2.9-lts\nversion: 2.9-lts-site\n")
    with pytest.raises(ProfileError, match=r"digit-2\.9-lts-site\.yaml: version: .*one name.*remove `version:`"):
        release_profile("digit-2.9-lts-site", base)


def test_a_name_other_than_the_file_name_is_refused(tmp_path):
    base = _site(tmp_path, "digit-mine", _lts_text())
    with pytest.raises(ProfileError, match=r"digit-mine\.yaml: name: 'digit-2\.9-lts' differs from the file's name"):
        release_profile("digit-mine", base)


def test_only_the_full_name_finds_a_profile(tmp_path):
    with pytest.raises(ProfileError, match=r"no release profile named '2\.9-lts' \(known: .*digit-2\.9-lts"):
        release_profile("2.9-lts")
    base = _site(tmp_path, "digit-site", "extends: 2.9-lts\n")
    with pytest.raises(ProfileError, match=r"no release profile named '2\.9-lts'"):
        release_profile("digit-site", base)


def test_a_copy_of_a_derived_profile_carries_its_bases(tmp_path):
    """An air-gap bundle copies the profile with every base it extends, so a site's own base travels too."""
    from types import SimpleNamespace

    from installer.bundle.create import copy_profile

    site = _site(tmp_path, "digit-site-base", "extends: digit-2.9-lts\ndevops_commit: abc1234\n")
    _site(tmp_path, "digit-site", "extends: digit-site-base\nremove_releases: [kibana]\n")
    out = tmp_path / "bundle"
    answers = SimpleNamespace(release=SimpleNamespace(version="digit-site"), base_dir=site)
    assert copy_profile(answers, out) == "digit-site.yaml"
    copied = sorted(p.name for p in (out / "profiles" / "releases").iterdir())
    assert copied == ["digit-2.9-lts.yaml", "digit-site-base.yaml", "digit-site.yaml"]
    profile = release_profile("digit-site", out)
    assert profile.devops_commit == "abc1234" and "kibana" not in [r.name for r in profile.releases]
