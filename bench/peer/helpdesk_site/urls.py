"""The helpdesk's URLs, the sign-in, and its floor: a one-line page behind the sign-in."""

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.urls import include, path


@login_required
def floor(request):
    return HttpResponse("ok")


urlpatterns = [
    path("bench/floor/", floor, name="bench-floor"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("", include("helpdesk.urls", namespace="helpdesk")),
]
