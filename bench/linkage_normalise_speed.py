"""Time carenet.linkage.normalise.prepare() on 1,000,000 synthetic rows (target: about 2 s on 2 cores).

    .venv/bin/python bench/linkage_normalise_speed.py [ROWS]

The rows mix what real lists hold: common and rare names, a few traditional and minority names, dates
written six ways, ID numbers with full-width digits, spaces and 15-digit forms, addresses with and
without the city and district in front.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import polars as pl

from carenet.linkage.normalise import id_with_check, prepare

SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤单"
)
SURNAMES += ["欧阳", "司马", "诸葛", "上官"]
GIVEN = list(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红玲丹飞鹏辉兰凤梅琳晶莉斌宇浩凯健俊帆帅旭宁龙林欢阳建国云莲颖鑫彬淑荣庆波亮志鸿琴晨瑶婷雪慧佳嘉家欣怡馨梓涵轩睿博宏诗语紫萱雨思彤一子可心晓东铭锦泽润琪瑞祥"
)
OTHER_NAMES = ["張偉", "阿依古丽·买买提", "阿依古丽•买买提", "José Müller", "买买提·艾力", "劉德華"]
PLACES = [
    ("天津市", "津南区", "双港镇"),
    ("天津市", "河西区", "友谊路街道"),
    ("河北省石家庄市", "长安区", "建北街道"),
    ("北京市", "朝阳区", "望京街道"),
]
ROADS = list("幸福解放人民建设和平胜利中山团结友谊")


def synthetic(rows: int, seed: int = 7) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    surname = np.array(SURNAMES)[rng.integers(0, len(SURNAMES), rows)]
    given = np.array(GIVEN)
    g1, g2 = given[rng.integers(0, len(given), rows)], given[rng.integers(0, len(given), rows)]
    two = rng.random(rows) < 0.7
    names = np.char.add(np.char.add(surname, g1), np.where(two, g2, ""))
    other = rng.random(rows) < 0.01
    names = np.where(other, np.array(OTHER_NAMES)[rng.integers(0, len(OTHER_NAMES), rows)], names)

    births = np.datetime64("1950-01-01") + rng.integers(0, 365 * 70, rows).astype("timedelta64[D]")
    iso = np.datetime_as_string(births)
    ymd = np.char.replace(iso, "-", "")
    form = rng.integers(0, 6, rows)
    y, m, d = ymd.astype("U4"), np.array([s[4:6] for s in ymd]), np.array([s[6:8] for s in ymd])
    mi, di = np.char.lstrip(m, "0"), np.char.lstrip(d, "0")
    serial = (births - np.datetime64("1899-12-30")).astype(int).astype(str)
    dates = np.select(
        [form == 0, form == 1, form == 2, form == 3, form == 4],
        [iso, ymd, _join(y, "/", mi, "/", di), _join(y, "年", mi, "月", di, "日"), serial],
        _join(iso, " 00:00:00"),
    )

    regions = np.array(["120112", "120103", "130102", "110105"])[rng.integers(0, 4, rows)]
    seq = np.char.zfill(rng.integers(0, 1000, rows).astype(str), 3)
    body = _join(regions, ymd, seq)
    ids = np.array([id_with_check(b) for b in body.tolist()])
    variant = rng.random(rows)
    ids = np.where(variant < 0.02, np.char.lower(ids), ids)
    spaced = np.array([f"{i[:6]} {i[6:14]} {i[14:]}" for i in ids.tolist()])
    legacy = np.array([i[:6] + i[8:17] for i in ids.tolist()])
    ids = np.where((variant >= 0.02) & (variant < 0.04), spaced, ids)
    ids = np.where((variant >= 0.04) & (variant < 0.06), legacy, ids)
    ids = np.where((variant >= 0.06) & (variant < 0.16), "", ids)
    full_width = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
    ids = np.where(
        (variant >= 0.16) & (variant < 0.17), np.array([i.translate(full_width) for i in ids.tolist()]), ids
    )

    place = rng.integers(0, len(PLACES), rows)
    prefix = rng.random(rows) < 0.5
    city = np.array([p[0] for p in PLACES])[place]
    district = np.array([p[1] for p in PLACES])[place]
    street = np.array([p[2] for p in PLACES])[place]
    road = np.char.add(np.array(ROADS)[rng.integers(0, len(ROADS), rows)], "路")
    number = np.char.add(rng.integers(1, 300, rows).astype(str), "号")
    local = _join(street, road, number)
    addresses = np.where(prefix, _join(city, district, local), local)
    sex = np.array(["男", "女", "", "M", "F", "1", "2"])[rng.integers(0, 7, rows)]
    return pl.DataFrame(
        {
            "id": np.arange(rows).astype(str),
            "name": names,
            "sex": sex,
            "birth_date": dates,
            "id_number": ids,
            "address": addresses,
        }
    )


def _join(*parts: object) -> np.ndarray:
    out = np.asarray(parts[0]).astype(str)
    for part in parts[1:]:
        out = np.char.add(out, np.asarray(part).astype(str))
    return out


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    df = synthetic(rows)
    prepare(df.head(1000))  # load pypinyin's dictionary and compile the region regex once
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        out = prepare(df)
        best = min(best, time.perf_counter() - start)
    assert out.height == rows
    print(f"prepare(): {rows:,} rows in {best:.2f} s (best of 3)")
    print(f"  names: {df['name'].n_unique():,} distinct; ID numbers valid: {out['id_valid'].sum():,}")
    print(f"  birth dates parsed: {out['birth'].is_not_null().sum():,}; addresses with area stripped: "
          f"{out['addr_area'].is_not_null().sum():,}")  # fmt: skip


if __name__ == "__main__":
    main()
