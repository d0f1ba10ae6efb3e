"""A TCP proxy that delays every forwarded chunk by a fixed time in each direction: a long link.

The machines running the rig have no `tc netem` ("Specified qdisc kind is unknown"), so the round
trip of a data centre's links is modelled here instead: each node's sshd listens on its own
loopback (inside its network namespace) and this proxy listens on the node's address and port,
forwarding both ways. A chunk read at time t is written at t + delay, in order, so the link has
latency but no bandwidth limit (chunks in flight overlap, as on a real link).

One process serves every node of a rig. A listening or upstream socket for a node in a network
namespace is created inside that namespace (setns on the creating thread, then back), so the
proxy itself runs in the jump host's namespace and is stopped by its pid file.

    python -m tests.rig.delay_proxy --config FILE --pid-file FILE
    config: {"delay": 0.03, "links": [{"listen": [host, port], "upstream": [host, port], "netns": name|null}]}
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import json
import os
import signal
import socket
from pathlib import Path
from typing import Any
from collections.abc import Iterator

CLONE_NEWNET = 0x40000000
CHUNK = 65536
_libc = ctypes.CDLL(None, use_errno=True)


@contextlib.contextmanager
def in_netns(name: str | None) -> Iterator[None]:
    """Run the body with this thread in network namespace `name` (None: stay where it is)."""
    if not name:
        yield
        return
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(f"/var/run/netns/{name}", os.O_RDONLY)
    try:
        if _libc.setns(target, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns into {name}")
        try:
            yield
        finally:
            if _libc.setns(home, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns back to the proxy's own namespace")
    finally:
        os.close(target)
        os.close(home)


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    """Forward reader to writer, each chunk `delay` seconds after it arrived, in order."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def deliver() -> None:
        while True:
            due, data = await queue.get()
            if not data:
                break
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()
        with contextlib.suppress(OSError):
            if writer.can_write_eof():
                writer.write_eof()

    sender = asyncio.create_task(deliver())
    try:
        while True:
            data = await reader.read(CHUNK)
            queue.put_nowait((loop.time() + delay, data))
            if not data:
                break
        await sender
    except (ConnectionError, OSError):
        sender.cancel()
    finally:
        if not sender.done():
            await asyncio.gather(sender, return_exceptions=True)


class Link:
    def __init__(self, listen: tuple[str, int], upstream: tuple[str, int], netns: str | None, delay: float) -> None:
        self.listen, self.upstream, self.netns, self.delay = listen, upstream, netns, delay

    async def start(self) -> asyncio.base_events.Server:
        with in_netns(self.netns):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(self.listen)
        sock.listen(512)
        sock.setblocking(False)
        return await asyncio.start_server(self.serve, sock=sock)

    async def serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            with in_netns(self.netns):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            await asyncio.wait_for(asyncio.get_running_loop().sock_connect(sock, self.upstream), 10)
            up_reader, up_writer = await asyncio.open_connection(sock=sock)
        except (TimeoutError, OSError):
            client_writer.close()
            return
        with contextlib.suppress(OSError):
            client_writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            await asyncio.gather(_pump(client_reader, up_writer, self.delay),
                                 _pump(up_reader, client_writer, self.delay))
        finally:
            for writer in (client_writer, up_writer):
                writer.close()


async def serve(config: dict[str, Any], ready: Path | None) -> None:
    delay = float(config["delay"])
    servers = [await Link(tuple(link["listen"]), tuple(link["upstream"]), link.get("netns"), delay).start()
               for link in config["links"]]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if ready is not None:
        ready.write_text("ready\n")
    await stop.wait()
    for server in servers:
        server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--pid-file", required=True)
    parser.add_argument("--ready-file")
    args = parser.parse_args()
    Path(args.pid_file).write_text(f"{os.getpid()}\n")
    asyncio.run(serve(json.loads(Path(args.config).read_text()), Path(args.ready_file) if args.ready_file else None))


if __name__ == "__main__":
    main()
