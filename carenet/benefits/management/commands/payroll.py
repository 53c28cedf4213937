"""`carenet payroll generate --district CODE --month YYYY-MM` and `carenet payroll verify --district CODE
--from YYYY-MM --to YYYY-MM`: each prints one JSON line. verify exits 1 when anything is wrong."""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from carenet.benefits import months
from carenet.benefits.models import Programme
from carenet.benefits.payroll import batch_summary, payroll_generate
from carenet.benefits.proof import full_payment_proof
from carenet.core.errors import CarenetError


class Command(BaseCommand):
    help = "Generate a district's payroll batch, or prove a district's payments complete."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        gen = sub.add_parser("generate", help="create (or find) the batch of a district and month")
        gen.add_argument("--district", required=True)
        gen.add_argument("--month", required=True, help="YYYY-MM")
        gen.add_argument("--programme", default=Programme.BASIC_LIVING, choices=Programme.values)
        gen.add_argument("--title", default="")
        ver = sub.add_parser("verify", help="prove every child-month owed was paid exactly once, rightly")
        ver.add_argument("--district", required=True, help="a district code, or the city's")
        ver.add_argument("--from", dest="first", required=True, help="YYYY-MM")
        ver.add_argument("--to", dest="last", required=True, help="YYYY-MM")
        ver.add_argument("--programme", default=Programme.BASIC_LIVING, choices=Programme.values)
        ver.add_argument("--findings", type=int, default=0, help="also print up to N findings, one per line")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["action"] == "generate":
                self._generate(options)
            else:
                self._verify(options)
        except CarenetError as exc:
            raise CommandError(f"{exc.field or 'error'}: {exc.message}") from exc

    def _generate(self, options: dict[str, Any]) -> None:
        batch = payroll_generate(
            actor=None,
            district_code=options["district"],
            month=months.parse(options["month"]),
            programme=options["programme"],
            title=options["title"],
        )
        self.stdout.write(json.dumps(batch_summary(batch), ensure_ascii=False))

    def _verify(self, options: dict[str, Any]) -> None:
        proof = full_payment_proof(
            actor=None,
            division_code=options["district"],
            first=months.parse(options["first"], field="from"),
            last=months.parse(options["last"], field="to"),
            programme=options["programme"],
            limit=max(options["findings"], 0),
        )
        self.stdout.write(json.dumps(proof.as_dict(), ensure_ascii=False))
        for finding in proof.findings[: options["findings"]]:
            self.stdout.write(
                json.dumps(
                    {
                        "kind": finding.kind,
                        "child": finding.child_id,
                        "month": months.label(finding.month),
                        "expected": str(finding.expected) if finding.expected is not None else None,
                        "paid": [str(a) for a in finding.paid],
                        "lines": finding.lines,
                    }
                )
            )
        if not proof.clean:
            sys.exit(1)
