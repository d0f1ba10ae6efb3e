"""The air-gap bundle on the rig: real registries (upstream and a TLS + htpasswd mirror), real Helm, the emulator.

Tests run in file order on one rig: the install with upstream stopped comes last but one, the
canary check of every output and file last.
"""
from __future__ import annotations

import base64
import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from installer.bundle.discover import images_in
from installer.bundle.manifest import read_manifest, write_manifest
from installer.bundle.reference import parse
from tests.bundle.conftest import REPO, answers_variant, copy_bundle, fresh_mirror
from tests.rig import registry as rig_registry
from tests.rig.upload_gate import UploadGate

pytestmark = pytest.mark.timeout(900)


def _sample_answers(tmp_path: Path, charts: Path) -> Path:
    (tmp_path / "kubeconfig").write_text("")
    key = tmp_path / "gitkey"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True, timeout=30)
    answers = tmp_path / "answers.yaml"
    answers.write_text(f"""version: 1
name: completeness
target: {{kind: existing-cluster, kubeconfig: kubeconfig}}
sizing: {{profile: dev}}
domain: {{fqdn: uat.digit.test, tls: {{mode: self-signed}}}}
database: {{mode: external, host: 127.0.0.1, username: egov, password: {{env: BUNDLE_TEST_UNSET_PASSWORD}}}}
release: {{version: digit-sample, charts: {charts}}}
config_repos:
  mdms: {{url: 'git@github.com:egovernments/egov-mdms-data.git', branch: DEV}}
  configs: {{url: 'git@github.com:egovernments/configs.git', branch: DEV}}
  ssh_key: {{file: gitkey}}
monitoring: {{enabled: true, tracing: true}}
ci: {{jenkins: true}}
""")
    return answers


def test_an_image_only_in_a_hook_job_a_crd_or_a_custom_resource_is_found(tmp_path, monkeypatch):
    import shutil

    from installer.answers import load_answers
    from installer.bundle.create import plan_images

    charts = tmp_path / "charts"
    shutil.copytree(REPO / "tests" / "fixtures" / "charts", charts)
    (charts / "core-services/egov-user/templates/hook-job.yaml").write_text("""apiVersion: batch/v1
kind: Job
metadata:
  name: egov-user-bootstrap
  annotations: {"helm.sh/hook": "post-install,post-upgrade"}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: bootstrap, image: "egovio/egov-user-bootstrap:v1.0.0-hook"}]
""")
    (charts / "backbone-services/redis/crds").mkdir()
    (charts / "backbone-services/redis/crds/sentinels.yaml").write_text("""apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: sentinels.redis.digit.test}
spec:
  group: redis.digit.test
  names: {kind: Sentinel, plural: sentinels}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                image: {type: string, default: "quay.io/digit-test/redis-sentinel:7.2.4-crd"}
""")
    (charts / "backbone-services/redis/templates/sentinel.yaml").write_text("""apiVersion: redis.digit.test/v1
kind: Sentinel
metadata: {name: sentinel}
spec:
  exporterImage: docker.io/oliver006/redis_exporter:v1.55.0-cr
  args: ["--acme-http01-solver-image=quay.io/jetstack/cert-manager-acmesolver:v1.13.3"]
""")
    monkeypatch.setenv("DIGIT_INSTALLER_PROFILE_PATH", str(REPO / "tests" / "fixtures" / "profiles"))
    answers = load_answers(_sample_answers(tmp_path, charts))
    _plan, found = plan_images(answers, tmp_path / "store")
    assert found["egovio/egov-user-bootstrap:v1.0.0-hook"] == ["egov-user"]          # only in a hook Job
    assert found["quay.io/digit-test/redis-sentinel:7.2.4-crd"] == ["redis (crds/)"]  # only in a CRD's default
    assert found["docker.io/oliver006/redis_exporter:v1.55.0-cr"] == ["redis"]      # only in a custom resource
    assert found["quay.io/jetstack/cert-manager-acmesolver:v1.13.3"] == ["redis"]   # only in an argument
    assert "docker.io/jenkins/jenkins:2.440.1-jdk17" in found                        # enabled options count
    assert "docker.io/jaegertracing/all-in-one:1.53.0" in found
    for image in found:  # nothing that is not an image (URLs, host:port of services) slipped in
        parse(image)
        assert "://" not in image


def test_the_bundle_lists_every_image_of_the_plan_pinned_to_upstreams_digest(reg_rig, bundle):
    manifest = read_manifest(bundle)
    assert manifest["schema_version"] == 1 and manifest["profile"] == "digit-sample" and manifest["created"]
    references = {i["reference"] for i in manifest["images"]}
    upstream = reg_rig.registry("upstream")
    # every image of the rig's plan (monitoring off there) and the kept list, nothing else
    expected = {"egovio/egov-user:v1.2.8-9fde481-19", "registry.k8s.io/git-sync/git-sync:v3.1.1",
                "docker.io/bitnami/kafka:3.6.0", "busybox:1.36", "egovio/playground:ubuntu-18-elasticdump",
                "curlimages/curl:8.5.0", "quay.io/jetstack/cert-manager-acmesolver:v1.13.3"}
    assert expected <= references
    assert not any("grafana" in r or "jenkins" in r for r in references)  # monitoring and CI are off
    for image in manifest["images"]:
        ref = parse(image["reference"])
        assert image["digest"] == upstream.manifest_digest(f"{ref.host}/{ref.path}", ref.tag), image
    listed = {f["path"]: f for f in manifest["files"]}
    index = json.loads((bundle / "images" / "index.json").read_text())
    for entry in index["manifests"]:
        assert f"images/blobs/sha256/{entry['digest'][7:]}" in listed
    assert "charts/common/Chart.yaml" in listed and "charts/core-services/egov-user/Chart.yaml" in listed
    assert "profiles/releases/digit-sample.yaml" in listed
    assert "installer/install.sh" in listed and not any(p.startswith("installer/wheelhouse") for p in listed)


def test_verify_names_a_flipped_byte_and_push_refuses(reg_rig, runner, bundle, tmp_path, stop_registry):
    broken = copy_bundle(bundle, tmp_path / "broken")
    manifest = read_manifest(broken)
    small = next(f for f in manifest["files"] if f["path"].startswith("images/blobs/") and 200 < f["size"] < 100000)
    path = broken / small["path"]
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.unlink()  # the original shares the inode: replace the file, never write into it
    path.write_bytes(bytes(data))

    result = runner("bundle", "verify", str(broken))
    assert result.returncode == 1
    assert f"{small['path']}: content does not match its sha256 (corrupt)" in result.stderr

    stop_registry.append(tmp_path / "mirror")
    mirror = fresh_mirror(tmp_path / "mirror", reg_rig.env["DIGIT_REGISTRY_PASSWORD"])
    answers = answers_variant(reg_rig, tmp_path / "site" / "answers.yaml", "broken-push", mirror=mirror)
    result = runner("bundle", "push", str(broken), "--answers", str(answers))
    assert result.returncode == 1
    assert "refusing to push a bundle that does not verify" in result.stderr
    status, _, body = mirror.request("GET", "/v2/_catalog")
    assert status == 200 and json.loads(body)["repositories"] == []

    (broken / small["path"]).unlink()
    result = runner("bundle", "verify", str(broken))
    assert result.returncode == 1 and f"{small['path']}: missing" in result.stderr


def _held_offset(location: str) -> int:
    """The offset the registry signed into an upload URL's _state (HMAC, then JSON)."""
    state = re.search(r"_state=([^&]+)", location).group(1)
    raw = base64.urlsafe_b64decode(urllib.request.unquote(state) + "==")
    return int(re.search(rb'"Offset":(\d+)', raw).group(1))


def _upload_data_size(mirror, repo: str) -> int:
    uploads = mirror.storage / "repositories" / repo / "_uploads"
    sizes = [p.stat().st_size for p in uploads.glob("*/data")] if uploads.is_dir() else []
    return max(sizes, default=-1)


def test_an_interrupted_push_continues_where_it_stopped_and_a_second_push_sends_nothing(
        reg_rig, runner, bundle, tmp_path, stop_registry):
    stop_registry.append(tmp_path / "mirror")
    mirror = fresh_mirror(tmp_path / "mirror", reg_rig.env["DIGIT_REGISTRY_PASSWORD"])
    large = rig_registry.LARGE_IMAGE.split("/", 1)[1].split(":")[0]      # egovio/playground
    biggest = max(read_manifest(bundle)["files"], key=lambda f: f["size"])
    key = f"{large}@sha256:{biggest['path'].rsplit('/', 1)[1]}"             # its 96 MiB layer
    chunk = 1 << 20
    # kill -9 in the middle of the large blob, between two chunks the mirror acknowledged: the CNCF
    # registry drops an upload whose chunk was cut half-way (see installer/bundle/push.py). The gate
    # (tests/rig/upload_gate.py) forwards whole requests only and holds a later chunk, so the
    # moment is exact rather than raced for: the same whole chunks in the mirror and in the journal.
    with UploadGate(mirror, large, hold_after=3) as gate:
        answers = answers_variant(reg_rig, tmp_path / "site" / "answers.yaml", "resume-push", mirror=gate)
        state_dir = tmp_path / "state"
        journal = state_dir / "push-uploads.json"
        args = ("bundle", "push", str(bundle), "--answers", str(answers), "--state-dir", str(state_dir),
                "--concurrency", "1", "--chunk-mb", str(chunk >> 20))
        process = runner.start(*args)
        assert gate.held.wait(timeout=300), "the push never reached the large blob's later chunks"
        location = json.loads(journal.read_text())[key]
        killed_at = _held_offset(location)
        assert 0 < killed_at < biggest["size"] and killed_at % chunk == 0, killed_at
        assert _upload_data_size(mirror, large) == killed_at
        upload_id = re.search(r"/blobs/uploads/([0-9a-f-]+)", location).group(1)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=60)
        gate.open()
        runner.outputs.append(process.stdout.read())

        result = runner(*args)
        assert result.returncode == 0, result.stderr + result.stdout
        assert re.search(rf"continuing sha256:\w+ in {large} at {killed_at} of \d+ bytes", result.stdout), result.stdout
        log = mirror.log_path.read_text()
        new_uploads = re.findall(rf'"POST /v2/{large}/blobs/uploads/ HTTP', log)
        assert len(new_uploads) == 2, "an upload was started again from zero (the image has a config and a layer)"
        assert re.search(rf'"PUT /v2/{large}/blobs/uploads/{upload_id}\?[^"]*digest=sha256', log), \
            "the interrupted upload was not the one completed"
        sent = int(re.search(r"(\d+) bytes sent", result.stdout).group(1))
        size = int(re.search(rf"at {killed_at} of (\d+) bytes", result.stdout).group(1))
        assert sent <= size - killed_at + 64 * 1024, (sent, size, killed_at)  # the rest, and the small blobs

        again = runner(*args)
        assert again.returncode == 0
        assert " 0 bytes sent" in again.stdout and "0 blobs uploaded" in again.stdout
        for image in read_manifest(bundle)["images"]:
            path, _, tag = image["mirror"].rpartition(":")
            assert mirror.manifest_digest(path, tag) == image["digest"], image


def _without_image(bundle: Path, target: Path, reference: str) -> Path:
    copy_bundle(bundle, target)
    index_path = target / "images" / "index.json"
    index = json.loads(index_path.read_text())
    index["manifests"] = [m for m in index["manifests"]
                          if m.get("annotations", {}).get("org.opencontainers.image.ref.name") != reference]
    index_path.unlink()
    index_path.write_text(json.dumps(index))
    manifest = read_manifest(target)
    header = {k: v for k, v in manifest.items() if k not in ("schema_version", "files", "images")}
    (target / "manifest.json").unlink()
    write_manifest(target, header, [i for i in manifest["images"] if i["reference"] != reference])
    return target


def _cluster_images(api_url: str) -> set[str]:
    documents = []
    for path in ("/apis/apps/v1/deployments", "/apis/apps/v1/statefulsets", "/apis/apps/v1/daemonsets",
                 "/apis/batch/v1/jobs", "/apis/batch/v1/cronjobs", "/api/v1/pods"):
        with urllib.request.urlopen(api_url + path, timeout=10) as response:
            documents += json.loads(response.read()).get("items") or []
    return images_in(documents)


def test_a_missing_image_is_named_before_helm_runs(reg_rig, runner, bundle, tmp_path, stop_registry):
    missing = "egovio/egov-user:v1.2.8-9fde481-19"
    partial = _without_image(bundle, tmp_path / "partial", missing)
    stop_registry.append(tmp_path / "mirror")
    mirror = fresh_mirror(tmp_path / "mirror", reg_rig.env["DIGIT_REGISTRY_PASSWORD"])
    # the same installation as the complete install below: it tries again once the bundle is whole
    answers = answers_variant(reg_rig, tmp_path / "site" / "answers.yaml", "airgap", bundle=partial,
                              mirror=mirror)
    assert runner("bundle", "verify", str(partial)).returncode == 0
    assert runner("bundle", "push", str(partial), "--answers", str(answers)).returncode == 0

    checked = runner("bundle", "check", "--answers", str(answers))
    assert checked.returncode == 1
    assert f"images.in_mirror: {mirror.address}/{missing}: not in the mirror" in checked.stderr

    result = runner("--answers", str(answers), "--yes", "--output", "plain")
    assert result.returncode == 1
    text = result.stdout + result.stderr
    assert "images.in_mirror" in text and f"{mirror.address}/{missing}: not in the mirror" in text
    assert not _cluster_images(reg_rig.api_url), "something was deployed although an image was missing"
    assert "[database] started" not in text and "[configure] started" not in text  # nothing was changed at all
    with urllib.request.urlopen(reg_rig.api_url + "/api/v1/namespaces", timeout=10) as response:
        namespaces = {n["metadata"]["name"] for n in json.loads(response.read())["items"]}
    assert not namespaces & {"egov", "backbone"}


async def test_the_wizard_verifies_and_pushes_the_bundle_the_release_page_names(
        reg_rig, runner, bundle, tmp_path, stop_registry, monkeypatch):
    from textual.widgets import ProgressBar, Static

    from screens.app import make_app
    from screens.bundle import BundleScreen
    from screens.state import Catalog, WizardState

    stop_registry.append(tmp_path / "mirror")
    mirror = fresh_mirror(tmp_path / "mirror", reg_rig.env["DIGIT_REGISTRY_PASSWORD"])
    answers = answers_variant(reg_rig, tmp_path / "site" / "answers.yaml", "wizard-push", bundle=bundle,
                              mirror=mirror)
    for name, value in runner.env.items():
        monkeypatch.setenv(name, value)
    state = WizardState(answers, state_dir=tmp_path / "state")
    state.load(answers)
    state.catalog = Catalog.load(state.base_dir)
    app = make_app(state, pages=["release"])
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+u")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, BundleScreen)
        await pilot.click("#bundle-verify")
        for _ in range(600):
            await pilot.pause(0.05)
            if not dialog.busy:
                break
        status = str(dialog.query_one("#bundle-status", Static).render())
        assert "every file matches manifest.json" in status, status
        bar = dialog.query_one("#bundle-progress", ProgressBar)
        assert bar.total and bar.progress == bar.total
        await pilot.click("#bundle-push")
        for _ in range(1200):
            await pilot.pause(0.05)
            if not dialog.busy:
                break
        status = str(dialog.query_one("#bundle-status", Static).render())
        assert status.startswith("pushed ") and "FAILED" not in status, status
        runner.outputs.append(status)
    for image in read_manifest(bundle)["images"]:
        path, _, tag = image["mirror"].rpartition(":")
        assert mirror.manifest_digest(path, tag) == image["digest"], image


def test_install_from_the_bundle_with_upstream_stopped(reg_rig, runner, bundle, tmp_path):
    assert runner("bundle", "verify", str(bundle)).returncode == 0
    first = runner("bundle", "push", str(bundle), "--answers", str(reg_rig.answers_path))
    assert first.returncode == 0, first.stderr + first.stdout
    rig_registry.stop(reg_rig.registries_dir / "upstream")
    try:
        answers = answers_variant(reg_rig, tmp_path / "site" / "answers.yaml", "airgap", bundle=bundle)
        checked = runner("bundle", "check", "--answers", str(answers))
        assert checked.returncode == 0 and "with the bundle's digests" in checked.stdout, checked.stderr
        result = runner("--answers", str(answers), "--yes", "--output", "plain", timeout=900)
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
        mirror = reg_rig.registry("mirror")
        images = _cluster_images(reg_rig.api_url)
        assert len(images) >= 20
        pinned = {i["mirror"]: i["digest"] for i in read_manifest(bundle)["images"]}
        for image in sorted(images):
            assert image.startswith(mirror.address + "/"), f"{image} is not pulled from the mirror"
            path_tag = image[len(mirror.address) + 1:]
            path, _, tag = path_tag.rpartition(":")
            assert mirror.manifest_digest(path, tag) == pinned[path_tag], image
    finally:
        rig_registry.restart(reg_rig.registries_dir / "upstream")


def test_git_mirrors_and_a_signature_travel_with_the_bundle(reg_rig, runner, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    repos = {}
    for name in ("mdms", "configs"):
        work = tmp_path / f"{name}-work"
        subprocess.run(["git", "init", "-q", "-b", "DEV", str(work)], check=True, timeout=30)
        (work / "data.json").write_text(f'{{"repo": "{name}"}}\n')
        subprocess.run(["git", "-C", str(work), "add", "."], check=True, timeout=30)
        subprocess.run(["git", "-C", str(work), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm",
                        f"{name} data"], check=True, timeout=30)
        repos[name] = work
    answers = answers_variant(reg_rig, tmp_path / "site" / "answers.yaml", "git-mirrors")
    text = answers.read_text()
    text = re.sub(r"  mdms: \{url: [^,]+,", f"  mdms: {{url: '{repos['mdms']}',", text)
    text = re.sub(r"  configs: \{url: [^,]+,", f"  configs: {{url: '{repos['configs']}',", text)
    answers.write_text(text)
    key = Ed25519PrivateKey.generate()
    (tmp_path / "sign.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                          serialization.NoEncryption()))
    (tmp_path / "sign.pub").write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                                      serialization.PublicFormat.SubjectPublicKeyInfo))
    out = tmp_path / "b"
    result = runner("bundle", "create", "--answers", str(answers), "--out", str(out), "--no-wheelhouse",
                    "--source-registry", reg_rig.registry("upstream").url, "--git-mirrors",
                    "--sign-key", str(tmp_path / "sign.pem"))
    assert result.returncode == 0, result.stderr + result.stdout
    manifest = read_manifest(out)
    assert manifest["git"] == {"mdms": "git/mdms.git", "configs": "git/configs.git"}
    log = subprocess.run(["git", "--git-dir", str(out / "git/mdms.git"), "log", "--format=%s", "DEV"],
                         capture_output=True, text=True, timeout=30)
    assert log.stdout.strip() == "mdms data"
    assert any(f["path"].startswith("git/configs.git/") for f in manifest["files"])
    signed = runner("bundle", "verify", str(out), "--public-key", str(tmp_path / "sign.pub"))
    assert signed.returncode == 0 and "signature" in signed.stdout
    tampered = json.loads((out / "manifest.json").read_text())
    tampered["profile"] = "something-else"
    (out / "manifest.json").write_text(json.dumps(tampered))
    refused = runner("bundle", "verify", str(out), "--public-key", str(tmp_path / "sign.pub"))
    assert refused.returncode == 1 and "the signature does not match manifest.json" in refused.stderr


def _helm_repo(folder: Path, chart: Path, version: str, corrupt: bool = False) -> None:
    """A Helm repository as files: index.yaml and one chart archive (served by http.server)."""
    import hashlib
    import io
    import tarfile

    folder.mkdir(parents=True)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path in sorted(chart.rglob("*")):
            data = path.read_bytes() if path.is_file() else None
            if path.name == "Chart.yaml":
                data = re.sub(rb"(?m)^version:.*$", f"version: {version}".encode(), data)
            info = tarfile.TarInfo(f"{chart.name}/{path.relative_to(chart).as_posix()}")
            if data is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                info.size, info.mode = len(data), 0o644
                tar.addfile(info, io.BytesIO(data))
    archive = buffer.getvalue()
    (folder / f"{chart.name}-{version}.tgz").write_bytes(archive)
    digest = hashlib.sha256(archive + (b"x" if corrupt else b"")).hexdigest()
    (folder / "index.yaml").write_text(json.dumps({"apiVersion": "v1", "entries": {chart.name: [
        {"name": chart.name, "version": version, "urls": [f"{chart.name}-{version}.tgz"], "digest": digest}]}}))


def test_a_monitoring_chart_the_tree_lacks_is_fetched_from_its_helm_repository(reg_rig, runner, tmp_path):
    import functools
    import shutil
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    fixtures = REPO / "tests" / "fixtures"
    _helm_repo(tmp_path / "repo", fixtures / "charts" / "monitoring" / "jaeger", "0.35.0")
    _helm_repo(tmp_path / "bad-repo", fixtures / "charts" / "monitoring" / "jaeger", "0.35.0", corrupt=True)
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        charts = tmp_path / "digit-devops-charts"
        shutil.copytree(fixtures / "charts", charts)
        shutil.rmtree(charts / "monitoring" / "jaeger")       # DIGIT-DevOps does not ship it
        site = tmp_path / "site"
        (site / "profiles" / "releases").mkdir(parents=True)
        profile = (fixtures / "profiles" / "releases" / "digit-sample.yaml").read_text()

        def create(repo: str, out: Path):
            (site / "profiles" / "releases" / "digit-sample.yaml").write_text(profile + (
                f"chart_sources:\n  monitoring/jaeger: {{repo: 'http://127.0.0.1:{server.server_address[1]}/{repo}',"
                " name: jaeger, version: 0.35.0}\n"))
            answers = answers_variant(reg_rig, site / "answers.yaml", "fetched-charts")
            text = answers.read_text().replace("monitoring: {enabled: false}", "monitoring: {enabled: true, tracing: true}")
            answers.write_text(re.sub(r"(?m)^  charts: .*$", f"  charts: {charts}", text))
            return runner("bundle", "create", "--answers", str(answers), "--out", str(out), "--no-wheelhouse",
                          "--source-registry", reg_rig.registry("upstream").url)

        result = create("repo", tmp_path / "b")
        assert result.returncode == 0, result.stderr + result.stdout
        assert "fetching 1 chart(s) the chart source lacks: jaeger 0.35.0" in result.stdout
        manifest = read_manifest(tmp_path / "b")
        assert manifest["fetched_charts"]["monitoring/jaeger"]["version"] == "0.35.0"
        assert "version: 0.35.0" in (tmp_path / "b" / "charts/monitoring/jaeger/Chart.yaml").read_text()
        assert "docker.io/jaegertracing/all-in-one:1.53.0" in {i["reference"] for i in manifest["images"]}
        assert not (charts / "monitoring" / "jaeger").exists()   # the operator's tree is left as it was

        refused = create("bad-repo", tmp_path / "b2")
        assert refused.returncode == 1
        assert "chart jaeger 0.35.0: the archive's sha256" in refused.stderr
    finally:
        server.shutdown()


def test_the_bundles_wheelhouse_sets_the_installer_up_with_no_network(reg_rig, runner, tmp_path):
    out = tmp_path / "with-wheels"
    result = runner("bundle", "create", "--answers", str(reg_rig.answers_path), "--out", str(out),
                    "--source-registry", reg_rig.registry("upstream").url, timeout=1800)
    assert result.returncode == 0, result.stderr + result.stdout
    listed = {f["path"] for f in read_manifest(out)["files"]}
    assert any(p.startswith("installer/wheelhouse/helm_python_sdk") for p in listed)
    assert runner("bundle", "verify", str(out)).returncode == 0
    # a fresh copy of the installer as it travels in the bundle, set up in a network namespace with
    # no interfaces at all (and pip told there is no index)
    jump_host = tmp_path / "jump-host"
    subprocess.run(["cp", "-a", str(out / "installer"), str(jump_host)], check=True, timeout=120)
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "PIP_NO_INDEX": "1",
           "DIGIT_INSTALLER_PYTHON": sys.executable, "DIGIT_INSTALLER_VENV": str(tmp_path / "venv"),
           "XDG_STATE_HOME": str(tmp_path / "state"), **reg_rig.env}
    setup = subprocess.run(["unshare", "--net", "bash", str(jump_host / "install.sh"), "--setup-only"],
                           capture_output=True, text=True, timeout=1200, env=env)
    assert setup.returncode == 0, setup.stderr[-3000:]
    assert "offline from" in setup.stderr
    check = subprocess.run(["unshare", "--net", "bash", str(jump_host / "install.sh"), "validate",
                            str(reg_rig.answers_path)], capture_output=True, text=True, timeout=300, env=env)
    assert check.returncode == 0 and "valid" in check.stdout, check.stderr


def test_registry_credentials_never_leave_the_process(reg_rig, runner, bundle):
    canary = reg_rig.env["DIGIT_REGISTRY_PASSWORD"]
    assert len(canary) >= 16 and runner.outputs
    for output in runner.outputs:
        assert canary not in output
    state = Path(runner.env["XDG_STATE_HOME"])
    for root in (state, bundle):
        for path in root.rglob("*"):
            if path.is_file() and not path.is_symlink():
                assert canary.encode() not in path.read_bytes(), path
    assert canary not in (bundle / "manifest.json").read_text()
