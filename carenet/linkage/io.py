"""Reading lists in the forms departments send them: CSV (UTF-8 or GBK), XLSX, Parquet; Chinese or canonical
headers; everything read as text (an ID number must never become 1.2011e+17)."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import polars as pl

CANONICAL = ("id", "name", "sex", "birth_date", "id_number", "address")
# The usual headers of Chinese departments' lists (公安, 教育, 医保, 民政 …), lower-cased for English ones.
ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "编号", "序号", "记录号", "人员编号", "record_id"),
    "name": ("name", "姓名", "名字", "儿童姓名", "full_name"),
    "sex": ("sex", "gender", "性别"),
    "birth_date": ("birth_date", "birthdate", "dob", "出生日期", "出生年月日", "生日"),
    "id_number": ("id_number", "身份证号", "身份证号码", "公民身份号码", "证件号码", "身份证", "id_no"),
    "address": ("address", "住址", "户籍地址", "现住址", "家庭住址", "地址", "户籍地"),
}


class ListError(ValueError):
    """A list that cannot be read: the message names the file and the column."""


def read(path: str | Path, *, mapping: dict[str, str] | None = None, strict: bool = True) -> pl.DataFrame:
    """The list with the canonical columns (all text; those it lacks are null). `mapping` maps a canonical field
    to a header of the file (`--map name=儿童姓名`); with strict=False a mapped header the file lacks is skipped."""
    df = read_raw(path)
    if not strict and mapping:
        mapping = {f: h for f, h in mapping.items() if h in {str(c).strip() for c in df.columns}}
    return canonical(df, mapping=mapping, source=Path(path).name)


def read_raw(path: str | Path, *, content: bytes | None = None) -> pl.DataFrame:
    """The file's table as it is (every column text for CSV and XLSX), or ListError naming the file. With
    `content` (the file's bytes, already in memory: an upload) the table is read from them, and `path` only
    names the file and its format."""
    path = Path(path)
    suffix = path.suffix.lower()
    source: Path | io.BytesIO = path if content is None else io.BytesIO(content)
    try:
        if suffix == ".parquet":
            df = pl.read_parquet(source)
        elif suffix in (".xlsx", ".xlsm"):
            df = _read_xlsx(source, path.name)
        elif suffix in (".csv", ".txt"):
            df = _read_csv(path.read_bytes() if content is None else content, path.name)
        else:
            raise ListError(f"{path.name}: unknown format {suffix or '(none)'}; use CSV, XLSX or Parquet")
    except ListError:
        raise
    except Exception as exc:  # polars raises several kinds for a broken file
        raise ListError(f"{path.name}: cannot be read ({exc.__class__.__name__}: {str(exc)[:200]})") from exc
    return df


def headers(path: str | Path) -> list[str]:
    """The column headers of a list file, as read()."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return [str(c).strip() for c in pl.read_parquet_schema(path)]
    if suffix in (".xlsx", ".xlsm"):
        return [str(c).strip() for c in _read_xlsx(path, path.name, header_only=True).columns]
    return [str(c).strip() for c in _read_csv(path.read_bytes(), path.name).columns]


def _cell_text(value: object) -> str | None:
    """A spreadsheet cell as the text a person typed: 120101201003043511 stays whole, a date becomes ISO."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _read_xlsx(source: Path | io.BytesIO, name: str, *, header_only: bool = False) -> pl.DataFrame:
    """The first sheet, every cell as text (openpyxl, read-only: a 100,000-row roll streams)."""
    import openpyxl  # only for spreadsheets: a fifth of a second at start-up otherwise

    book = openpyxl.load_workbook(source, read_only=True, data_only=True)
    try:
        rows = book.worksheets[0].iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            raise ListError(f"{name}: the first sheet is empty")
        names = [str(h).strip() if h is not None else f"column_{i + 1}" for i, h in enumerate(header)]
        if len(set(names)) != len(names):
            raise ListError(f"{name}: two columns have the same header")
        columns: list[list[str | None]] = [[] for _ in names]
        if not header_only:
            for row in rows:
                for i in range(len(names)):
                    columns[i].append(_cell_text(row[i]) if i < len(row) else None)
    finally:
        book.close()
    return pl.DataFrame({n: pl.Series(n, c, dtype=pl.Utf8) for n, c in zip(names, columns, strict=True)})


def _read_csv(raw: bytes, name: str) -> pl.DataFrame:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ListError(f"{name}: neither UTF-8 nor GBK text")
    return pl.read_csv(io.StringIO(text), infer_schema=False)


def canonical(
    df: pl.DataFrame, *, mapping: dict[str, str] | None = None, source: str = "list"
) -> pl.DataFrame:
    headers = {str(c).strip(): c for c in df.columns}
    lowered = {h.lower(): c for h, c in headers.items()}
    chosen: dict[str, str] = {}
    for field_name, header in (mapping or {}).items():
        if field_name not in CANONICAL:
            raise ListError(f"--map {field_name}=…: unknown field; use one of {', '.join(CANONICAL)}")
        if header not in headers:
            raise ListError(f"{source}: no column {header!r} (for {field_name})")
        chosen[field_name] = headers[header]
    for field_name in CANONICAL:
        if field_name in chosen:
            continue
        for alias in ALIASES[field_name]:
            if alias in headers or alias.lower() in lowered:
                chosen[field_name] = headers.get(alias) or lowered[alias.lower()]
                break
    if "id" not in chosen:
        raise ListError(
            f"{source}: no id column (looked for {', '.join(ALIASES['id'])}; or use --map id=HEADER)"
        )
    return df.select(
        [
            (
                pl.col(chosen[f]).cast(pl.Utf8).str.strip_chars()
                if f in chosen
                else pl.lit(None, dtype=pl.Utf8)
            ).alias(f)
            for f in CANONICAL
        ]
    )


def write(df: pl.DataFrame, path: str | Path) -> None:
    path = Path(path)
    if path.suffix.lower() == ".parquet":
        df.write_parquet(path)
    elif path.suffix.lower() == ".xlsx":
        df.write_excel(path)
    else:
        df.write_csv(path)
