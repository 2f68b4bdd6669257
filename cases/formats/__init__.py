"""Local corrections to Django's date formats (FORMAT_MODULE_PATH in settings).

Only what Django gets wrong for our readers; everything else comes from Django's locales.
"""
