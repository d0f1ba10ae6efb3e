"""Image references and the words of rendered manifests that are (and are not) images."""
import pytest

from installer.bundle.discover import images_in
from installer.bundle.reference import ReferenceError, mirror_path, mirror_tag, parse

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize("text, name", [
    ("busybox", "docker.io/library/busybox:latest"),
    ("busybox:1.36", "docker.io/library/busybox:1.36"),
    ("egovio/egov-user:v1.2.8-9fde481-19", "docker.io/egovio/egov-user:v1.2.8-9fde481-19"),
    ("index.docker.io/bitnami/kafka:3.6.0", "docker.io/bitnami/kafka:3.6.0"),
    ("registry.k8s.io/ingress-nginx/controller:v1.10.0@" + DIGEST,
     "registry.k8s.io/ingress-nginx/controller:v1.10.0@" + DIGEST),
    ("127.0.0.1:5000/egovio/gateway:v1", "127.0.0.1:5000/egovio/gateway:v1"),
])
def test_references_are_normalised_and_keep_their_digest(text, name):
    assert parse(text).name == name


@pytest.mark.parametrize("text", ["", "http://x/y:1", "Egov/User:1", "a b", "x@sha256:12"])
def test_what_is_not_a_reference_is_refused(text):
    with pytest.raises(ReferenceError):
        parse(text)


def test_the_mirror_holds_an_image_under_its_path_as_written_without_the_host():
    assert mirror_path("docker.elastic.co/kibana/kibana:8.11.3") == "kibana/kibana"
    assert mirror_path("egovio/egov-user:v1") == "egovio/egov-user"
    assert mirror_path("127.0.0.1:5000/egovio/gateway:v1") == "egovio/gateway"
    assert mirror_tag("registry.k8s.io/x/y:v1@" + DIGEST) == "v1"
    assert mirror_tag("registry.k8s.io/x/y@" + DIGEST) == "sha256-" + "ab" * 16


def test_urls_ports_and_prose_are_not_images_but_arguments_and_custom_resources_are():
    documents = [
        {"kind": "ConfigMap", "data": {
            "url": "http://egov-user.egov:8080/user/_search", "kafka": "kafka-kraft.backbone:9092",
            "note": "see https://docs.digit.org/x:y and egov-user:8080/path"}},
        {"kind": "Deployment", "spec": {"template": {"spec": {
            "initContainers": [{"name": "db", "image": "egovio/egov-user-db:v1"}],
            "containers": [{"name": "c", "image": "egovio/egov-user:v1", "imagePullPolicy": "IfNotPresent",
                            "args": ["--solver-image=quay.io/jetstack/cert-manager-acmesolver:v1.13.3"]}]}}}},
        {"kind": "Pod", "spec": {"ephemeralContainers": [{"name": "debug", "image": "busybox:1.36"}]}},
        {"kind": "Prometheus", "spec": {"image": "quay.io/prometheus/prometheus:v2.49.1",
                                        "thanos": {"registry": "quay.io", "repository": "thanos/thanos",
                                                   "tag": "v0.34.0"}}},
    ]
    assert images_in(documents) == {
        "egovio/egov-user-db:v1", "egovio/egov-user:v1", "quay.io/jetstack/cert-manager-acmesolver:v1.13.3",
        "busybox:1.36", "quay.io/prometheus/prometheus:v2.49.1", "quay.io/thanos/thanos:v0.34.0"}
