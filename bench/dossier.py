"""Benchmark: building dossiers (worker time and peak memory).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/advocacy_bench_dossier \\
        .venv/bin/python bench/dossier.py

Targets (issue 15): the dossier of the reference case (load_demo) in under 1 s of worker
time; of a 1,000-entry case in under 5 s; peak RSS of the worker under 300 MB for a
5,000-entry case with 50 MB of annexes.

The database named in DATABASE_URL is DROPPED and recreated (its name must contain "bench").
Documents go to a temporary DATA_DIR. Each build runs in a fresh Python process, as a Celery
worker would run the task: ``bench/dossier.py --build EXPORT_ID`` sets Django up, builds the
export and reports its CPU time (the worker's time: on this shared 2-core machine wall time
mostly measures the other tenants), its wall time and the process's peak RSS (getrusage).
Setting Django up, importing WeasyPrint and finding fonts (about 1.5 s, once per worker
process) are not counted: a worker does that once, not per dossier.
"""

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, fresh_database, table

TARGETS = {"reference": 1.0, "1,000 entries": 5.0}
RSS_TARGET_MB = 300
ANNEX_MB = 50


def build_one(export_id: int) -> None:
    """Child process: build one export, print its time and peak RSS as JSON."""
    import resource

    import django

    django.setup()
    import weasyprint

    from cases.services.exports import export_build

    # A worker has WeasyPrint loaded and its fonts found before its first dossier.
    weasyprint.HTML(string="<p>Latin, Кирилиця, 한글</p>").write_pdf()
    started, cpu = time.perf_counter(), time.process_time()
    export = export_build(export_id=export_id)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "status": export.status,
                "error": export.error,
                "seconds": cpu,
                "wall": seconds,
                "rss_mb": rss_mb,
                "pages": _pages(export),
                "size_mb": (export.size or 0) / 1e6,
            }
        )
    )


def _pages(export) -> int:
    from pypdf import PdfReader

    if export.status != "done":
        return 0
    with export.file.open("rb") as handle:
        return len(PdfReader(handle).pages)


def run_child(export_id: int) -> dict:
    out = subprocess.run(  # noqa: S603 - our own script, fixed arguments
        [sys.executable, __file__, "--build", str(export_id)],
        check=True,
        capture_output=True,
        text=True,
        env=os.environ,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def request(case, user, *, profile="internal", language="en", annexes=False) -> int:
    from cases.services.exports import export_request

    return export_request(
        by=user,
        case=case,
        kind="dossier",
        fmt="pdf",
        profile_key=profile,
        audience="Coordination Headquarters",
        language=language,
        include_annexes=annexes,
    ).pk


def big_pdf(megabytes: float, rng: random.Random) -> bytes:
    """A valid one-page PDF holding an incompressible image of about ``megabytes``."""
    side = int((megabytes * 1e6 / 3) ** 0.5)
    pixels = rng.randbytes(side * side * 3)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /XObject << /Im1 5 0 R >> >> /Contents 4 0 R >>",
    ]
    content = b"q 500 0 0 500 47 170 cm /Im1 Do Q"
    streams = {
        4: (b"<< /Length %d >>" % len(content), content),
        5: (
            b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceRGB "
            b"/BitsPerComponent 8 /Length %d >>" % (side, side, len(pixels)),
            pixels,
        ),
    }
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number in range(1, 6):
        offsets.append(len(out))
        if number in streams:
            head, body = streams[number]
            out += b"%d 0 obj\n%s\nstream\n%s\nendstream\nendobj\n" % (number, head, body)
        else:
            out += b"%d 0 obj\n%s\nendobj\n" % (number, objects[number - 1])
    xref = len(out)
    out += b"xref\n0 6\n0000000000 65535 f \n"
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def add_annexes(case, user, megabytes: int) -> None:
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    from cases import services

    rng = random.Random(15)  # noqa: S311 - reproducible bench data
    image = io.BytesIO()
    Image.frombytes("RGB", (900, 900), rng.randbytes(900 * 900 * 3)).save(image, "JPEG")
    services.document_store(
        case=case,
        by=user,
        upload=SimpleUploadedFile("photo.jpg", image.getvalue()),
        title="Photograph",
    )
    per_file = 5
    for n in range(megabytes // per_file):
        services.document_store(
            case=case,
            by=user,
            upload=SimpleUploadedFile(f"scan-{n}.pdf", big_pdf(per_file, rng)),
            title=f"Scanned annex {n}",
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--build", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build:
        build_one(args.build)
        return

    os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="bench-dossier-"))
    fresh_database("advocacy_bench_dossier")
    from django.core.management import call_command

    from cases.models import Case
    from cases.services import actors  # noqa: F401
    from tests import factories

    call_command("load_demo", verbosity=0)
    reference = Case.objects.get()
    coordinator = factories.UserFactory(username="bench-coordinator")
    rows = []

    def measure(label: str, case, *, target=None, annexes=False, languages=("en",), repeats=1):
        for language in languages:
            runs = [
                run_child(request(case, coordinator, language=language, annexes=annexes))
                for _ in range(repeats)
            ]
            for run in runs:
                if run["status"] != "done":
                    sys.exit(f"{label}: {run['error']}")
            best = min(runs, key=lambda r: r["seconds"])
            median = sorted(r["seconds"] for r in runs)[len(runs) // 2]
            wall = sorted(r["wall"] for r in runs)[len(runs) // 2]
            rss = max(r["rss_mb"] for r in runs)
            verdict = "" if target is None else ("ok" if median < target else "SLOW")
            if annexes:
                verdict = "ok" if rss < RSS_TARGET_MB else "TOO BIG"
            rows.append(
                [
                    label,
                    language,
                    f"{median:.2f} s (best {best['seconds']:.2f})",
                    f"{wall:.2f} s",
                    f"{rss:.0f} MB",
                    str(best["pages"]),
                    f"{best['size_mb']:.1f} MB",
                    verdict,
                ]
            )
            print(rows[-1], flush=True)

    from cases.models import Membership

    Membership.objects.create(
        user=coordinator, organization=reference.lead_organization, role="coordinator"
    )
    measure(
        "reference case",
        reference,
        target=TARGETS["reference"],
        languages=("en", "ko", "uk"),
        repeats=args.repeats,
    )

    sys.path.insert(0, str(ROOT / "bench"))
    from timeline import Builder

    builder = Builder()
    Membership.objects.create(user=coordinator, organization=builder.lead, role="coordinator")
    thousand = builder.case(1_000)
    measure("1,000 entries", thousand, target=TARGETS["1,000 entries"], repeats=args.repeats)
    five = builder.case(5_000)
    measure("5,000 entries", five)
    add_annexes(five, coordinator, ANNEX_MB)
    measure(f"5,000 entries + {ANNEX_MB} MB annexes", five, annexes=True)

    print()
    print(
        table(
            rows,
            [
                "dossier",
                "language",
                "worker CPU time (median)",
                "wall time",
                "peak RSS",
                "pages",
                "file",
                "target",
            ],
        )
    )


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
