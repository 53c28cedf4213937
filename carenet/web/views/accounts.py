from __future__ import annotations

from django.contrib import messages
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from carenet.accounts import services
from carenet.accounts.jurisdiction import get_scoped_or_404, scope
from carenet.accounts.models import LoginFailure, User
from carenet.accounts.permissions import Perm
from carenet.core.errors import CarenetError
from carenet.web.forms import PasswordResetForm, UserCreateForm, UserSearchForm, apply_error
from carenet.web.views.common import paginate, require


@require(Perm.USER_MANAGE)
def user_list(request: HttpRequest) -> HttpResponse:
    form = UserSearchForm(request.GET or None)
    users = scope(request.user, User.objects.select_related("division")).order_by(
        "division__code", "username"
    )
    if form.is_valid() and form.cleaned_data.get("q"):
        q = form.cleaned_data["q"].strip()
        users = users.filter(
            Q(username__icontains=q) | Q(last_name__startswith=q[:1], first_name__startswith=q[1:])
        )
    page = paginate(users, form.cleaned_data.get("page") if form.is_bound and form.is_valid() else 1, size=50)
    return render(request, "web/accounts/list.html", {"form": form, "page": page})


@require(Perm.USER_MANAGE)
def user_create(request: HttpRequest) -> HttpResponse:
    form = UserCreateForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            created = services.user_create(actor=request.user, **form.cleaned_data)
        except CarenetError as exc:
            apply_error(form, exc)
        else:
            messages.success(request, _("Account %(u)s created.") % {"u": created.username})
            return redirect("web:user_detail", pk=created.pk)
    return render(request, "web/accounts/form.html", {"form": form})


@require(Perm.USER_MANAGE)
def user_detail(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_scoped_or_404(request.user, User.objects.select_related("division"), pk=pk)
    form = PasswordResetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.user_reset_password(
                actor=request.user, user=account, password=form.cleaned_data["password"]
            )
        except CarenetError as exc:
            apply_error(form, exc)
        else:
            messages.success(request, _("Password reset; the account is unlocked and signed out everywhere."))
            return redirect("web:user_detail", pk=account.pk)
    lock = LoginFailure.objects.filter(username=account.username).first()
    return render(request, "web/accounts/detail.html", {"account": account, "form": form, "lock": lock})


@require(Perm.USER_MANAGE)
@require_POST
def user_toggle_active(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_scoped_or_404(request.user, User.objects.select_related("division"), pk=pk)
    try:
        services.user_set_active(actor=request.user, user=account, active=not account.is_active)
        messages.success(
            request, _("Account enabled.") if account.is_active else _("Account disabled and signed out.")
        )
    except CarenetError as exc:
        messages.error(request, exc.message)
    return redirect("web:user_detail", pk=account.pk)
