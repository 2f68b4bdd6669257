"""Personal access tokens: made (shown once), revoked by hand or when the account changes."""

import datetime as dt
import hashlib
import secrets

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.models import ApiToken

from .transitions import save_tracked

TOKEN_PREFIX = "adv_"  # noqa: S105 (not a secret: says what the string is, for scanners)
MAX_DAYS = 366


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def api_token_create(
    *, user: AbstractBaseUser, name: str, scope: str, expires_on: dt.date
) -> tuple[ApiToken, str]:
    """A new token for ``user``: the row and the token itself, which is never stored (only
    its digest) and so can be shown this once only."""
    name = (name or "").strip()
    errors = {}
    if not name:
        errors["name"] = _("Give the token a name, e.g. the tool that will use it.")
    if scope not in ApiToken.Scope.values:
        errors["scope"] = _("Choose read only or read and write.")
    today = timezone.localdate()
    if expires_on <= today:
        errors["expires_on"] = _("The expiry must be in the future.")
    elif expires_on > today + dt.timedelta(days=MAX_DAYS):
        errors["expires_on"] = _("A token lasts at most a year; make a new one when it ends.")
    if errors:
        raise ValidationError(errors)
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    # The end of the chosen day, in the user's time zone (active for the request).
    end = dt.datetime.combine(expires_on, dt.time.max, tzinfo=timezone.get_current_timezone())
    token = ApiToken(
        user=user,
        name=name[:100],
        prefix=raw[:12],
        digest=token_digest(raw),
        scope=scope,
        expires_at=end,
    )
    save_tracked(token, by=user, reason="Created")
    return token, raw


def api_token_find(raw: str) -> ApiToken | None:
    """The token with this value, if it is still good (not revoked or expired, user active)."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 100:
        return None
    token = ApiToken.objects.select_related("user").filter(digest=token_digest(raw)).first()
    if token is None or not token.is_active():
        return None
    return token


@transaction.atomic
def api_token_revoke(*, token: ApiToken, by: AbstractBaseUser, reason: str) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.revoked_reason = reason[:200]
        save_tracked(token, by=by, reason=reason)
    return token


def api_tokens_revoke_for_user(*, user: AbstractBaseUser, reason: str) -> int:
    """Revoke every live token of the user (deactivated, or a new password)."""
    count = 0
    for token in ApiToken.objects.filter(user=user, revoked_at__isnull=True):
        api_token_revoke(token=token, by=user, reason=reason)
        count += 1
    return count


def on_user_changed(sender, instance, **kwargs) -> None:
    """pre_save of users (connected in apps.py): a deactivated account or a changed password
    ends every token of the user, in the same transaction as the change itself."""
    if instance.pk is None:
        return
    update_fields = kwargs.get("update_fields")
    if update_fields is not None and not {"is_active", "password"} & set(update_fields):
        return  # e.g. the last sign-in time
    before = type(instance).objects.filter(pk=instance.pk).values("is_active", "password").first()
    if before is None:
        return
    if before["is_active"] and not instance.is_active:
        api_tokens_revoke_for_user(user=instance, reason="Account deactivated")
    elif before["password"] != instance.password:
        api_tokens_revoke_for_user(user=instance, reason="Password changed")
