from django.contrib import admin
from django.urls import include, path

from advocacy.health import healthz

urlpatterns = [
    # For load balancers and monitoring: anyone, no data (tests/test_health.py).
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("cases.urls")),
]
