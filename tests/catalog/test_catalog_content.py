"""The shipped catalog: what it holds (symptoms, instruments, tests, protocols, red flags)."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import pytest

import casebook.catalog as catalog_module
from casebook.catalog import Catalog, load_catalog
from casebook.models import PLAN_CATEGORIES, AlarmScreen

SYMPTOM_KEYS = [
    "abdominal_pain",
    "bloating",
    "diarrhea",
    "constipation",
    "fatigue",
    "headaches",
    "skin_problems",
    "joint_pain",
    "brain_fog",
    "food_intolerances",
    "anxiety_depression",
]
TEST_KEYS = {
    "calprotectin",
    "ttg_iga",
    "total_iga",
    "ttg_igg",
    "dgp_igg",
    "crp",
    "hs_crp",
    "hemoglobin",
    "ferritin",
    "vitamin_d",
    "vitamin_b12",
    "albumin",
    "giardia_antigen",
    "ova_parasites",
    "sibo_breath_h2",
    "sibo_breath_ch4",
    "lactulose_mannitol",
    "zonulin",
    "secretory_iga",
    "food_igg_panel",
    "h_pylori_stool_antigen",
    "h_pylori_breath",
    "mcv",
    "platelets",
    "fit",
    "stool_comprehensive",
    "stool_microbiome",
    "sibo_glucose_h2",
    "sibo_glucose_ch4",
    "sibo_lactulose_h2",
    "sibo_lactulose_ch4",
}


@pytest.fixture(scope="module")
def cat() -> Catalog:
    return load_catalog()


# --- the shipped catalog ------------------------------------------------------------------


def test_shipped_catalog_loads(cat: Catalog) -> None:
    assert isinstance(cat, Catalog)
    assert repr(cat).startswith("Catalog(11 symptoms, 5 instruments")
    assert cat.sources["phq9"] == "instruments/phq9.toml"
    assert cat.sources["ferritin"] == "tests.toml"
    assert cat.sources["bloating"] == "symptoms.toml"
    with pytest.raises(TypeError):
        cat.tests["x"] = cat.tests["crp"]  # type: ignore[index]


def test_exactly_the_eleven_symptoms_in_order(cat: Catalog) -> None:
    assert [s.key for s in cat.symptoms] == SYMPTOM_KEYS
    assert all(s.label and s.patient_label and s.description for s in cat.symptoms)
    assert cat.symptom("joint_pain").label == "Joint pain or stiffness"
    with pytest.raises(KeyError, match="unknown symptom 'nausea'"):
        cat.symptom("nausea")


def test_only_free_instruments_are_shipped(cat: Catalog) -> None:
    assert set(cat.instruments) == {"phq9", "gad7", "pss10", "fas", "bristol"}
    names = " ".join(f"{i.key} {i.name} {i.short_name}" for i in cat.instruments.values()).lower()
    for licensed in ("msq", "gsrs", "ibs-sss", "ibs_sss", "medical symptoms questionnaire"):
        assert licensed not in names
    data = Path(catalog_module.__file__).parent / "data" / "instruments"
    assert sorted(p.name for p in data.iterdir()) == [
        "bristol.toml",
        "fas.toml",
        "gad7.toml",
        "phq9.toml",
        "pss10.toml",
    ]
    with pytest.raises(KeyError, match=r"unknown instrument 'msq'.*licence"):
        cat.instrument("msq")


def test_instrument_details(cat: Catalog) -> None:
    phq9 = cat.instrument("phq9")
    assert [i.id for i in phq9.items] == [str(n) for n in range(1, 10)]
    assert phq9.option_values == (0, 1, 2, 3) and phq9.total_range == (0, 27)
    assert [(b.min, b.max) for b in phq9.bands] == [(0, 4), (5, 9), (10, 14), (15, 19), (20, 27)]
    assert [(a.item, a.min_value) for a in phq9.alerts] == [("9", 1)]
    assert (phq9.loinc_panel, phq9.loinc_total) == ("44249-1", "44261-6")
    gad7 = cat.instrument("gad7")
    assert (gad7.loinc_panel, gad7.loinc_total) == ("69737-5", "70274-6")
    assert [(b.min, b.max) for b in gad7.bands] == [(0, 4), (5, 9), (10, 14), (15, 21)]
    pss = cat.instrument("pss10")
    assert {i.id for i in pss.items if i.reverse} == {"4", "5", "7", "8"}
    assert [(b.min, b.max) for b in pss.bands] == [(0, 13), (14, 26), (27, 40)]
    fas = cat.instrument("fas")
    assert {i.id for i in fas.items if i.reverse} == {"4", "10"}
    assert fas.total_range == (10, 50)
    assert [(b.min, b.max) for b in fas.bands] == [(10, 21), (22, 34), (35, 50)]
    for free_for_clinical in (pss, fas):
        assert free_for_clinical.loinc_total is None
    # the foundation's own attribution, word for word (ildcare.nl, conditions of use)
    attribution = "© FAS (Fatigue Assessment Scale): ild care foundation (www.ildcare.nl)"
    assert fas.licence.startswith(attribution)
    assert "fee" in fas.licence and "Tilburg" not in fas.licence
    assert "non-commercial" in pss.licence and "Mind Garden" in pss.licence
    assert "confirm" in pss.licence
    bristol = cat.instrument("bristol")
    assert bristol.scoring == "category" and [i.id for i in bristol.items] == ["type"]
    assert bristol.option_values == tuple(range(1, 8))
    assert [(b.min, b.max, b.label) for b in bristol.bands] == [
        (1, 2, "constipation"),
        (3, 4, "normal"),
        (5, 7, "loose"),
    ]
    for instrument in cat.instruments.values():
        assert instrument.licence and instrument.source
        assert all(b.patient_text for b in instrument.bands), instrument.key


def test_lab_tests(cat: Catalog) -> None:
    assert set(cat.tests) >= TEST_KEYS
    assert {t.group for t in cat.tests.values()} == {"blood", "urine", "stool", "breath"}
    for test in cat.tests.values():
        assert test.evidence and test.evidence_note and test.patient_note and test.source
        if test.loinc is not None:
            assert test.loinc_verified is False, test.key
    assert cat.test("zonulin").evidence == "not-recommended"
    assert cat.test("zonulin").patient_note.startswith("This test is not reliable")
    assert cat.test("food_igg_panel").evidence == "not-recommended"
    assert cat.test("food_igg_panel").kind == "qualitative"
    assert cat.test("lactulose_mannitol").evidence == "research-only"
    assert cat.test("secretory_iga").evidence == "research-only"
    assert cat.test("lactulose_mannitol").group == "urine"
    assert cat.test("sibo_breath_h2").group == "breath" == cat.test("sibo_breath_ch4").group
    calpro = cat.test("calprotectin")
    assert calpro.ref_high == 50 and calpro.accepts_unit("µg/g") and calpro.accepts_unit("ug/g")
    assert calpro.unit == "µg/g"  # as labs write it
    assert "NSAIDs" in calpro.evidence_note and "PPIs" in calpro.evidence_note
    crp = cat.test("crp")
    assert crp.ref_high == 5  # the printed upper limit; the alarm threshold is a rule
    assert "CRP alone neither rules IBD in nor out" in crp.evidence_note
    assert cat.test("vitamin_d").range_for("female") == (20, 100)
    hb = cat.test("hemoglobin")
    assert hb.range_for("female") == (12, None) and hb.range_for("male") == (13, None)
    giardia = cat.test("giardia_antigen")
    assert giardia.normal_values == ("negative", "not detected")
    assert giardia.abnormal_values == ("positive", "detected")
    assert cat.test("ova_parasites").kind == "qualitative"


def test_catalog_gaps_are_filled_with_honest_labels(cat: Catalog) -> None:
    assert cat.test("h_pylori_stool_antigen").group == "stool"
    assert cat.test("h_pylori_breath").kind == "qualitative"
    assert "Chey" in cat.test("h_pylori_stool_antigen").source
    assert {cat.test(k).group for k in ("hemoglobin", "mcv", "platelets")} == {"blood"}
    assert cat.test("fit").evidence == "guideline-backed" and "DG56" in cat.test("fit").source
    assert cat.test("stool_comprehensive").evidence == "research-only"
    assert cat.test("stool_microbiome").evidence == "not-recommended"
    for key in ("stool_comprehensive", "stool_microbiome"):
        assert cat.test(key).source and "casebook" not in cat.test(key).source.casefold()


@pytest.mark.parametrize("key", ["h_pylori_stool_antigen", "h_pylori_breath"])
def test_h_pylori_tests_follow_the_2024_acg_guideline(cat: Catalog, key: str) -> None:
    """ACG 2024 replaced 2017's guideline: breath or stool antigen test, a test of cure after
    treatment, and no serology (it cannot tell a current infection from a past one)."""
    test = cat.test(key)
    assert "Am J Gastroenterol 2024;119:1730-1753" in test.source
    assert "2017;112" not in test.source
    note = test.evidence_note
    assert "urea breath test" in note and "stool antigen test" in note
    assert "at least 4 weeks after every treatment" in note
    assert "Serology is not recommended" in note


@pytest.mark.parametrize(
    ("key", "current", "replaced"),
    [
        # WHO 2024 replaced the 2011 haemoglobin cut-offs (adult values unchanged)
        ("hemoglobin", "World Health Organization, 2024", "(2011)"),
        # the Endocrine Society's 2024 vitamin D guideline replaced its 2011 one
        ("vitamin_d", "J Clin Endocrinol Metab 2024;109:1907-1947", "Holick"),
        # NICE NG239 (2024) is the current guideline on vitamin B12 deficiency
        ("vitamin_b12", "NICE NG239", None),
        # NG12 as last updated in May 2025, cited by recommendation
        ("platelets", "1.2.3 and 1.2.9 (2015; guideline last updated May 2025)", "2015, last"),
        ("fit", "guideline last updated May 2025", "(2015, updated 2023)"),
    ],
)
def test_tests_cite_the_current_version_of_their_source(
    cat: Catalog, key: str, current: str, replaced: str | None
) -> None:
    source = cat.test(key).source
    assert current in source
    assert replaced is None or replaced not in source


def test_what_the_current_sources_changed_is_in_the_notes(cat: Catalog) -> None:
    vitamin_d = cat.test("vitamin_d").evidence_note
    assert "endorses no level" in vitamin_d and "against routine testing" in vitamin_d
    assert "Endocrine Society used 30" not in vitamin_d
    b12 = cat.test("vitamin_b12").evidence_note
    assert "total or active B12" in b12 and "methylmalonic acid" in b12


def test_breath_tests_record_their_substrate(cat: Catalog) -> None:
    breath = {t.key: t.substrate for t in cat.tests.values() if t.group == "breath"}
    assert breath["sibo_glucose_h2"] == breath["sibo_glucose_ch4"] == "glucose"
    assert breath["sibo_lactulose_h2"] == breath["sibo_lactulose_ch4"] == "lactulose"
    assert None not in breath.values()
    assert all(t.substrate is None for t in cat.tests.values() if t.group != "breath")


def test_a_breath_test_without_a_substrate_is_refused() -> None:
    from pydantic import ValidationError

    from casebook.catalog import LabTest

    with pytest.raises(ValidationError, match="substrate"):
        LabTest(
            key="b",
            name="b",
            patient_name="b",
            group="breath",
            unit="ppm",
            evidence="supportive",
            evidence_note="n",
            patient_note="n",
            source="s",
        )


def test_one_spelling_in_patient_and_practitioner_text(cat: Catalog) -> None:
    texts = [
        t
        for test in cat.tests.values()
        for t in (test.name, test.patient_name, test.evidence_note, test.patient_note)
    ]
    texts += [t for rule in cat.red_flags for t in (rule.label, rule.action)]
    texts += [t for p in cat.protocols for t in (p.name, p.instructions, p.rationale)]
    for text in texts:
        for british in ("coeliac", "haemoglobin", "anaemia", "diarrhoea"):
            assert british not in text.casefold(), text


def test_test_lookup_by_loinc(cat: Catalog) -> None:
    assert cat.test("718-7").key == "hemoglobin"
    assert cat.test("38445-3").key == "calprotectin"
    with pytest.raises(KeyError, match="unknown test 'nope'"):
        cat.test("nope")


def test_protocols(cat: Catalog) -> None:
    for category in PLAN_CATEGORIES:
        templates = cat.protocols_for(category)
        assert len(templates) >= 2, category
        assert all(t.evidence and t.source for t in templates)
    keys = {p.key: p for p in cat.protocols}
    assert keys["probiotic_trial"].evidence == "research-only"
    assert "ACG" in keys["low_fodmap_diet"].source
    assert "serology" in keys["gluten_free_trial"].name
    with pytest.raises(KeyError, match="unknown plan category"):
        cat.protocols_for("detox")


def test_red_flags(cat: Catalog) -> None:
    rules = cat.red_flags
    assert all(r.action and r.source for r in rules)
    screen_fields = {n for n in AlarmScreen.model_fields if n != "symptom_onset"}
    read = {r.field for r in rules if r.kind == "screen"}
    read |= {f for r in rules if r.kind == "age_with" for f in (*r.fields, *r.any_fields)}
    assert read == screen_fields  # every question asked is read by a rule, and no more
    assert [r.min_age for r in rules if r.kind == "onset_age"] == [50]
    by_key = {r.key: r for r in rules}
    assert (by_key["anemia"].kind, by_key["anemia"].test) == ("anemia", "hemoglobin")
    ida = by_key["iron_deficiency_anemia"]
    assert (ida.kind, ida.anemic) == ("iron_deficiency", True)
    assert ida.requires == ("anemia",) and ida.urgency == "urgent"
    assert by_key["iron_deficiency_without_anemia"].unless == ("anemia",)
    assert by_key["iron_deficiency_without_anemia"].anemic is False
    assert by_key["iron_deficiency_without_anemia"].urgency == "routine"
    assert by_key["low_albumin"].below == 3.5
    calprotectin = by_key["calprotectin_positive"]
    assert calprotectin.above == 50 and calprotectin.urgency == "routine"  # DG11: refer, not 2WW
    assert "does not rule out colorectal cancer" in calprotectin.action
    assert "DG11" in calprotectin.source
    assert by_key["celiac_serology_without_limit"].kind == "lab_needs_limit"
    assert by_key["stool_pathogen_positive"].test_keys == ("stool_pathogen_pcr", "c_difficile")
    assert by_key["crp_raised"].test_keys == ("crp", "hs_crp")
    assert by_key["celiac_serology_positive"].test_keys == ("ttg_iga", "ttg_igg", "dgp_igg")
    assert by_key["parasite_positive"].test_keys == ("giardia_antigen", "ova_parasites")
    assert {by_key[k].urgency for k in ("melena", "hematemesis")} == {"same_day"}
    # the current versions (checked December 2026): CG141 as last updated in 2016, the
    # ACG H. pylori guideline of 2024 (it replaced 2017's)
    for key in ("melena", "hematemesis"):
        assert "CG141" in by_key[key].source and "last updated August 2016" in by_key[key].source
    assert "Am J Gastroenterol 2024;119:1730-1753" in by_key["h_pylori_positive"].source
    ages = {r.key: (r.min_age, r.under_age) for r in rules if r.kind == "age_with"}
    assert ages == {  # NICE NG12 (2023): each combination in tests/clinical
        "ng12_fit_iron_deficiency_anemia": (18, None),
        "ng12_fit_40_weight_loss_pain": (40, None),
        "ng12_fit_under_50_bleeding": (18, 50),
        "ng12_fit_50_bleeding_pain_weight_loss": (50, None),
        "ng12_fit_60_anemia": (60, None),
        "ng12_endoscopy_55_weight_loss": (55, None),
        "ng12_endoscopy_55_nausea_vomiting": (55, None),
        "ng12_endoscopy_55_upper_pain_anemia": (55, None),
        "ng12_endoscopy_55_treatment_resistant_dyspepsia": (55, None),
        "ng12_endoscopy_55_platelets": (55, None),
        "ng12_pancreatic_40_jaundice": (40, None),
        "ng12_pancreatic_60_weight_loss": (60, None),
    }
    family = [r for r in rules if r.kind == "family_history"]
    assert set(family[0].conditions) == {
        "colorectal_cancer",
        "ovarian_cancer",
        "ibd",
        "celiac_disease",
    }
    assert family[0].relatives == ("parent", "sibling", "child")
    alerts = [r for r in rules if r.kind == "instrument_alert"]
    assert [(r.instrument, r.urgency) for r in alerts] == [("phq9", "same_day")]


def test_evidence_labels_are_the_schema_ones(cat: Catalog) -> None:
    labels = set(get_args(catalog_module.Evidence))
    assert {t.evidence for t in cat.tests.values()} <= labels
    assert {p.evidence for p in cat.protocols} <= labels


def test_entries_are_hashable(cat: Catalog) -> None:
    assert len({*cat.tests.values(), *cat.instruments.values(), *cat.red_flags}) == (
        len(cat.tests) + len(cat.instruments) + len(cat.red_flags)
    )


def test_all_is_in_step_with_the_public_names() -> None:
    from casebook.catalog import rule_schema, schema

    expected = {
        "Catalog",
        "CatalogError",
        "UnknownEntryError",
        "ENV_VAR",
        "default_catalog",
        "load_catalog",
        "Substance",
        "normalise_name",
    }
    assert set(catalog_module.__all__) == expected | set(schema.__all__) | set(rule_schema.__all__)
    assert all(hasattr(catalog_module, n) for n in catalog_module.__all__)


def test_licence_notes_in_data_files() -> None:
    data = Path(catalog_module.__file__).parent / "data"
    for name in ("pss10", "fas"):
        text = (data / "instruments" / f"{name}.toml").read_text(encoding="utf-8").lower()
        assert "free for" in text and "non-commercial" in text and "clinical" in text
    assert "not advice" in (data / "protocols.toml").read_text(encoding="utf-8").lower()
    assert "loinc_verified = false" in (data / "tests.toml").read_text(encoding="utf-8")
