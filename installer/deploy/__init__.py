"""Deploying DIGIT: Helm releases in dependency order, readiness watch, rollback, DB bootstrap, verify, summary.

Importing this package is cheap; Helm, Kubernetes and PostgreSQL clients load only when used.
"""
