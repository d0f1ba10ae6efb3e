"""What the provision step made that later steps read: the managed database's endpoint and the filestore bucket.

The provision step journals them as its outputs (see installer/provision/cloud/step.py); the database and
configure steps read them here, typed, instead of digging in the outputs dict.
"""
from __future__ import annotations

from pydantic import BaseModel


class ProvisionedDatabase(BaseModel):
    host: str
    port: int = 5432
    name: str
    username: str


def provisioned_database(outputs: dict[str, dict]) -> ProvisionedDatabase | None:
    """The managed database the provision step made, from the journalled step outputs; None if it made none."""
    data = (outputs.get("provision") or {}).get("database")
    if not data or not data.get("host"):
        return None
    return ProvisionedDatabase.model_validate(data)


def provisioned_bucket(outputs: dict[str, dict]) -> str | None:
    """The filestore bucket the provision step made, if any."""
    return (outputs.get("provision") or {}).get("bucket") or None
