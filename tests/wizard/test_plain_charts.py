"""Line mode checks the chart folder after the release questions and after monitoring and CI, as the pages do:
a profile, or a switch, whose charts the folder lacks is asked again, naming the charts (pty at 80 columns)."""
from __future__ import annotations

import shutil

import pexpect
import pytest

from installer.answers import load_answers
from tests.wizard.helpers import CHARTS, ROOT, make_site
from tests.wizard.test_plain import DOWN, answer, confirm, spawn

pytestmark = pytest.mark.timeout(90)


def test_line_mode_asks_the_release_and_the_switches_again_while_the_chart_folder_lacks_their_charts(tmp_path):
    site = make_site(tmp_path / "site")
    charts = tmp_path / "charts"
    shutil.copytree(CHARTS, charts, symlinks=True)
    shutil.rmtree(charts / "monitoring" / "jaeger")
    shutil.rmtree(charts / "ci")
    nowhere = tmp_path / "nowhere"
    # the example file: profile digit-2.9-lts, monitoring and tracing on, Jenkins off
    text = (ROOT / "assets" / "examples" / "sdc-vms.yaml").read_text()
    (site / "answers.yaml").write_text(text.replace("/opt/digit/DIGIT-DevOps/deploy-as-code/charts", str(nowhere)))
    child = spawn(site, "--answers", "answers.yaml", "--interactive", "--sections", "release,monitoring")

    answer(child, "Release profile")                           # digit-2.9-lts, as the file says
    answer(child, "Chart source directory")                    # a folder that is not there
    answer(child, "Air-gap bundle")
    answer(child, "Modules to deploy")
    child.expect(f"release.charts: {nowhere} does not exist")
    child.expect("Please answer this part again")

    answer(child, "Release profile")
    child.expect("Chart source directory")
    child.sendcontrol("u")
    child.send(f"{charts}\r")
    answer(child, "Air-gap bundle")
    answer(child, "Modules to deploy")
    child.expect(r"release.charts: (\d+) chart\(s\) of release digit-2.9-lts missing in " + str(charts))
    assert int(child.match.group(1)) >= 1
    child.expect("backbone-services/")
    child.expect("choose the profile that matches this folder")
    child.expect("Please answer this part again")

    answer(child, "Release profile", DOWN)                     # digit-sample, the sample tree's own profile
    answer(child, "Chart source directory")
    answer(child, "Air-gap bundle")
    answer(child, "Modules to deploy")

    child.expect("== Monitoring and CI ==")
    confirm(child, r"Change Monitoring\?", "n")                # tracing stays on: its chart is missing
    child.expect(f"monitoring.tracing: needs monitoring/jaeger, missing in {charts}")
    child.expect(r"turn it off \(monitoring.tracing: false\)")
    child.expect("Please answer this part again")
    confirm(child, r"Change Monitoring\?", "y")
    confirm(child, "Install monitoring", "y")
    confirm(child, "Install tracing", "n")
    confirm(child, r"Change Alert receivers\?", "n")
    confirm(child, r"Change CI\?", "y")
    confirm(child, "Install Jenkins", "y")
    child.expect(f"ci.jenkins: needs ci/jenkins, missing in {charts}")
    child.expect("Please answer this part again")
    confirm(child, r"Change CI\?", "y")
    confirm(child, "Install Jenkins", "n")

    child.expect("== Review ==")
    answer(child, "Save the answers file to")
    child.expect("Saved (.*answers.yaml)")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    saved = load_answers(site / "answers.yaml")
    assert saved.release.version == "digit-sample" and saved.release.charts == charts
    assert saved.monitoring.enabled is True and saved.monitoring.tracing is False and saved.ci.jenkins is False
