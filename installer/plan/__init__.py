"""The deployment plan: releases, order, values, cluster objects and rendered manifests.

    plan = build_plan(answers, outputs=ctx.outputs, store=SecretStore(...))   # build.py
    render_plan(plan, engine)       # render.py: Helm's real engine, offline; fills plan.rendered
    plan.releases()                 # model.py: what the deploy steps need per release (ReleasePlan)
    plan_summary(plan)              # report.py: plan.json content, no secret values
    plan_text(plan)                 # report.py: the readable table (plan.txt)

The wizard's review screen, the `plan` command and the configure step all call build_plan, so
they show and apply the same thing. The same answers (and stored secrets) give the same plan.
The plan also owns the values of the add-ons (addons.py): deploy consumes them as planned.
"""

from installer.plan.build import build_plan
from installer.plan.graph import PlanError, PlannedRelease, ReleaseGraph
from installer.plan.model import Plan, ReleasePlan, RenderedRelease
from installer.plan.render import render_plan
from installer.plan.report import plan_summary, plan_text
from installer.plan.values import Pending

__all__ = ["Pending", "Plan", "PlanError", "PlannedRelease", "ReleaseGraph", "ReleasePlan", "RenderedRelease",
           "build_plan", "plan_summary", "plan_text", "render_plan"]
