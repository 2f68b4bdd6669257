"""Who is calling: a personal access token (``Authorization: Bearer adv_...``), or the web
session for the browsable docs (with CSRF, and only once two-factor sign-in is complete)."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import authentication, exceptions, permissions

from cases import security
from cases.services.tokens import api_token_find


class TokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Give one token after Bearer."))
        try:
            raw = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("The token is not valid.")) from None
        token = api_token_find(raw)
        if token is None:
            raise exceptions.AuthenticationFailed(
                _("The token is not valid: it may have expired or been revoked.")
            )
        return token.user, token

    def authenticate_header(self, request):
        return f'{self.keyword} realm="api"'


class VerifiedSessionAuthentication(authentication.SessionAuthentication):
    """The web session, for the browsable docs: CSRF-checked like any form, and refused while
    the second step of signing in is still due (the web pages would refuse it too)."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        user, _auth = result
        if not user.is_verified() and (
            security.two_factor_enabled(user) or security.two_factor_required(user)
        ):
            raise exceptions.AuthenticationFailed(_("Finish signing in with your second factor."))
        return result


class TokenScope(permissions.BasePermission):
    """A read-only token may only read; the session may do what the user may."""

    message = gettext_lazy(
        "This token may only read: make a read and write token to change things."
    )

    def has_permission(self, request, view) -> bool:
        token = request.auth
        if token is None or request.method in permissions.SAFE_METHODS:
            return True
        return token.may_write
