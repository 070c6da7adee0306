"""The kinds of user of a PostgreSQL store, each explained in one line (one spelling: the
CLI's help, the API and the README say these). Importing this loads no SQLAlchemy."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ROLE_HELP", "Role", "roles_help"]


class Role(StrEnum):
    PRACTITIONER = "practitioner"
    FRONT_DESK = "front-desk"
    REVIEWER = "reviewer"
    ADMIN = "admin"


ROLE_HELP: dict[Role, str] = {
    Role.PRACTITIONER: "reads and writes the clinical record",
    Role.FRONT_DESK: "patients' names and contact, access links, check-ins and "
    "appointments; no results, notes or plans",
    Role.REVIEWER: "reads the record, never writes",
    Role.ADMIN: "adds and disables users; reads no records",
}


def roles_help() -> str:
    """Every role and what it may do, in one paragraph."""
    return "; ".join(f"{role}: {what}" for role, what in ROLE_HELP.items())
