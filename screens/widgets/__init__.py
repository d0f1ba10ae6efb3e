"""Reusable widgets of the wizard's pages, one per module; they post messages up and never call their page."""
