"""The wizard's upgrade path: which install, which profile, the plan, the checks, the backup, then progress.

Each page is a `Screen[str]` like every other page; what they share (the install, the target, the
operator's choices) is one UpgradeState on the app. Every page runs a phase of the one upgrade
pipeline (installer/app/upgrade.py), the same steps and journal as `./install.sh upgrade`.
"""
from __future__ import annotations

PAGES = ("upgrade-install", "upgrade-target", "upgrade-plan", "upgrade-checks", "upgrade-backup", "upgrade-progress")


def page_classes() -> dict[str, type]:
    from screens.upgrade.backup import UpgradeBackupScreen
    from screens.upgrade.checks import UpgradeChecksScreen
    from screens.upgrade.install import UpgradeInstallScreen
    from screens.upgrade.plan import UpgradePlanScreen
    from screens.upgrade.progress import UpgradeProgressScreen
    from screens.upgrade.target import UpgradeTargetScreen

    return {"upgrade-install": UpgradeInstallScreen, "upgrade-target": UpgradeTargetScreen,
            "upgrade-plan": UpgradePlanScreen, "upgrade-checks": UpgradeChecksScreen,
            "upgrade-backup": UpgradeBackupScreen, "upgrade-progress": UpgradeProgressScreen}
