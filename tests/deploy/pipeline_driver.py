"""The headless install with the standard pipeline minus preflight (its node checks are tested on their own).

    python -m tests.deploy.pipeline_driver --answers FILE --state-dir DIR [--resume] [--output json]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys


def without_preflight(answers):
    from installer.app.pipeline import build_steps

    steps = []
    for step in build_steps(answers):
        if step.id == "preflight":
            continue
        steps.append(dataclasses.replace(step, needs=tuple("validate" if n == "preflight" else n for n in step.needs)))
    return steps


def main() -> int:
    from installer.app.headless import run

    parser = argparse.ArgumentParser()
    parser.add_argument("--answers", required=True)
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--output", default="json")
    args = parser.parse_args()
    args.yes = True
    return run(args, steps_for=without_preflight)


if __name__ == "__main__":
    sys.exit(main())
