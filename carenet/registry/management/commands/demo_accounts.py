"""`carenet demo_accounts`: how to sign in to the demo city."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import translation

from carenet.accounts.models import User
from carenet.demo.build import demo_account_examples

URL = "http://127.0.0.1:8000"


class Command(BaseCommand):
    help = "Print the demo sign-in: address, password, the account naming pattern and examples."

    def handle(self, *args: Any, **options: Any) -> None:
        examples = demo_account_examples()
        if not examples:
            self.stdout.write(
                "还没有演示账号：先运行 carenet demo。 (No demo accounts yet: run `carenet demo` first.)"
            )
            return
        lines = [
            "",
            "carenet 演示系统 / demo",
            f"  地址 URL:        {URL}",
            f"  密码 password:   {settings.DEMO_PASSWORD}  （所有演示账号相同 / same for every demo account）",
            "  账号规则 accounts: district-<6位区代码>  finance-<6位区代码>（区财务）  street-<9位街镇代码>  village-<12位村居代码>",
            "                    district-<6-digit code>  finance-<6-digit> (district finance)  street-<9-digit>  village-<12-digit>",
            "  示例 examples:",
        ]
        for user in examples:
            place = user.division.full_name if user.division_id else ""
            role = _role_label(user)
            lines.append(f"    {user.username:<22} {role:<44} {place}")
        self.stdout.write("\n".join(lines) + "\n")


def _role_label(user: User) -> str:
    """The role in Chinese, then in English: the demo is shown to both audiences."""
    with translation.override("zh-hans"):
        zh = str(user.get_role_display())
    with translation.override("en"):
        en = str(user.get_role_display())
    return zh if zh == en else f"{zh} / {en}"
