"""History written through the API says so: " (via API)" after the change reason.

The API's views run inside ``via_api()``; simple_history's ``pre_create_historical_record``
signal (connected in apps.py) then marks every history row they write, whichever service
writes it. The user on the row is the token's user, as the services are called with it.
"""

import contextlib
from contextvars import ContextVar

VIA_API = " (via API)"
_through_api: ContextVar[bool] = ContextVar("through_api", default=False)


@contextlib.contextmanager
def via_api():
    reset = _through_api.set(True)
    try:
        yield
    finally:
        _through_api.reset(reset)


def mark_via_api(sender, history_instance, **kwargs) -> None:
    if not _through_api.get():
        return
    reason = getattr(history_instance, "history_change_reason", None) or ""
    if not reason.endswith(VIA_API):
        history_instance.history_change_reason = (reason + VIA_API).strip()
