"""Tables: the case list (with the list's filters) and a case's timeline, as CSV or XLSX.

The rows come from the same redacted content as the dossier (``content.timeline_lines``) or,
for the case list, from the case-list selector with only what every profile may show. A cell
that a spreadsheet would read as a formula (=, +, -, @, tab, carriage return at its start)
is prefixed with an apostrophe.
"""

import csv
import io
from collections.abc import Iterable, Iterator

from django.utils.translation import gettext as _

from cases.models import Case

from .content import day, timeline_lines
from .profiles import Profile

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def timeline_rows(*, case: Case, profile: Profile) -> tuple[list[str], Iterator[list[str]]]:
    header = [_("When"), _("Kind"), _("What"), _("Details"), _("Reason"), _("Recorded by")]

    def rows():
        for line in timeline_lines(case=case, profile=profile):
            yield [line.when, line.kind, line.title, "\n".join(line.details), line.reason, line.who]

    return header, rows()


def case_list_rows(cases: Iterable[Case], *, profile: Profile) -> tuple[list[str], Iterator]:
    """``cases`` from ``cases.selectors.cases.case_list`` (the user's cases, filtered)."""
    header = [
        _("Reference"),
        _("Title"),
        _("Status"),
        _("Priority"),
        _("Lead organization"),
        _("People of concern"),
        _("Opened on"),
    ]

    def rows():
        for case in cases:
            yield [
                case.reference,
                case.title,
                case.get_status_display(),
                case.get_priority_display(),
                case.lead_organization.name,
                ", ".join(p.code for p in case.prisoners.all()),
                day(case.opened_on),
            ]

    return header, rows()


def write_csv(out: io.BufferedIOBase, header: list[str], rows: Iterable[list[str]], *, title: str):
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=True)
    writer = csv.writer(text)
    writer.writerow([safe_cell(title)])
    writer.writerow(safe_cell(h) for h in header)
    for row in rows:
        writer.writerow(safe_cell(c) for c in row)
    text.flush()
    text.detach()


def write_xlsx(out: io.BufferedIOBase, header: list[str], rows: Iterable[list[str]], *, title: str):
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("Export")[:31])
    sheet.append([safe_cell(title)])
    sheet.append([safe_cell(h) for h in header])
    for row in rows:
        sheet.append([safe_cell(c) for c in row])
    book.save(out)


__all__ = ["case_list_rows", "timeline_rows", "write_csv", "write_xlsx"]
