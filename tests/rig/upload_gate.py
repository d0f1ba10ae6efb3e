"""A TLS HTTP proxy in front of a rig registry that can hold a blob upload between two chunks.

Why: interrupting `bundle push` exactly between two chunks the mirror acknowledged cannot be
timed from outside (a 1 MiB chunk to a local registry takes milliseconds, and a kill while a
chunk is on the wire makes the CNCF registry drop the whole upload). This proxy reads each
request whole before forwarding it, so the registry only ever sees complete chunks, and after
`hold_after` PATCH requests to one repository it stops the next one: not forwarded, its client
left waiting. At that moment the pusher has journaled the last acknowledged chunk (it journals
before sending the next), and the test can kill it with the registry holding exactly that.

It serves the registry's own certificate on another port of 127.0.0.1 and passes every header
through, Host included, so upload URLs the registry hands out point back at the proxy.
"""
from __future__ import annotations

import http.client
import http.server
import re
import ssl
import threading
from pathlib import Path

from tests.rig.registry import RigRegistry

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
               "proxy-authorization", "proxy-authenticate"}


class UploadGate:
    """Forward everything to `upstream`; hold the PATCH after the first `hold_after` to `repo`."""

    def __init__(self, upstream: RigRegistry, repo: str, hold_after: int) -> None:
        self.upstream = upstream
        self.repo = repo
        self.hold_after = hold_after
        self.patches_forwarded = 0
        self.held = threading.Event()        # set when a PATCH is being held
        self._release = threading.Event()    # set to let go of held requests (they are dropped)
        self._lock = threading.Lock()
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls = Path(upstream.dir) / "tls"
        context.load_cert_chain(tls / "server.crt", tls / "server.key")
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self._server.server_address[1]}"

    @property
    def ca_path(self) -> str | None:
        return self.upstream.ca_path

    def open(self) -> None:
        """Stop holding: later requests are forwarded; a request already held is dropped."""
        with self._lock:
            self.hold_after = -1
        self._release.set()

    def __enter__(self) -> UploadGate:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    def _should_hold(self, method: str, path: str) -> bool:
        if method != "PATCH" or not re.match(rf"/v2/{re.escape(self.repo)}/blobs/uploads/", path):
            return False
        with self._lock:
            if 0 <= self.hold_after <= self.patches_forwarded:
                return True
            self.patches_forwarded += 1
            return False

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        gate = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if gate._should_hold(self.command, self.path):
                    gate.held.set()
                    gate._release.wait(timeout=300)
                    self.close_connection = True
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                upstream = gate.upstream.connection()
                try:
                    upstream.request(self.command, self.path, body=body if length or self.command in (
                        "POST", "PUT", "PATCH") else None, headers=headers)
                    response = upstream.getresponse()
                    data = response.read()
                finally:
                    upstream.close()
                self.send_response_only(response.status, response.reason)
                for name, value in response.getheaders():
                    if name.lower() not in _HOP_BY_HOP and name.lower() != "content-length":
                        self.send_header(name, value)
                # HEAD answers carry the size of what a GET would return (a blob's size): keep it.
                self.send_header("Content-Length", response.getheader("Content-Length") or "0"
                                 if self.command == "HEAD" else str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

        return Handler
