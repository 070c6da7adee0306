"""Authorization: which routes exist, and what a patient link may reach through them.

Deny by default. The app registers only the routes in `ROUTES`; everything else (Voilà's
tree, render, contents, files, kernels, shutdown, preheat and progressive-rendering sockets,
themes, labextensions, JupyterLab, login) answers 404 because it is not there. The patient
a page shows comes from the token alone (`PatientUser.patient_id`): no route takes a patient,
a notebook path, a template or a theme from the URL.

`PatientAuthorizer` is set as the jupyter_server authorizer all the same, and refuses every
action on every resource, so a Jupyter API handler added by mistake would still be closed.
"""

from __future__ import annotations

from types import MappingProxyType

from jupyter_server.auth.authorizer import Authorizer
from jupyter_server.auth.identity import User
from tornado import web

__all__ = ["ROUTES", "PatientAuthorizer"]

ROUTES = MappingProxyType(
    {
        "/": "the dashboard of the link's patient (same as /dashboard)",
        "/dashboard": "the dashboard of the link's patient: GET/HEAD, ?token= or the cookie",
        "/dashboard/summary.pdf": "the session patient's latest after-visit summary (PDF)",
        "/static/dashboard.css": "the page's stylesheet (no patient data)",
        "/checkin": "opens a check-in link's session (?token=), then its open check-in",
        "/checkin/<id>": "the session patient's check-in: GET the form, POST (CSRF) answers",
    }
)
"""Every path the server answers; anything else is 404."""


class PatientAuthorizer(Authorizer):
    """Refuses every Jupyter API action: the dashboard app offers none to a patient."""

    def is_authorized(
        self, handler: web.RequestHandler, user: User, action: str, resource: str
    ) -> bool:
        self.log.warning("refused Jupyter API %s on %s (no such access here)", action, resource)
        return False
