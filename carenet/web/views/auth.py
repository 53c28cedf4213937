from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth import login, logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from carenet.accounts.services import LockedOut, login_check


class LoginForm(forms.Form):
    username = forms.CharField(
        label=gettext_lazy("Username"),
        max_length=150,
        widget=forms.TextInput(
            attrs={"autocomplete": "username", "autocapitalize": "none", "autofocus": True}
        ),
    )
    password = forms.CharField(
        label=gettext_lazy("Password"), widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )


def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("web:home")
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = login_check(
                request=request,
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password"],
            )
        except LockedOut as exc:
            form.add_error(None, exc.message)
        else:
            if user is None:
                form.add_error(None, _("Wrong username or password."))
            else:
                login(request, user)  # rotates the session key
                target = request.POST.get("next") or request.GET.get("next") or ""
                if not url_has_allowed_host_and_scheme(
                    target, {request.get_host()}, require_https=request.is_secure()
                ):
                    target = ""
                return redirect(target or "web:home")
    return render(
        request,
        "web/login.html",
        {
            "form": form,
            "next": request.GET.get("next", ""),
            "demo_password": settings.DEMO_PASSWORD if settings.DEMO else "",
            "demo_examples": _demo_examples(),
        },
    )


def _demo_examples() -> tuple[str, str] | None:
    if not settings.DEMO:
        return None
    from carenet.demo.staff import sign_in_examples  # the demo package only in demo mode

    return sign_in_examples()


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)  # flushes the session server-side, not just the cookie
    return redirect("web:login")
