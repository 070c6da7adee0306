"""Letters benchmark: casebook's referral letter (record -> HTML -> tagged PDF) against
WeasyPrint rendering the same HTML to PDF directly (the floor: what the library alone pays).

    python benchmarks/letters.py [--rounds 7] [--batch 100] [--batch-rounds 2]

One letter: a demo patient's referral letter, `--rounds` times. In a row: `--batch`
letters for as many demo patients, one after the other, `--batch-rounds` times. Both sides
use the same PDF options (PDF/UA-1); each side runs once untimed first, then the two
alternate and the medians are compared. Aim: under 1 s a letter, within 1.5x of the
library alone.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import date

import weasyprint

from casebook.catalog import Catalog, default_catalog
from casebook.demo.synthetic import generate_cases
from casebook.letters import ClinicSettings, Letter, referral_letter, to_pdf
from casebook.models import Case

TODAY = date(2025, 6, 1)
SETTINGS = ClinicSettings(
    name="Example Digestive Health Clinic",
    address=("1 Example Street", "Exampletown EX1"),
    phone="000 0000 0000",
    practitioner="A. Example",
    credentials="ND",
)


def _letter(case: Case, catalog: Catalog) -> Letter:
    return referral_letter(
        case,
        catalog,
        SETTINGS,
        to="Dr B. Example\nGastroenterology",
        reason="Persistent symptoms despite the plan.",
        on=TODAY,
    )


def _ours(cases: list[Case], catalog: Catalog) -> Callable[[], None]:
    def run() -> None:
        for case in cases:
            to_pdf(_letter(case, catalog))

    return run


def _library(pages: list[str]) -> Callable[[], None]:
    def run() -> None:
        for page in pages:
            weasyprint.HTML(string=page).write_pdf(pdf_variant="pdf/ua-1")

    return run


def _compare(label: str, n: int, sides: dict[str, Callable[[], None]], rounds: int) -> None:
    times: dict[str, list[float]] = {name: [] for name in sides}
    for run in sides.values():  # untimed: imports, font cache, Jinja templates
        run()
    for _ in range(rounds):
        for name, run in sides.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"{label} ({n} letter{'s' if n > 1 else ''}, {rounds} rounds):")
    for name, values in times.items():
        shown = ", ".join(f"{v:.2f}" for v in values)
        print(
            f"  {name:>15}: median {medians[name]:.2f} s, {medians[name] / n:.3f} s a letter"
            f"  ({shown})"
        )
    ratio = medians["casebook"] / medians["weasyprint only"]
    print(f"  ratio: {ratio:.2f}x the library alone (aim: 1.5x or less; under 1 s a letter)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--batch-rounds", type=int, default=2)
    args = parser.parse_args()
    catalog = default_catalog()
    cases = generate_cases(args.batch, seed=1, today=TODAY, catalog=catalog)
    pages = [_letter(case, catalog).html for case in cases]
    _compare(
        "one letter",
        1,
        {"casebook": _ours(cases[:1], catalog), "weasyprint only": _library(pages[:1])},
        args.rounds,
    )
    _compare(
        "in a row",
        args.batch,
        {"casebook": _ours(cases, catalog), "weasyprint only": _library(pages)},
        args.batch_rounds,
    )


if __name__ == "__main__":
    main()
