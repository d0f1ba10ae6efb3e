"""Kubernetes client factory: loads a kubeconfig and puts a timeout on every API call.

The official client waits forever unless each call passes `_request_timeout`; the client built
here supplies one whenever the caller did not, so a hung API server cannot stall the installer.
"""
from __future__ import annotations

import functools
import urllib.parse
from pathlib import Path
from typing import Any

DEFAULT_TIMEOUT = 15.0
CONNECT_TIMEOUT = 5.0


class KubeConfigError(Exception):
    """The kubeconfig cannot be read or does not contain the requested context."""


@functools.lru_cache(maxsize=1)
def _timed_client_class() -> type:
    from kubernetes.client import ApiClient

    class TimedApiClient(ApiClient):
        default_timeout: float = DEFAULT_TIMEOUT

        def call_api(self, method, url, header_params=None, body=None, post_params=None, _request_timeout=None):
            if _request_timeout is None:
                _request_timeout = _timeout_for(url, self.default_timeout)
            return super().call_api(method, url, header_params, body, post_params, _request_timeout)

    return TimedApiClient


def _timeout_for(url: str, default: float) -> float | tuple[float, float]:
    """Watches stream for their server-side timeoutSeconds; everything else gets the default."""
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    if query.get("watch", [""])[0] in ("true", "1"):
        seconds = query.get("timeoutSeconds", [""])[0]
        read = float(seconds) + default if seconds.isdigit() else 3600.0
        return (min(CONNECT_TIMEOUT, default), read)
    return (min(CONNECT_TIMEOUT, default), default)


def api_client(kubeconfig: Path | str | None, context: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> Any:
    """An ApiClient for the kubeconfig's context whose every request times out after `timeout` seconds."""
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    configuration = client.Configuration()
    try:
        config.load_kube_config(
            config_file=str(kubeconfig) if kubeconfig else None,
            context=context,
            client_configuration=configuration,
            persist_config=False,
        )
    except (ConfigException, OSError, ValueError, TypeError) as exc:
        raise KubeConfigError(f"{kubeconfig}: {exc}") from None
    configuration.retries = 1
    api = _timed_client_class()(configuration)
    api.default_timeout = timeout
    return api


def server_url(api: Any) -> str:
    return api.configuration.host
