"""Columns of the case derived from other rows (the next deadline, the search document): kept by
the services that change those rows, and rebuilt over every case by a command."""

from collections.abc import Callable

from django.db import transaction

from cases.models import Case


def cases_rebuild(refresh: Callable[..., int], *, batch_size: int = 2000) -> tuple[int, int]:
    """Run ``refresh(case_ids=...)`` over every case, ``batch_size`` cases per transaction:
    (cases looked at, cases changed). Idempotent when ``refresh`` is: a second run changes
    nothing."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    ids = list(Case.objects.order_by("pk").values_list("pk", flat=True))
    changed = 0
    for start in range(0, len(ids), batch_size):
        with transaction.atomic():
            changed += refresh(case_ids=ids[start : start + batch_size])
    return len(ids), changed
