"""`carenet import_divisions FILE`: load or update the division tree from a CSV (code, name).

Official lists come from Excel, saved as UTF-8 (with or without BOM) or as GBK by older Windows
installations; the file is tried in that order. Either every row is good and the import is
applied, or nothing is written and every bad row is listed with its line number.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from carenet.accounts.services import divisions_import, divisions_parse
from carenet.core.errors import RowErrors


def read_text(path: Path) -> str:
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):  # GB18030 is the superset of GBK/GB2312
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise CommandError(f"{path}: neither UTF-8 nor GBK text")


class Command(BaseCommand):
    help = "Import divisions (统计用区划代码) from a CSV with the columns code,name (代码,名称)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="CSV file: UTF-8 (BOM optional) or GBK")

    def handle(self, *args: Any, file: Path, **options: Any) -> None:
        if not file.is_file():
            raise CommandError(f"{file}: no such file")
        try:
            result = divisions_import(rows=divisions_parse(read_text(file)))
        except RowErrors as exc:
            for line, message in exc.errors:
                self.stderr.write(f"第{line}行: {message}")
            raise CommandError(exc.message) from exc
        summary = f"新增 created {result.created:,}，更新 updated {result.updated:,}，未变 unchanged {result.unchanged:,}"
        if result.descendants_renamed:
            summary += f"，下级全称随之更新 descendants renamed {result.descendants_renamed:,}"
        self.stdout.write(summary)
