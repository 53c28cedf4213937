"""Who am I: the signed-in user, their place in the network and what their role may do."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema

from carenet.accounts.models import User
from carenet.accounts.permissions import ROLE_PERMS
from carenet.api.v1.security import current_user
from carenet.core import pinyin

router = Router(tags=["me"])


class MeOut(Schema):
    username: str
    role: str
    role_display: str
    division_code: str
    division_name: str
    division_full_name: str
    full_name: str
    permissions: list[str]


def _full_name(user: User) -> str:
    # Chinese names are written family name first with no space (张 + 伟 = 张伟).
    if pinyin.has_han(user.last_name + user.first_name):
        return f"{user.last_name}{user.first_name}"
    return user.get_full_name()


@router.get("", response=MeOut, url_name="me", summary="The signed-in user")
def me(request: HttpRequest) -> dict[str, object]:
    user = current_user(request)
    division = user.division if user.division_id else None
    return {
        "username": user.username,
        "role": user.role,
        "role_display": user.get_role_display(),
        "division_code": division.code if division else "",
        "division_name": division.name if division else "",
        "division_full_name": division.full_name if division else "",
        "full_name": _full_name(user),
        "permissions": sorted(str(p) for p in ROLE_PERMS.get(user.role, frozenset())),
    }
