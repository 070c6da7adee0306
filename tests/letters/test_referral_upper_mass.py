"""The referral letter for an upper abdominal mass names the NICE NG12 recommendation that
the examination finding meets (1.2.6 stomach, 1.2.10 gall bladder, 1.2.11 liver), never a
clause for another organ; with no finding recorded it names no pathway. Read from the
letter's text."""

from __future__ import annotations

import html
import re

import pytest
from letters_helpers import TODAY

from casebook.catalog import Catalog
from casebook.letters import ClinicSettings, referral_letter
from casebook.models import AlarmScreen, Case, Patient, Visit

PID = "p-upper-mass"
STOMACH = "Meets NICE NG12 1.2.6: consider a suspected cancer pathway referral for stomach cancer."
GALL_BLADDER = (
    "Meets NICE NG12 1.2.10: consider an urgent direct-access ultrasound scan (within 2 weeks) "
    "for gall bladder cancer."
)
LIVER = (
    "Meets NICE NG12 1.2.11: consider an urgent direct-access ultrasound scan (within 2 weeks) "
    "for liver cancer."
)


def _letter_text(catalog: Catalog, settings: ClinicSettings, **screen: bool) -> str:
    patient = Patient(id=PID, name="Upper Mass", birth_date=TODAY.replace(year=TODAY.year - 62))
    visit = Visit(patient_id=PID, visit_date=TODAY, screen=AlarmScreen(**screen))
    case = Case(patient=patient, visits=[visit])
    page = referral_letter(case, catalog, settings, to="Dr X", on=TODAY).html
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


@pytest.mark.parametrize(
    ("finding", "met", "not_met"),
    [
        ("mass_consistent_with_stomach_cancer", STOMACH, (GALL_BLADDER, LIVER)),
        ("mass_consistent_with_enlarged_gall_bladder", GALL_BLADDER, (STOMACH, LIVER)),
        ("mass_consistent_with_enlarged_liver", LIVER, (STOMACH, GALL_BLADDER)),
    ],
)
def test_the_letter_names_the_recommendation_the_finding_meets(
    catalog: Catalog, settings: ClinicSettings, finding: str, met: str, not_met: tuple[str, ...]
) -> None:
    text = _letter_text(catalog, settings, **{finding: True})
    assert met in text
    assert not any(other in text for other in not_met)
    assert "if consistent with" not in text
    # the abdominal mass of the colorectal rule (FIT) is raised beside it
    assert "Abdominal or rectal mass: answered yes" in text


def test_gall_bladder_and_liver_both_found_name_both_scans(
    catalog: Catalog, settings: ClinicSettings
) -> None:
    text = _letter_text(
        catalog,
        settings,
        mass_consistent_with_enlarged_gall_bladder=True,
        mass_consistent_with_enlarged_liver=True,
    )
    assert GALL_BLADDER in text and LIVER in text and STOMACH not in text


def test_an_upper_mass_without_a_finding_names_no_organ_pathway(
    catalog: Catalog, settings: ClinicSettings
) -> None:
    text = _letter_text(catalog, settings, upper_abdominal_mass=True)
    assert "Upper abdominal mass (what it is consistent with not recorded)" in text
    assert not any(p in text for p in (STOMACH, GALL_BLADDER, LIVER))
    assert "Meets NICE NG12 1.2.6" not in text
