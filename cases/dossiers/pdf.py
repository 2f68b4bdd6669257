"""The dossier as a PDF: WeasyPrint renders the templates, pypdf puts the parts together,
appends PDF annexes and stamps every page with the watermark and its number.

WeasyPrint needs Pango (a system library); it is imported only when a dossier is built, so the
rest of the application runs without it. ``weasyprint_missing()`` says why it cannot be used.

Memory stays bounded for long cases: the timeline is read in chunks and rendered as separate
parts (``TIMELINE_CHUNK`` lines each) that are written to a temporary file as they are done;
annexes are read from their files page by page.
"""

import contextlib
import functools
import io
import logging
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from cases.models import Case, Document

from .content import Dossier, Line, timeline_lines
from .profiles import Facet, Profile

log = logging.getLogger(__name__)

TIMELINE_CHUNK = 1500
IMAGE_TYPES = {"image/png", "image/jpeg"}


@functools.cache
def weasyprint_missing() -> str:
    """Empty when WeasyPrint works here, else a sentence saying what is missing."""
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError) as error:
        return _(
            "PDF dossiers need WeasyPrint and the Pango library, which this server lacks "
            "(%(error)s). On Debian or Ubuntu: apt-get install libpango-1.0-0 "
            "libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk fonts-dejavu-core."
        ) % {"error": str(error).splitlines()[0][:200]}
    return ""


@dataclass
class Stamp:
    """What every page carries."""

    watermark: str
    language: str


def _no_fetching(allowed: dict[str, tuple[Path, str]]):
    """A URL fetcher that fetches nothing from the network or the disk: only the annexed
    images, by the name the template gives them (``annex:<pk>``)."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class LocalOnly(URLFetcher):
        def fetch(self, url, headers=None):
            if url in allowed:
                path, mime = allowed[url]
                return URLFetcherResponse(
                    url, body=path.read_bytes(), headers={"Content-Type": mime}
                )
            raise ValueError(f"Dossiers fetch nothing from outside: {url[:80]}")

    return LocalOnly()


def _render(html: str, fetcher) -> bytes:
    import weasyprint

    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)

    return weasyprint.HTML(string=html, url_fetcher=fetcher, base_url="annex:/").write_pdf()


def _chunks(lines: Iterable[Line], size: int):
    chunk: list[Line] = []
    for line in lines:
        chunk.append(line)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _parts(lines: Iterable[Line], size: int):
    """(with_front, lines, with_back) for each part: the front pages with the first chunk
    of the timeline, the middle chunks, the last chunk with the back pages."""
    chunks = _chunks(lines, size)
    current = next(chunks, [])
    first = True
    for following in chunks:
        yield first, current, False
        first, current = False, following
    yield first, current, True


def build_pdf(
    *,
    case: Case,
    dossier: Dossier,
    profile: Profile,
    stamp: Stamp,
    include_annexes: bool,
    out: io.BufferedIOBase,
    progress: Callable[[int, str], None] = lambda percent, stage: None,
) -> None:
    """Write the dossier's PDF to ``out``.

    A dossier in one part without PDF annexes (most cases) is one WeasyPrint pass, which
    prints the watermark and page numbers itself. A longer one is rendered in parts that
    pypdf joins, then stamps page by page.
    """
    annexes, images = _annexes(case, dossier, profile, include_annexes)
    context = {
        "d": dossier,
        "profile": profile,
        "stamp": stamp,
        "include_annexes": include_annexes,
        "annexes": annexes,
    }
    with contextlib.ExitStack() as files:
        _build(case, dossier, profile, stamp, context, annexes, images, out, progress, files)


def _build(case, dossier, profile, stamp, context, annexes, images, out, progress, files):
    from pypdf import PdfReader, PdfWriter

    total = max(dossier.timeline_count, 1)
    done = 0
    writer: PdfWriter | None = None
    progress(5, _("Front pages"))
    for with_front, lines, with_back in _parts(
        timeline_lines(case=case, profile=profile), TIMELINE_CHUNK
    ):
        single = with_front and with_back and not annexes["pdf"]
        html = render_to_string(
            "dossiers/part.html",
            {
                **context,
                "with_front": with_front,
                "with_back": with_back,
                "lines": lines,
                "first": with_front,
                "stamp_here": single,
            },
        )
        pdf = _render(html, _no_fetching(images if with_back else {}))
        if single:
            out.write(pdf)
            progress(95, _("Done"))
            return
        if writer is None:
            writer = PdfWriter()
        part = files.enter_context(tempfile.TemporaryFile())  # noqa: SIM115 (closed by files)
        part.write(pdf)
        part.seek(0)
        del pdf
        writer.append(PdfReader(part))
        done += len(lines)
        progress(5 + int(75 * min(done, total) / total), _("Timeline"))

    for item, document in annexes["pdf"]:
        try:
            reader = PdfReader(files.enter_context(document.file.open("rb")))
            if reader.is_encrypted:
                raise ValueError("encrypted")
            len(reader.pages)  # a broken file fails here, before any page is appended
            writer.append(reader)
        except Exception as error:  # a broken or locked PDF is noted, not fatal
            log.warning("Annex %s not appended: %s", item.pk, type(error).__name__)
        progress(85, _("Annexes"))

    progress(90, _("Watermark"))
    _stamp_pages(writer, stamp, _no_fetching({}))
    writer.add_metadata({"/Title": f"{dossier.case_reference} — {stamp.watermark}"})
    writer.write(out)


def _annexes(case, dossier, profile, include_annexes):
    """The documents to append: PDFs merged after the dossier, images embedded in it,
    others listed."""
    annexes: dict[str, list] = {"pdf": [], "image": [], "listed": []}
    images: dict[str, tuple[Path, str]] = {}
    if not include_annexes or Facet.DOCUMENTS not in profile.keeps:
        return annexes, images
    by_pk = {d.pk: d for d in Document.objects.filter(case=case)}
    for item in dossier.documents:
        document = by_pk.get(item.pk)
        if document is None:
            continue
        if item.content_type == "application/pdf":
            annexes["pdf"].append((item, document))
        elif item.content_type in IMAGE_TYPES:
            images[f"annex:{item.pk}"] = (Path(document.file.path), item.content_type)
            annexes["image"].append(item)
        else:
            annexes["listed"].append(item)
    return annexes, images


def _stamp_pages(writer, stamp: Stamp, fetcher) -> None:
    """Put the watermark and "page i / n" on every page, annexes included."""
    from pypdf import PdfReader, Transformation

    count = len(writer.pages)
    html = render_to_string("dossiers/stamp.html", {"stamp": stamp, "pages": range(count)})
    overlay = PdfReader(io.BytesIO(_render(html, fetcher)))
    for page, mark in zip(writer.pages, overlay.pages, strict=True):
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        mark_width, mark_height = float(mark.mediabox.width), float(mark.mediabox.height)
        if abs(width - mark_width) < 1 and abs(height - mark_height) < 1:
            page.merge_page(mark)
        else:
            scale = min(width / mark_width, height / mark_height)
            move = (
                Transformation()
                .scale(scale, scale)
                .translate(float(page.mediabox.left), float(page.mediabox.bottom))
            )
            page.merge_transformed_page(mark, move)
        page.compress_content_streams()  # merging leaves the page's content uncompressed
