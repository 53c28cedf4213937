"""`carenet link LIST REFERENCE --out RESULT.csv [--model M.json] [--save-model M.json] [--map field=header]`"""

from __future__ import annotations

import io as _io
import json
import subprocess
import sys

import polars as pl
import pytest
from django.core.management import CommandError, call_command

from carenet.linkage import synth


@pytest.fixture(scope="module")
def files(tmp_path_factory):  # type: ignore[no-untyped-def]
    directory = tmp_path_factory.mktemp("link")
    data = synth.generate(n_reference=3000, n_list=3000, seed=5)
    # The list comes as a department would send it: CSV with Chinese headers.
    data.list.rename(
        {
            "id": "序号",
            "name": "姓名",
            "sex": "性别",
            "birth_date": "出生日期",
            "id_number": "公民身份号码",
            "address": "户籍地址",
        }
    ).write_csv(directory / "list.csv")
    data.reference.write_parquet(directory / "reference.parquet")
    return directory, data


def test_link_writes_one_row_per_list_record_and_reuses_its_model(files):
    directory, data = files
    out, model = directory / "result.csv", directory / "model.json"
    printed = _io.StringIO()
    call_command(
        "link",
        str(directory / "list.csv"),
        str(directory / "reference.parquet"),
        "--out",
        str(out),
        "--save-model",
        str(model),
        stdout=printed,
    )
    summary = json.loads(printed.getvalue())
    result = pl.read_csv(out, infer_schema=False)
    assert result.columns == ["list_id", "reference_id", "probability", "decision", "reason"]
    assert result.height == data.list.height == summary["list"]
    assert summary["match"] == result.filter(pl.col("decision") == "match").height > 1000
    figures = synth.evaluate(result, data.truth)
    assert figures["precision"] >= 0.999 and figures["recall"] >= 0.99
    again = directory / "again.csv"
    call_command(
        "link",
        str(directory / "list.csv"),
        str(directory / "reference.parquet"),
        "--out",
        str(again),
        "--model",
        str(model),
        stdout=_io.StringIO(),
    )
    assert pl.read_csv(again, infer_schema=False).equals(result)


def test_a_header_mapping_and_a_bad_mapping(files, tmp_path):
    directory, _data = files
    odd = pl.read_csv(directory / "list.csv", infer_schema=False).rename({"姓名": "儿童名字"})
    odd.write_csv(tmp_path / "odd.csv")
    out = tmp_path / "out.csv"
    call_command(
        "link",
        str(tmp_path / "odd.csv"),
        str(directory / "reference.parquet"),
        "--out",
        str(out),
        "--map",
        "name=儿童名字",
        stdout=_io.StringIO(),
    )
    assert pl.read_csv(out, infer_schema=False).filter(pl.col("decision") == "match").height > 1000
    with pytest.raises(CommandError, match="FIELD=HEADER"):
        call_command(
            "link",
            str(tmp_path / "odd.csv"),
            str(directory / "reference.parquet"),
            "--out",
            str(out),
            "--map",
            "name",
        )
    with pytest.raises(CommandError, match="no column"):
        call_command(
            "link",
            str(tmp_path / "odd.csv"),
            str(directory / "reference.parquet"),
            "--out",
            str(out),
            "--map",
            "name=名字",
        )


def test_the_console_script_links_without_starting_django(files, tmp_path):
    """`carenet link` goes straight to the linkage CLI: same result, no Django, a usage error exits 2."""
    directory, data = files
    code = (
        "import sys\nfrom carenet import cli\nsys.argv = ['carenet', 'link', *sys.argv[1:]]\n"
        "try:\n    cli.main()\nexcept SystemExit as exc:\n    print('exit', exc.code, 'django' in sys.modules)\n"
    )
    out = tmp_path / "console.csv"
    args = [str(directory / "list.csv"), str(directory / "reference.parquet"), "--out", str(out)]
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=False)
    lines = done.stdout.strip().splitlines()
    assert lines[-1] == "exit 0 False", done.stderr[-2000:]
    assert json.loads(lines[-2])["list"] == data.list.height == pl.read_csv(out, infer_schema=False).height
    bad = subprocess.run(
        [sys.executable, "-c", code, *args, "--map", "name"], capture_output=True, text=True, check=False
    )
    assert bad.stdout.strip().splitlines()[-1] == "exit 2 False"
    assert "FIELD=HEADER" in bad.stderr
