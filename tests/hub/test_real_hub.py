"""A real JupyterHub with two practitioners, a front-desk user and a reviewer, each with
their own database login handed over by the hub (issue 23's acceptance test).

Each user gets a token and starts their own server through the hub's REST API; code runs
in a kernel of that server, as a practitioner's workbook would. The audit log names each
writer by their database login even when they claim to be someone else, the front desk
cannot read results, the reviewer cannot save, and the patient dashboard behind the same
proxy serves one patient per link."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from hub_helpers import Hub, free_port, proxy_binary, start_hub

from casebook.demo.synthetic import generate_cases
from casebook.hub import HubSettings
from casebook.hub.setup import add_hub_user, init_hub
from casebook.store import import_cases

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

SAVE = """
import os
os.environ["CASEBOOK_USER"] = {claimed!r}
from datetime import date
from casebook.models import Note
from casebook.store import CaseStore
with CaseStore(None, actor={claimed!r}) as store:
    store.save(Note(patient_id={patient!r}, written_on=date.today(), text={text!r}))
print("SAVED")
"""

SHOW = """
import subprocess, sys
r = subprocess.run([sys.executable, "-m", "casebook.cli", "show", {patient!r}],
                   capture_output=True, text=True)
print("EXIT", r.returncode)
print(r.stderr)
"""

WORKBOOK = """
from casebook.workbook.sections import open_case
session = open_case({patient!r}, "")  # the server's own login, as the workbook opens it
print("READ-ONLY:", session.read_only)
session.close()
"""

GRANT = """
import subprocess, sys
r = subprocess.run([sys.executable, "-m", "casebook.cli", "access", "grant", {patient!r}],
                   capture_output=True, text=True)
print(r.stdout, r.stderr)
"""


@pytest.fixture
def clinic_hub(pg_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    from pg_roles import Clinic

    from casebook.hub.config import installed_command

    jupyterhub = installed_command("jupyterhub")
    if jupyterhub is None:
        pytest.skip("jupyterhub is not installed (pip install 'casebook[hub]')")
    proxy = proxy_binary()
    if proxy is None:
        pytest.skip("configurable-http-proxy is not installed (.ci/run puts it in .cache/hub)")
    clinic = Clinic(pg_url)
    hub: Hub | None = None
    try:
        cases = generate_cases(2, seed=11, catalog=clinic.owner.catalog)
        import_cases(clinic.owner, cases)
        suffix = uuid.uuid4().hex[:8]
        users = {
            "alice": f"alice_{suffix}",
            "bob": f"bob_{suffix}",
            "frank": f"frank_{suffix}",
            "rita": f"rita_{suffix}",
        }
        port = free_port()
        folder = tmp_path / "hub"
        settings = HubSettings(
            port=port,
            public_url=f"http://127.0.0.1:{port}",
            authenticator="dummy",
            spawner="simple",
            dashboard_port=free_port(),
            dashboard_login=f"dash_{suffix}",
        )
        init_hub(folder, settings, admin_url=pg_url)
        clinic.made.append(settings.dashboard_login)
        roles = {"alice": "practitioner", "bob": "practitioner", "frank": "front-desk"}
        roles["rita"] = "reviewer"
        for who, role in roles.items():
            add_hub_user(folder, pg_url, users[who], role)
            clinic.made.append(users[who])
        hub = start_hub(jupyterhub, proxy, folder, port, tmp_path / "hub.log")
        yield hub, users, [c.patient for c in cases], clinic
    finally:
        if hub is not None:
            hub.stop()
        clinic.drop_roles()


def test_a_clinic_on_a_real_hub(clinic_hub) -> None:  # type: ignore[no-untyped-def]
    hub, users, patients, clinic = clinic_hub
    alice, bob, frank, rita = users["alice"], users["bob"], users["frank"], users["rita"]
    patient, other = patients
    for name in users.values():
        hub.sign_in(name)
        hub.start_server(name)

    # A stranger's token cannot reach a practitioner's server.
    status, _ = hub.api("GET", f"/user/{alice}/api/status", token=hub.tokens[bob])
    assert status in (403, 404), status

    # Each practitioner saves, and claims to be the other: the log names who really did.
    out = hub.run(alice, SAVE.format(claimed=bob, patient=patient.id, text="entry one"))
    assert "SAVED" in out, out
    out = hub.run(bob, SAVE.format(claimed=alice, patient=patient.id, text="entry two"))
    assert "SAVED" in out, out
    notes = [e for e in clinic.owner.audit_log(patient.id) if e.entity == "note"]
    by_text = {e.after["text"]: e.actor for e in notes if isinstance(e.after, dict)}
    assert by_text == {"entry one": alice, "entry two": bob}, by_text
    assert clinic.owner.verify_audit_log().intact

    # The front desk cannot read results: one line, no traceback.
    out = hub.run(frank, SHOW.format(patient=patient.id))
    assert "EXIT 1" in out and "your role cannot read results" in out, out
    assert "Traceback" not in out

    # The reviewer reads but cannot save, and the workbook opened by them says so.
    out = hub.run(rita, WORKBOOK.format(patient=patient.id))
    assert "READ-ONLY: Read-only: your role (reviewer) reads the record" in out, out
    assert "READ-ONLY: None" in hub.run(alice, WORKBOOK.format(patient=patient.id))
    out = hub.run(rita, SAVE.format(claimed=rita, patient=patient.id, text="entry three"))
    assert "SAVED" not in out, out
    assert not [e for e in clinic.owner.audit_log(patient.id) if e.actor == rita]

    # The front desk hands out a link; the dashboard behind the hub's proxy shows that
    # patient, and only that patient.
    out = hub.run(frank, GRANT.format(patient=patient.id))
    match = re.search(r"http://127\.0\.0\.1:\d+(/dashboard\?token=[\w-]+)", out)
    assert match, out
    status, _page, session = hub.get(match.group(1))  # the link opens a session
    assert status == 200 and session, _page[-2000:]
    status, page, _ = hub.get("/dashboard", cookie=session)  # the page, by its cookie
    assert status == 200, page[-2000:]
    assert patient.name.split()[0] in page and other.name.split()[0] not in page
    assert hub.get("/dashboard?token=not-a-real-token")[0] == 403
