"""The benchmarks' URLs: the product's, plus the plainest possible signed-in page.

``/bench/floor/`` answers one line to a signed-in user, through every middleware a real page
goes through (session, sign-in, two-factor state, preferences). It is the floor every figure is
divided by; it is not one of the product's URLs (bench/common.py points ROOT_URLCONF here).
"""

from django.http import HttpResponse
from django.urls import include, path


def floor(request):
    return HttpResponse("ok")


urlpatterns = [
    path("bench/floor/", floor, name="bench-floor"),
    path("", include("advocacy.urls")),
]
