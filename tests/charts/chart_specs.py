"""Helpers to read a chart as data: its layers and the inline rows each layer draws."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from casebook.models import Case, Patient, PlanItem, SymptomRating, TestResult, Visit

__all__ = ["columns", "inline_rows", "layer_rows", "layers", "long_case", "marks", "plain_case"]


def layers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return spec.get("layer", [spec])


def layer_rows(spec: dict[str, Any], layer: dict[str, Any]) -> list[dict[str, Any]]:
    """The inline rows a layer draws (its own data, else the chart's)."""
    data = layer.get("data") or spec.get("data")
    assert data is not None, f"layer {layer.get('mark')} has no data"
    if "name" in data:
        return spec["datasets"][data["name"]]
    assert "values" in data, f"data is not inline: {data}"
    return data["values"]


def inline_rows(spec: Any) -> int:
    """How many inline rows the whole spec carries, wherever they sit."""
    if isinstance(spec, list):
        return sum(inline_rows(item) for item in spec)
    if not isinstance(spec, dict):
        return 0
    own = sum(len(rows) for rows in spec.get("datasets", {}).values())
    data = spec.get("data")
    if isinstance(data, dict) and isinstance(data.get("values"), list):
        own += len(data["values"])
    return own + sum(inline_rows(v) for k, v in spec.items() if k not in ("datasets", "data"))


def columns(rows: list[dict[str, Any]]) -> set[str]:
    return {key for row in rows for key in row}


def marks(spec: dict[str, Any]) -> list[str]:
    out = []
    for layer in layers(spec):
        mark = layer["mark"]
        out.append(mark if isinstance(mark, str) else mark["type"])
    return out


def plain_case(pid: str = "p-1", **records: Any) -> Case:
    """A case with a patient and only the given records (no visits unless given)."""
    patient = Patient(id=pid, name="Zed Quartermain", birth_date=date(1980, 5, 1), sex="female")
    return Case(patient=patient, **records)


def long_case(n_visits: int, *, start: date = date(2021, 1, 4)) -> Case:
    """Three years of monthly visits: every symptom rated at each, ferritin at each, a plan."""
    pid = "long-1"
    keys = ("abdominal_pain", "bloating", "diarrhea", "fatigue")
    visits, ratings, results, plan = [], [], [], []
    for i in range(n_visits):
        day = start + timedelta(days=28 * i)
        visit = Visit(patient_id=pid, visit_date=day, kind="intake" if i == 0 else "follow-up")
        visits.append(visit)
        for j, key in enumerate(keys):
            ratings.append(
                SymptomRating(patient_id=pid, visit_id=visit.id, symptom=key, severity=(i + j) % 5)
            )
        results.append(
            TestResult(
                patient_id=pid,
                test="ferritin",
                collected_on=day,
                value=20.0 + (i % 7) * 10,
                unit="ng/mL",
            )
        )
        if i % 6 == 0:
            plan.append(
                PlanItem(
                    patient_id=pid,
                    category="herbal",
                    name=f"Item {i}",
                    start=day,
                    end=day + timedelta(days=60),
                    status="completed",
                )
            )
    return plain_case(pid, visits=visits, symptoms=ratings, results=results, plan=plan)
