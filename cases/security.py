"""Signing in: two-factor sign-in and the absolute session lifetime.

Two-factor sign-in uses django-otp: an authenticator app (TOTP) and single-use recovery codes
(a static device). It is required for coordinators (anyone with a coordinator membership) and
staff, and optional for everyone else.

- ``TwoFactorMiddleware`` sends a signed-in user who has not passed the second step to the
  code page, and a user who must use two-factor sign-in but has not set it up to the set-up
  page. Pages anyone may open signed out (sign-in, password reset, language, calendar feeds,
  health check) stay open, as do sign-out and the two-factor pages themselves. Such a page
  must therefore not show a signed-in user more than it shows a visitor.
- ``SessionLifetimeMiddleware`` signs a user out 12 hours (``SESSION_ABSOLUTE_AGE``) after
  they signed in, however active they are. The idle timeout is Django's own
  (``SESSION_COOKIE_AGE`` with ``SESSION_SAVE_EVERY_REQUEST``).
"""

import math
import re
from base64 import b32encode
from urllib.parse import quote, urlencode, urlsplit

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.dispatch import receiver
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp import login as otp_login
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from cases.models import Membership

RECOVERY_CODE_COUNT = 10
SIGNED_IN_AT_SESSION_KEY = "signed_in_at"
_DEFAULT_ABSOLUTE_AGE = 12 * 3600
# Views that stay open before the second step although they need a signed-in user.
_OPEN_VIEW_NAMES = {"logout", "admin:logout"}


# --- Who must use it, and what they have ------------------------------------------------------
def two_factor_required(user) -> bool:
    """Coordinators, staff and superusers (who see everything) must sign in with a second
    factor."""
    if not user.is_authenticated:
        return False
    return (
        user.is_staff
        or user.is_superuser
        or Membership.objects.filter(user=user, role=Membership.Role.COORDINATOR).exists()
    )


def authenticator_for(user) -> TOTPDevice | None:
    """The user's confirmed authenticator app, if they set one up."""
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).first()


def two_factor_enabled(user) -> bool:
    return authenticator_for(user) is not None


def recovery_codes_left(user) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


# --- Setting up -------------------------------------------------------------------------------
_PENDING_KEY_SESSION_KEY = "two_factor_pending_key"


def authenticator_pending(*, request, save: bool) -> TOTPDevice:
    """The authenticator being set up: the same secret until it is confirmed.

    Showing the set-up page (``save=False``) writes no device: the secret waits in the
    session. The row is written when a code is tried (``save=True``, a POST).
    """
    from django_otp.plugins.otp_totp.models import default_key

    user = request.user
    device = TOTPDevice.objects.devices_for_user(user, confirmed=False).first()
    if device is not None:
        return device
    key = request.session.get(_PENDING_KEY_SESSION_KEY)
    if not key:
        key = request.session[_PENDING_KEY_SESSION_KEY] = default_key()
    device = TOTPDevice(user=user, name="Authenticator app", confirmed=False, key=key)
    if save:
        device.save()
        del request.session[_PENDING_KEY_SESSION_KEY]
    return device


def authenticator_secret(device: TOTPDevice) -> str:
    """The secret as people type it into an app: base32, in groups of four."""
    secret = b32encode(device.bin_key).decode("ascii").rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def authenticator_uri(device: TOTPDevice) -> str:
    """The otpauth:// address a QR code carries (Google's Key URI format)."""
    host = urlsplit(settings.SITE_URL).hostname or "localhost"
    issuer = f"Case tracker ({host})"
    label = quote(f"{issuer}:{device.user.get_username()}")
    params = urlencode(
        {
            "secret": b32encode(device.bin_key).decode("ascii").rstrip("="),
            "algorithm": "SHA1",
            "digits": device.digits,
            "period": device.step,
        }
    )
    return f"otpauth://totp/{label}?{params}&issuer={quote(issuer)}"


def authenticator_qr_svg(device: TOTPDevice) -> SafeString:
    """The otpauth:// address as an inline SVG QR code, drawn on the server."""
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(
        authenticator_uri(device), image_factory=qrcode.image.svg.SvgPathFillImage, border=4
    )
    svg = image.to_string(encoding="unicode")
    svg = svg.replace("<svg ", '<svg role="img" aria-labelledby="totp-qr-caption" ', 1)
    # Safe: qrcode writes only numbers into the markup (the address is in the squares).
    return mark_safe(svg)  # noqa: S308


def authenticator_confirm(*, request, device: TOTPDevice, code: str) -> list[str] | None:
    """Confirm a pending authenticator with a code it shows.

    On success the new authenticator replaces any earlier one, the session counts as verified
    (with a new session key), and fresh recovery codes are returned; otherwise None.
    """
    user = request.user
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().get(pk=device.pk, user=user)
        _check_throttle(device)
        if not device.verify_token(normalize_code(code)):
            return None
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = recovery_codes_regenerate(user=user)
    request.session.cycle_key()
    otp_login(request, device)
    two_factor_state_forget(request)
    return codes


def recovery_codes_regenerate(*, user) -> list[str]:
    """Replace the user's recovery codes with new ones; the old ones stop working."""
    with transaction.atomic():
        device = StaticDevice.objects.filter(user=user).first()
        if device is None:
            device = StaticDevice.objects.create(user=user, name="Recovery codes", confirmed=True)
        elif not device.confirmed:
            device.confirmed = True
            device.save(update_fields=["confirmed"])
        StaticDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        device.token_set.all().delete()
        codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
        StaticToken.objects.bulk_create(StaticToken(device=device, token=c) for c in codes)
    return codes


def two_factor_disable(*, user) -> None:
    """Remove the authenticator and the recovery codes (for users who may go without)."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()


def format_recovery_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


# --- Signing in with a code -------------------------------------------------------------------
def normalize_code(code: str) -> str:
    """Codes may be typed with spaces or dashes, in either case."""
    return re.sub(r"[\s-]", "", code or "").lower()


class Throttled(Exception):
    """Too many wrong codes in a row: no code is checked until ``seconds`` have passed."""

    def __init__(self, seconds: int):
        super().__init__(seconds)
        self.seconds = seconds


def _check_throttle(device: Device) -> None:
    allowed, details = device.verify_is_allowed()
    if not allowed:
        until = (details or {}).get("locked_until")
        seconds = int((until - timezone.now()).total_seconds()) + 1 if until else 1
        raise Throttled(max(1, seconds))


def code_verify(*, request, code: str) -> Device | None:
    """Check a code from the authenticator app or a recovery code; on success the session
    counts as verified (with a new session key) and a recovery code is used up.

    Raises Throttled while django-otp's back-off (1, 2, 4, 8 ... seconds after each wrong code)
    is running.
    """
    user = request.user
    code = normalize_code(code)
    if re.fullmatch(r"\d{6,8}", code):
        devices = TOTPDevice.objects.devices_for_user(user, confirmed=True)
    else:
        devices = StaticDevice.objects.devices_for_user(user, confirmed=True)
    with transaction.atomic():
        for device in devices.select_for_update():
            _check_throttle(device)
            if device.verify_token(code):
                break
        else:
            return None
    request.session.cycle_key()
    otp_login(request, device)
    return device


# --- Per-request state kept in the session ----------------------------------------------------
# Whether a signed-in user who has not passed the second step has an authenticator, and whether
# they are a coordinator, is read once and kept in the session instead of two queries on every
# page. Every change made through the application drops it at once: the session that makes it
# (two_factor_state_forget) and the user's other open sessions (post_save/post_delete of an
# authenticator or a membership, cases.services.team.on_two_factor_changed). STATE_TTL bounds
# a change made around the application (SQL, QuerySet.update): a security setting, so a minute
# (tests/test_request_cost.py). Staff and superuser status are read from the user row that
# every request loads anyway, so they are never stale.
STATE_TTL = 60
TWO_FACTOR_STATE_SESSION_KEY = "two_factor_state"


def two_factor_state(request) -> tuple[bool, bool]:
    """(has an authenticator, must use one) for request.user, from the session if fresh."""
    user = request.user
    now = timezone.now().timestamp()
    kept = request.session.get(TWO_FACTOR_STATE_SESSION_KEY)
    if isinstance(kept, list) and len(kept) == 3 and 0 <= now - kept[2] < STATE_TTL:
        enabled, coordinator = bool(kept[0]), bool(kept[1])
    else:
        enabled = two_factor_enabled(user)
        coordinator = Membership.objects.filter(
            user=user, role=Membership.Role.COORDINATOR
        ).exists()
        request.session[TWO_FACTOR_STATE_SESSION_KEY] = [enabled, coordinator, now]
    return enabled, coordinator or user.is_staff or user.is_superuser


def two_factor_state_forget(request) -> None:
    request.session.pop(TWO_FACTOR_STATE_SESSION_KEY, None)


class SessionTouchMiddleware:
    """Keeps an active session alive without writing it on every request.

    Sessions expire SESSION_COOKIE_AGE after they were last saved. Instead of saving on every
    request (SESSION_SAVE_EVERY_REQUEST, one UPDATE per page), the session is saved when it
    changed, or when its last save is older than SESSION_TOUCH_INTERVAL: the idle time-out
    stays within that interval of SESSION_COOKIE_AGE.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        session = getattr(request, "session", None)
        user = getattr(request, "user", None)
        if session is not None and user is not None and user.is_authenticated:
            now = timezone.now().timestamp()
            touched = session.get(_TOUCHED_SESSION_KEY)
            interval = getattr(settings, "SESSION_TOUCH_INTERVAL", 60)
            if not isinstance(touched, int | float) or now - touched >= interval:
                session[_TOUCHED_SESSION_KEY] = now
        return response


_TOUCHED_SESSION_KEY = "touched_at"


# --- Middleware -------------------------------------------------------------------------------
def two_factor_exempt(view_func):
    """Mark a view as open to a signed-in user who has not passed the second step yet."""
    view_func.two_factor_exempt = True
    return view_func


class TwoFactorMiddleware:
    """After the password, nothing but the two-factor pages until the second step is done.

    Goes after django_otp's OTPMiddleware and Django's LoginRequiredMiddleware.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = request.user
        if not user.is_authenticated or user.is_verified():
            return None
        if self._open(request, view_func):
            return None
        enabled, required = two_factor_state(request)
        if enabled:
            return redirect_to_login(request.get_full_path(), reverse("cases:two-factor-verify"))
        if required:
            return redirect_to_login(request.get_full_path(), reverse("cases:two-factor-setup"))
        return None

    @staticmethod
    def _open(request, view_func) -> bool:
        if request.path_info.startswith("/" + settings.STATIC_URL.lstrip("/")):
            return True
        if not getattr(view_func, "login_required", True):
            return True  # open to visitors who are not signed in at all
        if getattr(view_func, "two_factor_exempt", False):
            return True
        match = request.resolver_match
        return match is not None and match.view_name in _OPEN_VIEW_NAMES


class SessionLifetimeMiddleware:
    """Signs a user out a fixed time after they signed in, however active they have been.

    Goes after AuthenticationMiddleware (and OTPMiddleware) and before LoginRequiredMiddleware,
    which then sends the signed-out visitor to the sign-in page.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            now = timezone.now().timestamp()
            signed_in_at = request.session.get(SIGNED_IN_AT_SESSION_KEY)
            limit = getattr(settings, "SESSION_ABSOLUTE_AGE", _DEFAULT_ABSOLUTE_AGE)
            if not isinstance(signed_in_at, int | float):
                # A session from before this rule (or a test's force_login): start counting.
                request.session[SIGNED_IN_AT_SESSION_KEY] = now
            elif now - signed_in_at > limit:
                logout(request)
        return self.get_response(request)


# --- Lockout (django-axes) --------------------------------------------------------------------
def lockout_response(request, original_response=None, credentials=None):
    """The page for a locked-out username: the same whether or not the account exists."""
    from axes.helpers import get_cool_off

    cool_off = get_cool_off(request)
    minutes = max(1, math.ceil(cool_off.total_seconds() / 60)) if cool_off else 15
    return render(
        request,
        "registration/lockout.html",
        {"minutes": minutes},
        status=settings.AXES_HTTP_RESPONSE_CODE,
    )


def axes_client_str(username, ip_address, user_agent, path_info, request) -> str:
    """How django-axes names a client in log lines: by the page only, never by who it was."""
    return f"a client on {path_info}"


@receiver(user_logged_in, dispatch_uid="cases.security.signed_in_at")
def _remember_sign_in_time(sender, request, user, **kwargs):
    session = getattr(request, "session", None)
    if session is not None:
        session[SIGNED_IN_AT_SESSION_KEY] = timezone.now().timestamp()


__all__ = [
    "DEVICE_ID_SESSION_KEY",
    "SessionLifetimeMiddleware",
    "Throttled",
    "TwoFactorMiddleware",
    "authenticator_confirm",
    "authenticator_for",
    "authenticator_pending",
    "authenticator_qr_svg",
    "authenticator_secret",
    "axes_client_str",
    "code_verify",
    "lockout_response",
    "recovery_codes_left",
    "recovery_codes_regenerate",
    "two_factor_disable",
    "two_factor_enabled",
    "two_factor_exempt",
    "two_factor_required",
]
