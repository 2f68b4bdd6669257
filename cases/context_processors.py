from django.conf import settings


def navigation(request):
    """What the page frame needs: the languages to switch between."""
    return {"LANGUAGE_CHOICES": settings.LANGUAGES}
