"""The bank account a child's allowance is paid into: recorded encrypted, shown masked, replaced never deleted."""

from __future__ import annotations

import re
import unicodedata

from django.db import transaction
from django.utils.translation import gettext as _

from carenet.accounts.jurisdiction import scope
from carenet.accounts.models import User
from carenet.accounts.permissions import Perm, has_perm
from carenet.audit import events
from carenet.benefits.models import BankAccount
from carenet.core.errors import CarenetError, PermissionDeniedError
from carenet.registry.models import Child

# Chinese debit-card numbers are 16–19 digits; passbook and corporate-style accounts run longer or shorter.
ACCOUNT_DIGITS = (12, 30)
# Separators people type inside account numbers (after NFKC, the full-width hyphen is already "-").
_SEPARATORS = re.compile(r"[\s\-_‐‑‒–—―−]")


def normalize_account(raw: str) -> str:
    """Full-width digits to ASCII, spaces and dashes dropped: '6222 ０２０２-1234' -> '622202021234'."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", raw or ""))


def active_account(child: Child) -> BankAccount | None:
    return BankAccount.objects.filter(child=child, active=True).first()


@transaction.atomic
def bank_account_set(
    *, actor: User, child: Child, holder_name: str, bank_name: str, number: str
) -> BankAccount:
    """Record the account the child's allowance is paid into from now on. The previous one is kept, inactive:
    payment lines already sent carry their own copy of the account they were paid to."""
    if not has_perm(actor, Perm.BANK_ACCOUNT_EDIT):
        raise PermissionDeniedError(_("Your role may not do this."))
    child = scope(actor, Child.objects.select_for_update()).get(pk=child.pk)
    holder_name, bank_name = (holder_name or "").strip(), (bank_name or "").strip()
    number = _checked_number(number)
    if not holder_name:
        raise CarenetError(_("Give the account holder's name."), field="holder_name")
    if len(holder_name) > 60:
        raise CarenetError(_("The account holder's name is too long."), field="holder_name")
    if not bank_name:
        raise CarenetError(_("Give the bank."), field="bank_name")
    if len(bank_name) > 100:
        raise CarenetError(_("The bank's name is too long."), field="bank_name")

    previous = BankAccount.objects.select_for_update().filter(child=child, active=True).first()
    if previous and (previous.number, previous.holder_name, previous.bank_name) == (
        number,
        holder_name,
        bank_name,
    ):
        return previous  # nothing changed: no new row, no audit noise
    if previous:
        previous.active = False
        previous.save(update_fields=["active"])
        _log(actor, previous, "update", {"active": [True, False]})

    account = BankAccount(child=child, holder_name=holder_name, bank_name=bank_name, created_by=actor)
    account.set_number(number)
    account.save()
    # Only the masked form ever reaches the audit log.
    _log(
        actor,
        account,
        "create",
        {
            "account": [previous.masked if previous else None, account.masked],
            "holder_name": [previous.holder_name if previous else None, holder_name],
            "bank_name": [previous.bank_name if previous else None, bank_name],
        },
    )
    return account


def _checked_number(raw: str) -> str:
    number = normalize_account(raw)
    low, high = ACCOUNT_DIGITS
    if not number:
        raise CarenetError(_("Give the account number."), field="number")
    if not number.isascii() or not number.isdigit():
        raise CarenetError(_("An account number has digits only."), field="number")
    if not low <= len(number) <= high:
        raise CarenetError(
            _("An account number has %(low)d to %(high)d digits; this one has %(n)d.")
            % {"low": low, "high": high, "n": len(number)},
            field="number",
        )
    return number


def _log(actor: User, account: BankAccount, action: str, changes: dict) -> None:
    events.change_recorded(
        actor=actor,
        entity="bank_account",
        entity_id=account.pk,
        child_id=account.child_id,
        division_code=account.child.division_code,
        action=action,
        changes=changes,
    )
