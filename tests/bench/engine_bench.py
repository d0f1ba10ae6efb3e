"""Engine overhead per step and the event rate each face sustains.

    .venv/bin/python tests/bench/engine_bench.py [--steps 200] [--events 100000]

Overhead: a pipeline of no-op steps through the real engine (lock, journal
with fsync on every transition, debug log, events); the time per step is what
the engine itself costs. Event rate: one step emits progress and log events as
fast as it can while one face renders them to /dev/null (rich as a terminal);
'emitted/s' is what the step sustained, 'rendered/s' what reached the face,
the rest was coalesced.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from installer.engine import Engine, Step
from installer.engine.faces import JsonFace, PlainFace, RichFace


def noop(ctx):
    return {"ok": True}


def bench_overhead(count: int, resume: bool) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        steps = [Step(f"s{i:03d}", f"step {i}", noop, sections=("name",)) for i in range(count)]
        answers = {"name": "bench"}
        t0 = time.perf_counter()
        Engine(steps, answers=answers, state_dir=Path(tmp), install="bench").run()
        full = time.perf_counter() - t0
        t0 = time.perf_counter()
        Engine(steps, answers=answers, state_dir=Path(tmp), install="bench", resume=True).run()
        skipped = time.perf_counter() - t0
    return full / count, skipped / count


def bench_face(name: str, events: int) -> dict:
    devnull = open(os.devnull, "w")
    face = {"plain": lambda: PlainFace(devnull, progress_interval=0.0), "json": lambda: JsonFace(devnull),
            "rich": lambda: RichFace(devnull, force_terminal=True)}[name]()
    counted = {"delivered": 0}

    def counter(event):
        counted["delivered"] += 1

    def flood(ctx):
        for i in range(events):
            if i % 10 == 0:
                ctx.log(f"line {i}", task=f"release-{i % 7}")
            else:
                ctx.progress(i, events, "events", task=f"release-{i % 7}")
        return {}

    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine([Step("flood", "flood", flood)], answers={}, state_dir=Path(tmp), install="bench",
                        sinks=[face, counter])
        t0 = time.perf_counter()
        engine.run()
        elapsed = time.perf_counter() - t0
        face.close()
    devnull.close()
    bus = engine.bus
    return {"face": name, "emitted": bus.emitted, "rendered": counted["delivered"], "coalesced": bus.coalesced,
            "seconds": elapsed, "emitted_per_s": bus.emitted / elapsed, "rendered_per_s": counted["delivered"] / elapsed}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args()
    for count in (11, args.steps):
        full, skipped = bench_overhead(count, resume=False)
        print(f"engine overhead per step ({count} no-op steps): run {full * 1000:.2f} ms, "
              f"skip on resume {skipped * 1000:.2f} ms")
    print(f"{'face':<6} {'events':>8} {'rendered':>9} {'coalesced':>9} {'seconds':>8} {'emitted/s':>10} {'rendered/s':>10}")
    for name in ("plain", "json", "rich"):
        r = bench_face(name, args.events)
        print(f"{r['face']:<6} {r['emitted']:>8} {r['rendered']:>9} {r['coalesced']:>9} {r['seconds']:>8.2f} "
              f"{r['emitted_per_s']:>10.0f} {r['rendered_per_s']:>10.0f}")


if __name__ == "__main__":
    main()
