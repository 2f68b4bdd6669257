"""What every signed-in page costs before its own work: queries and writes of the one-line
floor (bench/floor_urls.py) and of the smallest product page behind the sign-in (Django's
password-change form), each requested a second time in the same session, for an editor and
for a coordinator who passed the second step.

    DEBUG=1 DATABASE_URL=sqlite:////tmp/request_cost.db .venv/bin/python bench/request_cost.py

Counts, not times: they are the same on any machine. Results in docs/performance.md.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "advocacy.settings")


def main() -> None:
    import django
    from django.conf import settings

    settings.ROOT_URLCONF = "bench.floor_urls"  # the product's URLs and the one-line floor
    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from cases.models import Membership, Organization

    setup_test_environment()
    call_command("migrate", verbosity=0)
    organization = Organization.objects.create(name="Bench organization")
    print("| reader | page | queries | writes |\n|---|---|---|---|")
    for role in ("editor", "coordinator"):
        user = get_user_model().objects.create_user(f"bench-{role}", password="x" * 20)
        Membership.objects.create(user=user, organization=organization, role=role)
        client = Client()
        client.force_login(user)
        if role == "coordinator":
            device = TOTPDevice.objects.create(user=user, name="bench", confirmed=True)
            session = client.session
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
            session.save()
        for page in ("/bench/floor/", "/accounts/password_change/"):
            client.get(page)
            with CaptureQueriesContext(connection) as ctx:
                response = client.get(page)
            assert response.status_code == 200, response.status_code
            sql = [q["sql"] for q in ctx.captured_queries]
            writes = sum(1 for q in sql if q.startswith(("UPDATE", "INSERT", "DELETE")))
            print(f"| {role} | `{page}` | {len(sql)} | {writes} |")


if __name__ == "__main__":
    main()
