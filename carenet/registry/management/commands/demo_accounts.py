"""`carenet demo_accounts`: how to sign in to the demo city."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from carenet.accounts.models import Role
from carenet.demo.build import demo_account_examples

URL = "http://127.0.0.1:8000"
# The network's own titles for each role (the seed's wording), shown before the English label.
ROLE_ZH = {
    Role.CITY_ADMIN: "市民政局管理员", Role.DISTRICT_SPECIALIST: "区级儿童工作专员", Role.STREET_SUPERVISOR: "街镇儿童督导员",
    Role.VILLAGE_DIRECTOR: "村居儿童主任", Role.SOCIAL_WORKER: "社会工作者", Role.CHARITY_STAFF: "慈善协会工作人员",
    Role.AUDITOR: "审计（只读）",
}


class Command(BaseCommand):
    help = "Print the demo sign-in: address, password, the account naming pattern and examples."

    def handle(self, *args: Any, **options: Any) -> None:
        examples = demo_account_examples()
        if not examples:
            self.stdout.write("还没有演示账号：先运行 carenet demo。 (No demo accounts yet: run `carenet demo` first.)")
            return
        lines = [
            "",
            "carenet 演示系统 / demo",
            f"  地址 URL:        {URL}",
            f"  密码 password:   {settings.DEMO_PASSWORD}  （所有演示账号相同 / same for every demo account）",
            "  账号规则 accounts: district-<6位区代码>  street-<9位街镇代码>  village-<12位村居代码>",
            "                    district-<6-digit code>  street-<9-digit>  village-<12-digit>",
            "  示例 examples:",
        ]
        for user in examples:
            place = user.division.full_name if user.division_id else ""
            role = f"{ROLE_ZH.get(user.role, '')} {user.get_role_display()}"
            lines.append(f"    {user.username:<22} {role:<44} {place}")
        self.stdout.write("\n".join(lines) + "\n")
