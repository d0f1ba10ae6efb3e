"""Preflight: collectors gather facts from nodes, cluster, database and domain; analyzers judge them."""
from installer.preflight.catalogue import CATALOGUE, Check, select
from installer.preflight.model import CheckResult, Report
from installer.preflight.runner import PreflightUsageError, run_preflight

__all__ = ["CATALOGUE", "Check", "CheckResult", "PreflightUsageError", "Report", "run_preflight", "select"]
