"""The catalog loader: clinic drop-in files, the cached default, and bad files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from casebook.catalog import CatalogError, Instrument, default_catalog, load_catalog


def test_default_catalog_is_cached_and_reads_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CASEBOOK_CATALOG_DIR", raising=False)
    default_catalog.cache_clear()
    try:
        assert default_catalog() is default_catalog()
        assert "clinic_gut_score" not in default_catalog().instruments
        _write(tmp_path / "instruments" / "clinic_gut_score.toml", _instrument())
        monkeypatch.setenv("CASEBOOK_CATALOG_DIR", str(tmp_path))
        default_catalog.cache_clear()
        assert "clinic_gut_score" in default_catalog().instruments
    finally:
        default_catalog.cache_clear()


# --- clinic drop-in files -------------------------------------------------------------------


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _instrument(key: str = "clinic_gut_score", bands: str = "", alerts: str = "") -> str:
    """A synthetic instrument with invented items (never licensed text): 3 items, 0-2."""
    bands = (
        bands
        or """
[[bands]]
min = 0
max = 2
label = "low"
patient_text = "Few gut complaints this week."

[[bands]]
min = 3
max = 6
label = "high"
patient_text = "Several gut complaints this week."
"""
    )
    items = "".join(
        f'[[items]]\nid = "{n}"\ntext = "Invented question number {n}"\n\n' for n in (1, 2, 3)
    )
    options = "".join(
        f'[[options]]\nvalue = {v}\nlabel = "{lab}"\n\n'
        for v, lab in ((0, "no"), (1, "a little"), (2, "a lot"))
    )
    return (
        f'key = "{key}"\nname = "Clinic gut score (synthetic)"\nshort_name = "CGS"\n'
        'measures = "gut complaints"\nlicence = "Written by the clinic for testing"\n'
        'source = "Synthetic test fixture"\n\n' + options + items + bands + alerts
    )


def test_clinic_instrument_drop_in_loads(tmp_path: Path) -> None:
    _write(tmp_path / "instruments" / "clinic_gut_score.toml", _instrument())
    cat = load_catalog(tmp_path)
    instrument = cat.instrument("clinic_gut_score")
    assert isinstance(instrument, Instrument) and instrument.total_range == (0, 6)
    assert cat.sources["clinic_gut_score"] == str(
        tmp_path / "instruments" / "clinic_gut_score.toml"
    )
    assert "phq9" in cat.instruments  # shipped ones stay


def test_clinic_instrument_as_json(tmp_path: Path) -> None:
    import tomllib

    data = tomllib.loads(_instrument("clinic_json_score"))
    _write(tmp_path / "instruments" / "clinic_json_score.json", json.dumps(data))
    assert load_catalog(tmp_path).instrument("clinic_json_score").short_name == "CGS"


def test_clinic_can_add_tests_and_rules(tmp_path: Path) -> None:
    _write(
        tmp_path / "tests.toml",
        """
[[test]]
key = "clinic_marker"
name = "Clinic marker"
patient_name = "Clinic marker"
group = "blood"
unit = "U/L"
ref_high = 40
evidence = "supportive"
evidence_note = "Synthetic."
patient_note = "Synthetic."
source = "Synthetic"
""",
    )
    _write(
        tmp_path / "red_flags.toml",
        """
[[rule]]
key = "clinic_marker_high"
kind = "lab"
test = "clinic_marker"
above = 80
label = "Clinic marker high"
action = "Review."
source = "Synthetic"
""",
    )
    cat = load_catalog(tmp_path)
    assert cat.test("clinic_marker").ref_high == 40
    assert cat.red_flags[-1].key == "clinic_marker_high"


# --- bad files --------------------------------------------------------------------------------


def _error(tmp_path: Path) -> str:
    with pytest.raises(CatalogError) as info:
        load_catalog(tmp_path)
    return str(info.value)


def test_gap_in_bands(tmp_path: Path) -> None:
    bands = """
[[bands]]
min = 0
max = 2
label = "low"

[[bands]]
min = 4
max = 6
label = "high"
"""
    _write(tmp_path / "instruments" / "clinic_gut_score.toml", _instrument(bands=bands))
    msg = _error(tmp_path)
    assert "instruments/clinic_gut_score.toml: bands: bands must cover 0-6" in msg
    assert "starts at 4, expected 3" in msg


def test_unknown_alert_item(tmp_path: Path) -> None:
    alerts = '\n[[alerts]]\nitem = "7"\nmin_value = 1\nmessage = "Call"\nsource = "Synthetic"\n'
    _write(tmp_path / "instruments" / "clinic_gut_score.toml", _instrument(alerts=alerts))
    msg = _error(tmp_path)
    assert "clinic_gut_score.toml: alerts: alert refers to unknown item '7'" in msg


def test_duplicate_key(tmp_path: Path) -> None:
    entry = '[[symptom]]\nkey = "nausea"\nlabel = "Nausea"\npatient_label = "Feeling sick"\n\n'
    _write(tmp_path / "symptoms.toml", entry + entry)
    msg = _error(tmp_path)
    assert "symptoms.toml: symptom 'nausea' (entry 2): duplicate key 'nausea'" in msg
    assert "(entry 1)" in msg


def test_shadowing_a_shipped_key_names_both_files(tmp_path: Path) -> None:
    _write(tmp_path / "instruments" / "phq9.toml", _instrument("phq9"))
    msg = _error(tmp_path)
    assert str(tmp_path / "instruments" / "phq9.toml") in msg
    assert "already defined by the shipped catalog (instruments/phq9.toml)" in msg


def test_shadowing_across_kinds(tmp_path: Path) -> None:
    _write(
        tmp_path / "symptoms.toml",
        '[[symptom]]\nkey = "ferritin"\nlabel = "X"\npatient_label = "X"\n',
    )
    msg = _error(tmp_path)
    assert "symptoms.toml: symptom 'ferritin' (entry 1): key 'ferritin'" in msg
    assert "tests.toml: test 'ferritin'" in msg


def test_malformed_toml_names_file_and_line(tmp_path: Path) -> None:
    _write(tmp_path / "protocols.toml", '[[protocol]]\nkey = "x"\nname = \n')
    msg = _error(tmp_path)
    assert "protocols.toml: malformed TOML" in msg and "line 3" in msg


def test_malformed_json_names_file_and_line(tmp_path: Path) -> None:
    text = '{\n  "key": "clinic_x",\n}'
    _write(tmp_path / "instruments" / "clinic_x.json", text)
    msg = _error(tmp_path)
    # the trailing comma's line 2 on Python 3.13, the brace's line 3 before it
    with pytest.raises(json.JSONDecodeError) as parsed:
        json.loads(text)
    assert "instruments/clinic_x.json: malformed JSON" in msg
    assert f"line {parsed.value.lineno}" in msg


def test_bad_evidence_label(tmp_path: Path) -> None:
    _write(
        tmp_path / "tests.toml",
        """
[[test]]
key = "clinic_marker"
name = "Clinic marker"
patient_name = "Clinic marker"
group = "blood"
unit = "U/L"
evidence = "proven"
evidence_note = "Synthetic."
patient_note = "Synthetic."
source = "Synthetic"
""",
    )
    msg = _error(tmp_path)
    assert "tests.toml: test 'clinic_marker' (entry 1): evidence: Input should be" in msg
    assert "'proven'" in msg


def test_numeric_test_without_unit_names_the_field(tmp_path: Path) -> None:
    _write(
        tmp_path / "tests.toml",
        """
[[test]]
key = "clinic_marker"
name = "Clinic marker"
patient_name = "Clinic marker"
group = "blood"
evidence = "supportive"
evidence_note = "Synthetic."
patient_note = "Synthetic."
source = "Synthetic"
""",
    )
    msg = _error(tmp_path)
    assert "tests.toml: test 'clinic_marker' (entry 1): unit: a numeric test needs a unit" in msg


def test_rule_referring_to_unknown_test(tmp_path: Path) -> None:
    _write(
        tmp_path / "red_flags.toml",
        """
[[rule]]
key = "clinic_rule"
kind = "lab"
test = "no_such_test"
above = 1
label = "X"
action = "X"
source = "X"
""",
    )
    msg = _error(tmp_path)
    assert "red_flags.toml: rule 'clinic_rule' (entry 1): test: unknown test 'no_such_test'" in msg


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ('kind = "screen"\nfield = "headache"', "field: 'headache' is not a yes/no field"),
        ('kind = "screen"\nfield = "symptom_onset"', "is not a yes/no field"),
        ('kind = "family_history"\nconditions = ["gout"]', "conditions: ['gout']"),
        ('kind = "instrument_alert"\ninstrument = "gad7"', "'gad7' defines no alerts"),
        ('kind = "instrument_alert"\ninstrument = "msq"', "unknown instrument 'msq'"),
        (
            'kind = "lab_flag"\ntest = "giardia_antigen"\nflags = ["X"]',
            "flags[0]: Input should be 'H', 'L' or 'A'",
        ),
        # one spelling: the worklist's "soon" is no red-flag urgency, and "same-day" is none
        (
            'kind = "screen"\nfield = "fever"\nurgency = "soon"',
            "urgency: a red flag's urgency is one of same_day, urgent, routine (got 'soon')",
        ),
        ('kind = "screen"\nfield = "fever"\nurgency = "same-day"', "urgency: Input should be"),
        ('kind = "lab"\ntest = "giardia_antigen"\nabove = 1', "needs a numeric test"),
        ('kind = "screen"\nfield = "fever"\ntest = "crp"', "test: not a parameter"),
        ('kind = "lab"\ntest = "crp"', "needs below, above"),
        # NG12 combinations: any-of lists, and an upper age bound
        (
            'kind = "age_with"\nmin_age = 40\nany_fields = ["headache"]',
            "field: 'headache' is not a yes/no field",
        ),
        (
            'kind = "age_with"\nmin_age = 40\nany_symptoms = ["hiccups"]',
            "any_symptoms: unknown symptom 'hiccups'",
        ),
        ('kind = "age_with"\nmin_age = 50\nunder_age = 50\nfields = ["fever"]', "above min_age"),
        ('kind = "age_with"\nmin_age = 18\nunder_age = 50\nrequires = ["anemia"]', "under_age"),
        ('kind = "screen"\nfield = "fever"\nunder_age = 50', "under_age: not a parameter"),
    ],
)
def test_bad_rules(tmp_path: Path, params: str, expected: str) -> None:
    _write(
        tmp_path / "red_flags.toml",
        f'[[rule]]\nkey = "clinic_rule"\n{params}\nlabel = "X"\naction = "X"\nsource = "X"\n',
    )
    msg = _error(tmp_path)
    assert "red_flags.toml: rule 'clinic_rule' (entry 1): " in msg
    assert expected in msg


def test_instrument_file_name_must_match_key(tmp_path: Path) -> None:
    _write(tmp_path / "instruments" / "other_name.toml", _instrument())
    assert "other_name.toml: key: instrument key 'clinic_gut_score'" in _error(tmp_path)


def test_stray_top_level_table(tmp_path: Path) -> None:
    _write(
        tmp_path / "symptoms.toml",
        '[[symptom]]\nkey = "nausea"\nlabel = "N"\npatient_label = "N"\n[extra]\nx = 1\n',
    )
    assert "symptoms.toml: unknown top-level key(s) ['extra']" in _error(tmp_path)


def test_several_problems_are_all_reported(tmp_path: Path) -> None:
    _write(tmp_path / "symptoms.toml", '[[symptom]]\nkey = "Bad Key"\nlabel = ""\n')
    msg = _error(tmp_path)
    assert msg.startswith("3 problems in the catalog")
    for field in ("key:", "label:", "patient_label: Field required"):
        assert f"symptoms.toml: symptom 'Bad Key' (entry 1): {field}" in msg


def test_missing_extra_dir(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="does not exist"):
        load_catalog(tmp_path / "absent")
