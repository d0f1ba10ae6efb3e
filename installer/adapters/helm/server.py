"""The Helm child process: the only place helm-python-sdk (Helm's Go library) is loaded.

Started by worker.Worker as `python -m installer.adapters.helm.server SETTINGS_JSON` (see
worker.py for why Helm runs in a child process). Errors are sent back as {"ok": false, "kind",
"message"}; SIGUSR1 cancels the install/upgrade in flight through Helm's context.
"""
from __future__ import annotations

import json
import signal
import sys
import threading
from typing import Any

_KIND_BY_ERROR = {
    "HelmChartLoadError": "chart", "HelmChartInvalidError": "chart", "HelmValuesError": "values",
    "HelmRenderError": "render", "HelmKubeError": "kube", "HelmReleaseError": "release",
    "HelmNotFoundError": "not-found", "HelmStorageError": "storage", "HelmCancelledError": "cancelled",
}


class Server:
    """Runs Helm actions for the parent, one JSON request per stdin line, one reply per stdout line."""

    def __init__(self, settings: dict[str, Any]) -> None:
        import helm_python

        self.helm = helm_python
        self.settings = settings
        self.configs: dict[str, Any] = {}
        self.context: Any = None
        signal.signal(signal.SIGUSR1, self._on_interrupt)

    def _on_interrupt(self, *_: object) -> None:
        context = self.context
        if context is not None:
            context.cancel()

    def config(self, namespace: str | None) -> Any:
        key = namespace or ""
        if key not in self.configs:
            self.configs[key] = self.helm.Config(
                kubeconfig_path=self.settings.get("kubeconfig"),
                kube_context=self.settings.get("context"),
                namespace=namespace or "default",
                storage_driver=self.settings.get("driver") or "secret",
            )
        return self.configs[key]

    def _apply_options(self, namespace: str, timeout: int, description: str | None,
                       upgrade: bool, labels: dict[str, str] | None = None) -> str:
        options: dict[str, Any] = {"namespace": namespace, "timeout_seconds": timeout}
        if description:
            options["description"] = description
        if labels:
            options["labels"] = labels
        if self.settings.get("no_openapi"):
            options["disable_openapi_validation"] = True
            # Helm validates hook manifests against OpenAPI whatever the flag above says, and no
            # controller would ever complete a hook Job there.
            options["disable_hooks"] = True
            # The upgrade action takes this flag as a string ("auto" is its default).
            options["server_side_apply"] = "false" if upgrade else False
        return json.dumps(options)

    def run(self, op: str, args: dict[str, Any]) -> Any:
        helm = self.helm
        native = helm._native
        values = args.get("values")
        if op == "ping":
            return {"sdk": helm.helm_sdk_version()}
        if op == "metadata":
            with helm.Chart.load(args["chart"]) as chart:
                meta = chart.metadata
                meta["dependencies"] = chart.dependencies
                return meta
        if op == "lint":
            return helm.lint(args["chart"], values)
        if op == "render":
            with helm.Chart.load(args["chart"]) as chart:
                return chart.render(values, name=args["release"], namespace=args["namespace"],
                                    is_install=True)
        ns = args.get("namespace")
        if op in ("install", "upgrade"):
            config = self.config(ns)
            with helm.Chart.load(args["chart"]) as chart, helm.HelmContext() as context:
                options = self._apply_options(str(ns), args["timeout"], args.get("description"), op == "upgrade",
                                              args.get("labels"))
                outcome: dict[str, Any] = {}

                def act() -> None:
                    try:
                        outcome["payload"] = native.call_string(
                            f"helm_{op}", config._raw(), context._raw(), chart._raw(), None,
                            args["release"], None if values is None else json.dumps(values), options)
                    except BaseException as exc:  # handed to the serving thread below
                        outcome["error"] = exc

                # The action runs in a thread so this (main) thread stays free to run the
                # SIGUSR1 handler that cancels it.
                self.context = context
                worker = threading.Thread(target=act, daemon=True)
                worker.start()
                try:
                    while worker.is_alive():
                        worker.join(0.2)
                finally:
                    self.context = None
            if "error" in outcome:
                raise outcome["error"]
            return json.loads(outcome["payload"])
        if op == "rollback":
            rollback: dict[str, Any] = {"timeout_seconds": args["timeout"]}
            if args.get("revision") is not None:
                rollback["version"] = args["revision"]
            if self.settings.get("no_openapi"):
                rollback["server_side_apply"] = "false"
            native.call_status("helm_rollback", self.config(ns)._raw(), args["release"], json.dumps(rollback))
            return None
        if op == "history":
            return self.config(ns).history(args["release"])
        if op == "status":
            return self.config(ns).status(args["release"])
        if op == "get":
            revision = json.dumps({"revision": args["revision"]}) if args.get("revision") else None
            return json.loads(native.call_string("helm_get", self.config(ns)._raw(), args["release"],
                                                 revision))["summary"]
        if op == "values":
            # `helm get values` (user-supplied only, never the chart's defaults merged in).
            found = self.config(ns).get_values(args["release"], revision=args.get("revision"))
            return found or {}
        if op == "uninstall":
            self.config(ns).uninstall(args["release"], timeout=args["timeout"],
                                      keep_history=args.get("keep_history", False))
            return None
        if op == "list":
            return self.config(ns).list(all_states=args.get("all_states", False),
                                        all_namespaces=ns is None)
        raise ValueError(f"unknown operation {op!r}")

    def serve(self) -> None:
        for line in sys.stdin:
            request = json.loads(line)
            result: dict[str, Any]
            try:
                result = {"ok": True, "result": self.run(request["op"], request.get("args") or {})}
            except self.helm.HelmError as exc:
                result = {"ok": False, "kind": _KIND_BY_ERROR.get(type(exc).__name__, "release"),
                          "message": str(exc)}
            except Exception as exc:  # reported to the caller, who owns the process
                result = {"ok": False, "kind": "worker", "message": f"{type(exc).__name__}: {exc}"}
            sys.stdout.write(json.dumps(result) + "\n")
            sys.stdout.flush()


if __name__ == "__main__":
    Server(json.loads(sys.argv[1])).serve()
