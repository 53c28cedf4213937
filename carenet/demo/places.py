"""The demo city's division tree: the 16 real districts of Tianjin, generated towns/streets and villages.

Codes follow the national statistical scheme (GB/T 2260 + the NBS urban-rural codes): a street's
three digits are 001-099 for 街道, 100-199 for 镇 and 200-399 for 乡; a village's are 001-199 for a
community 社区 (residents' committee) and 200-399 for a village 村 (villagers' committee).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

CITY_CODE = "12"
CITY_NAME = "天津市"


class Setting(StrEnum):
    URBAN = "urban"  # the six central districts: streets only, communities only
    SUBURBAN = "suburban"  # towns and villages around a town-centre street or two
    MIXED = "mixed"  # 滨海新区: mostly streets, some towns


@dataclass(frozen=True)
class DistrictSpec:
    code: str
    name: str
    setting: Setting
    # Region codes an ID number issued here carried before the current code existed (python-stdnum
    # knows each code's years): 蓟州区 120119 dates from 2016, before that 蓟县 120225, before 1982 120205.
    old_regions: tuple[str, ...] = ()
    # A few real street/town names to start from; the rest are generated.
    known_streets: tuple[str, ...] = ()


DISTRICTS: tuple[DistrictSpec, ...] = (
    DistrictSpec(
        "120101",
        "和平区",
        Setting.URBAN,
        (),
        ("劝业场街道", "小白楼街道", "五大道街道", "新兴街道", "南营门街道", "南市街道"),
    ),
    DistrictSpec(
        "120102",
        "河东区",
        Setting.URBAN,
        (),
        ("唐家口街道", "大直沽街道", "大王庄街道", "向阳楼街道", "春华街道", "富民路街道"),
    ),
    DistrictSpec(
        "120103",
        "河西区",
        Setting.URBAN,
        (),
        ("友谊路街道", "天塔街道", "马场街道", "越秀路街道", "尖山街道", "梅江街道"),
    ),
    DistrictSpec(
        "120104",
        "南开区",
        Setting.URBAN,
        (),
        ("长虹街道", "鼓楼街道", "兴南街道", "广开街道", "万兴街道", "学府街道"),
    ),
    DistrictSpec(
        "120105",
        "河北区",
        Setting.URBAN,
        (),
        ("光复道街道", "望海楼街道", "鸿顺里街道", "新开河街道", "铁东路街道", "宁园街道"),
    ),
    DistrictSpec(
        "120106",
        "红桥区",
        Setting.URBAN,
        (),
        ("西于庄街道", "丁字沽街道", "西沽街道", "三条石街道", "邵公庄街道", "芥园街道"),
    ),
    DistrictSpec(
        "120110",
        "东丽区",
        Setting.SUBURBAN,
        (),
        ("张贵庄街道", "丰年村街道", "万新街道", "无瑕街道", "华明街道", "金钟街道", "军粮城街道"),
    ),
    DistrictSpec(
        "120111",
        "西青区",
        Setting.SUBURBAN,
        (),
        ("西营门街道", "杨柳青镇", "中北镇", "精武镇", "大寺镇", "王稳庄镇", "辛口镇", "张家窝镇"),
    ),
    DistrictSpec(
        "120112",
        "津南区",
        Setting.SUBURBAN,
        (),
        ("咸水沽镇", "葛沽镇", "小站镇", "双港镇", "辛庄镇", "双桥河镇", "八里台镇", "北闸口镇"),
    ),
    DistrictSpec(
        "120113",
        "北辰区",
        Setting.SUBURBAN,
        (),
        ("果园新村街道", "集贤里街道", "天穆镇", "北仓镇", "双街镇", "双口镇", "青光镇", "西堤头镇"),
    ),
    DistrictSpec(
        "120114",
        "武清区",
        Setting.SUBURBAN,
        ("120222", "120202"),
        ("杨村街道", "下朱庄街道", "崔黄口镇", "大良镇", "南蔡村镇", "河西务镇", "王庆坨镇", "汊沽港镇"),
    ),
    DistrictSpec(
        "120115",
        "宝坻区",
        Setting.SUBURBAN,
        ("120224", "120204"),
        ("宝平街道", "钰华街道", "大口屯镇", "王卜庄镇", "林亭口镇", "八门城镇", "大钟庄镇", "新安镇"),
    ),
    # 滨海新区 (2009) merged 塘沽区 120107, 汉沽区 120108 and 大港区 120109.
    DistrictSpec(
        "120116",
        "滨海新区",
        Setting.MIXED,
        ("120107", "120108", "120109"),
        (
            "塘沽街道",
            "杭州道街道",
            "新河街道",
            "大沽街道",
            "汉沽街道",
            "寨上街道",
            "大港街道",
            "古林街道",
            "中塘镇",
            "太平镇",
            "杨家泊镇",
        ),
    ),
    DistrictSpec(
        "120117",
        "宁河区",
        Setting.SUBURBAN,
        ("120221", "120201"),
        ("芦台镇", "宁河镇", "苗庄镇", "丰台镇", "岳龙镇", "板桥镇", "潘庄镇", "七里海镇"),
    ),
    DistrictSpec(
        "120118",
        "静海区",
        Setting.SUBURBAN,
        ("120223", "120203"),
        ("静海镇", "唐官屯镇", "独流镇", "王口镇", "台头镇", "子牙镇", "大邱庄镇", "良王庄乡"),
    ),
    DistrictSpec(
        "120119",
        "蓟州区",
        Setting.SUBURBAN,
        ("120225", "120205"),
        ("文昌街道", "渔阳镇", "官庄镇", "马伸桥镇", "下营镇", "邦均镇", "别山镇", "孙各庄满族乡"),
    ),
)


@dataclass
class Village:
    code: str
    name: str
    rural: bool  # 村 (villagers' committee) rather than 社区


@dataclass
class Street:
    code: str
    name: str
    district: DistrictSpec
    index: int  # position within the district; picks the predecessor county for 滨海新区
    villages: list[Village] = field(default_factory=list)

    @property
    def is_town(self) -> bool:
        return not self.name.endswith(("街道", "街"))


# Syllables the generated names are built from: Tianjin place names are mostly a family name or a
# direction plus a settlement word (王庄子, 东泥沽, 辛口), communities a fair word plus 里/园/苑.
_PLACE_HEADS = "大小东西南北前后上中下新老王李张刘赵杨高马孙郭何曹田辛韩石白邢卢窦苏董齐于冯胡邓贾魏穆宋"
_PLACE_TAILS = (
    "庄",
    "庄子",
    "家庄",
    "各庄",
    "家营",
    "官屯",
    "家口",
    "沽",
    "坨",
    "口",
    "台",
    "堡",
    "店",
    "营",
    "屯",
    "桥",
    "洼",
    "淀",
    "码头",
    "河",
    "湾",
    "寨",
    "集",
    "家房子",
    "家圈",
    "辛庄",
    "泥沽",
    "窑",
    "场",
    "闸",
)
_FAIR_WORDS = (
    "阳光",
    "金色",
    "春华",
    "幸福",
    "和谐",
    "富民",
    "兴华",
    "东兴",
    "滨河",
    "景园",
    "丽苑",
    "翠屏",
    "华苑",
    "云峰",
    "揽涛",
    "海景",
    "锦绣",
    "静湖",
    "御河",
    "柳堤",
    "紫金",
    "朝阳",
    "康乐",
    "祥和",
    "荣华",
    "绿洲",
    "书香",
    "明珠",
    "长安",
    "广厦",
    "平安",
    "安居",
    "泰达",
    "瑞景",
    "万隆",
    "嘉禾",
    "丰盛",
    "宜居",
    "美丽",
    "文化",
    "友谊",
    "胜利",
    "光明",
    "建设",
    "新华",
    "向阳",
    "团结",
    "民主",
    "红星",
    "育才",
    "前进",
    "永安",
)
_FAIR_TAILS = (
    "里",
    "园",
    "苑",
    "轩",
    "家园",
    "花园",
    "新村",
    "公寓",
    "佳园",
    "雅居",
    "东里",
    "西里",
    "南里",
    "北里",
    "新苑",
)
_ROAD_TAILS = ("路", "道", "里", "")


def _unique(make: Callable[[random.Random], str], taken: set[str], rng: random.Random) -> str:
    """Draw names from `make` until one is not yet used in this scope."""
    for _attempt in range(200):
        name = make(rng)
        if name not in taken:
            taken.add(name)
            return name
    raise RuntimeError("ran out of distinct generated place names")


def _settlement(rng: random.Random) -> str:
    return rng.choice(_PLACE_HEADS) + rng.choice(_PLACE_TAILS)


def _fair_name(rng: random.Random) -> str:
    return rng.choice(_FAIR_WORDS) + rng.choice(_FAIR_TAILS)


def _street_name(rng: random.Random, kind: str) -> str:
    if kind == "街道":
        if rng.random() < 0.5:
            return rng.choice(_FAIR_WORDS) + rng.choice(_ROAD_TAILS) + "街道"
        return _settlement(rng) + "街道"
    return _settlement(rng) + kind


def _street_kinds(setting: Setting, count: int, rng: random.Random) -> list[str]:
    if setting is Setting.URBAN:
        return ["街道"] * count
    town_share = 0.4 if setting is Setting.MIXED else 0.8
    return [
        "街道" if rng.random() > town_share else ("乡" if rng.random() < 0.06 else "镇") for _ in range(count)
    ]


def _kind_of(name: str) -> str:
    return "乡" if name.endswith("乡") else "镇" if name.endswith("镇") else "街道"


def _district_streets(spec: DistrictSpec, rng: random.Random) -> list[Street]:
    count = rng.randint(10, 20)
    known = list(spec.known_streets)
    rng.shuffle(known)
    names = known[:count]
    taken = set(names)
    kinds = _street_kinds(spec.setting, count - len(names), rng)
    names += [_unique(lambda r, k=k: _street_name(r, k), taken, rng) for k in kinds]
    # Statistical numbering: streets 001-, towns 100-, townships 200-.
    next_number = {"街道": 1, "镇": 100, "乡": 200}
    streets = []
    for index, name in enumerate(
        sorted(names, key=lambda n: ({"街道": 0, "镇": 1, "乡": 2}[_kind_of(n)], n))
    ):
        kind = _kind_of(name)
        code = f"{spec.code}{next_number[kind]:03d}"
        next_number[kind] += 1
        streets.append(Street(code=code, name=name, district=spec, index=index))
    return streets


def _street_villages(street: Street, rng: random.Random) -> list[Village]:
    count = rng.randint(10, 20)
    # A town has a community or two around its centre, the rest are villages; a street only communities.
    communities = count if not street.is_town else rng.randint(1, 3)
    taken: set[str] = set()
    villages = []
    for i in range(communities):
        villages.append(
            Village(f"{street.code}{i + 1:03d}", _unique(_fair_name, taken, rng) + "社区", rural=False)
        )
    for i in range(count - communities):
        villages.append(
            Village(f"{street.code}{200 + i + 1:03d}", _unique(_settlement, taken, rng) + "村", rural=True)
        )
    return villages


def generate_tree(rng: random.Random) -> list[Street]:
    """Every street of every district, each with its villages; deterministic for a given `rng` state."""
    streets: list[Street] = []
    for spec in DISTRICTS:
        for street in _district_streets(spec, rng):
            street.villages = _street_villages(street, rng)
            streets.append(street)
    return streets


def division_rows(streets: list[Street]) -> list[tuple[int, str, str]]:
    """The tree as (line, code, name) rows, the shape `divisions_import` takes from a CSV."""
    rows = [(CITY_CODE, CITY_NAME)] + [(d.code, d.name) for d in DISTRICTS]
    for street in streets:
        rows.append((street.code, street.name))
        rows.extend((v.code, v.name) for v in street.villages)
    return [(line, code, name) for line, (code, name) in enumerate(rows, start=2)]
