from django.contrib import admin
from django.urls import include, path

from advocacy.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),  # load balancers; no sign-in, no data
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("cases.urls")),
]
