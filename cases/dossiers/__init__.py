"""Dossiers and tabular exports of cases, for one audience at a time.

- ``profiles``: the audience profiles, declared once (what each keeps and hides).
- ``content``: the redacted data of a case for a profile, built before anything is rendered.
- ``pdf``: the dossier as a PDF (WeasyPrint, imported lazily), watermarked, with annexes.
- ``tabular``: the case list and a case's timeline as CSV or XLSX.

Writes (an export row, its file, its access-log row) go through ``cases.services.exports``.
"""
