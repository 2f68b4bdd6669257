from django.contrib.auth.models import AbstractBaseUser

from cases.models import UserProfile


def profile_get(user: AbstractBaseUser) -> UserProfile:
    """The user's preferences, created with defaults on first use."""
    profile, _ = UserProfile.objects.get_or_create(user=user)
    return profile
