"""Template context: the signed-in user's unread notification count, for the badge in the navigation.

Add "carenet.problems.context.unread_notifications" to TEMPLATES' context_processors. The count is lazy:
a page that never shows `unread_notifications` runs no query for it."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject


def unread_notifications(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"unread_notifications": 0}

    def count() -> int:
        from carenet.problems.selectors import unread_count

        return unread_count(actor=user)

    return {"unread_notifications": SimpleLazyObject(count)}
