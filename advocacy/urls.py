from django.contrib import admin
from django.urls import include, path

from advocacy.health import healthz
from cases.views.account import PasswordResetView

urlpatterns = [
    # For load balancers and monitoring: anyone, no data (tests/test_health.py).
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    # The API for partners' tools (docs/api.md): its own authentication (tokens).
    path("api/", include("cases.api.urls")),
    # Before Django's own: the reset email is queued for the worker, never sent in the request.
    path("accounts/password_reset/", PasswordResetView.as_view(), name="password_reset"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("cases.urls")),
]
