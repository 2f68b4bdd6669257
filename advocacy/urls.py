from django.contrib import admin
from django.urls import include, path

from advocacy.health import healthz

urlpatterns = [
    # For load balancers: anyone, no data (tests/test_health.py). Unnamed: the path itself is
    # the contract with the balancer's configuration, so nothing reverses it.
    path("healthz", healthz),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("cases.urls")),
]
