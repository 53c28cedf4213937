"""`carenet demo`: build the synthetic Tianjin (16 districts, ~3,600 villages, an account for each,
children with families and categories) into an empty database."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from carenet.demo.build import DEFAULT_CHILDREN, DEFAULT_SEED, demo_build, demo_exists
from carenet.demo.screening import demo_screening


class Command(BaseCommand):
    help = "Build the demo city (synthetic Tianjin) into an empty database."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--children",
            type=int,
            default=DEFAULT_CHILDREN,
            help=f"number of children (default {DEFAULT_CHILDREN:,}; up to 1,000,000)",
        )
        parser.add_argument(
            "--seed", type=int, default=DEFAULT_SEED, help="random seed: the same seed builds the same city"
        )
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing if the database already has divisions"
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help="generator processes (default: one per CPU for PostgreSQL builds of 50,000+ children; 1 = none)",
        )

    def handle(
        self, *args: Any, children: int, seed: int, if_empty: bool, workers: int | None, **options: Any
    ) -> None:
        if children < 0:
            raise CommandError("--children must be zero or more")
        if demo_exists():
            if if_empty:
                self.stdout.write(
                    "数据库中已有区划数据，跳过演示数据生成。 (Divisions exist already: demo not built.)"
                )
                return
            raise CommandError(
                "The database already has divisions; the demo builds a whole city into an empty database "
                "(use --if-empty to skip quietly)."
            )
        self.stderr.write(f"Building the demo city: {children:,} children, seed {seed} …")
        result = demo_build(children=children, seed=seed, workers=workers, log=self.stderr.write)
        p = result.population
        self.stdout.write(
            f"演示数据已生成 / demo built in {result.seconds:.1f} s: {result.divisions:,} divisions, "
            f"{result.organisations:,} organisations, {result.users:,} accounts, {p.households:,} households, "
            f"{p.children:,} children, {p.members:,} family members, {p.memberships:,} category memberships, "
            f"caseload {result.caseload}."
        )
        if children:
            found = demo_screening(log=self.stderr.write)
            self.stdout.write(f"演示部门名单已筛查 / demo lists screened: {found}")
