"""`carenet adduser USERNAME --role ROLE --division CODE`: create a staff account with its one role and place.

Production bootstrap (the first city administrator) and scripted onboarding; the password is asked
for interactively, or read from the CARENET_NEW_PASSWORD environment variable for scripts.
"""

from __future__ import annotations

import getpass
import os
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from carenet.accounts.models import ROLE_LEVEL, Division, Role, User


class Command(BaseCommand):
    help = "Create a user with a role and a division (the place whose children they see)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--division", required=True, help="division code, e.g. 12 or 120112")
        parser.add_argument("--name", default="", help="full name, family name first (陆勇)")

    @transaction.atomic
    def handle(self, *args: Any, username: str, role: str, division: str, name: str, **options: Any) -> None:
        if User.objects.filter(username=username).exists():
            raise CommandError(f"username {username!r} is taken")
        place = Division.objects.filter(code=division).first()
        if place is None:
            raise CommandError(
                f"unknown division code {division!r}; load divisions first (carenet import-divisions)"
            )
        if place.level not in ROLE_LEVEL[Role(role)]:
            allowed = ", ".join(sorted(str(level) for level in ROLE_LEVEL[Role(role)]))
            raise CommandError(f"a {role} sits on a division of level {allowed}, not {place.level}")
        password = os.environ.get("CARENET_NEW_PASSWORD") or getpass.getpass("Password: ")
        user = User(username=username, role=role, division=place, last_name=name[:1], first_name=name[1:])
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        user.set_password(password)
        user.save()
        self.stdout.write(f"created {username} ({role}) at {place.full_name or place.name}")
