"""How drf-spectacular describes our authentication and names operations."""

import re

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema


class OperationNamedSchema(AutoSchema):
    """operationIds from the view class and method: ``CaseTimeline`` GET → ``caseTimelineGet``
    (stable names for generated clients)."""

    def get_operation_id(self):
        name = type(self.view).__name__
        return name[0].lower() + name[1:] + self.method.capitalize()

    def get_tags(self):
        path = re.sub(r"^/api/v1/", "", self.path)
        return [path.split("/", 1)[0] or "api"]


class TokenAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "cases.api.auth.TokenAuthentication"
    name = "token"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal access token, made at Settings → API tokens.",
        }


class SessionAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "cases.api.auth.VerifiedSessionAuthentication"
    name = "session"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}
