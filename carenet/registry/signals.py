"""Signals other apps listen to, so the registry never imports them."""

from django.dispatch import Signal

# Sent inside the writing transaction after a child's categories, village or status changed.
# Arguments: child_ids (list[int]), moved (bool: the village changed).
child_changed = Signal()
