"""Chinese personal names for the demo: real surname frequencies, period-typical given names, minority
names, and deliberate homophones so that pinyin search (张伟 / 张玮 / 章伟 → "zhangwei") can be shown.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass

from carenet.demo.rand import Weighted, pick

# Surname and share (per mille) after the 2020 census household-register statistics, top ~100,
# plus a few surnames with special readings (单 shan, 曾 zeng, 解 xie, 翟 zhai) that pinyin must get right.
_SURNAME_WEIGHTS = (
    "王71 李70 张67 刘54 陈45 杨31 黄20 赵20 吴18 周17 徐13 孙13 马11 朱10 胡9 郭9 何8 高8 林8 罗7 "
    "郑7 梁6 谢5 宋5 唐5 许5 韩5 冯4 邓4 曹4 彭4 曾4 肖4 田4 董4 袁3 潘3 于3 蒋3 蔡3 余3 杜3 叶3 "
    "程3 苏3 魏3 吕3 丁3 任3 沈3 姚2 卢2 姜2 崔2 钟2 谭2 陆2 汪2 范2 金2 石2 廖2 贾2 夏2 韦2 付2 "
    "方2 白2 邹2 孟2 熊2 秦2 邱2 江2 尹2 薛2 闫2 段2 雷2 侯2 龙2 史2 陶1 黎1 贺1 顾1 毛1 郝1 龚1 "
    "邵1 万1 钱1 严1 覃1 武1 戴1 莫1 孔1 向1 汤1 穆1 单1 解1 翟1 章1 柳1 "
    "欧阳1 司马1 上官1 诸葛1 皇甫1"
)
SURNAMES: tuple[str, ...] = tuple(item.rstrip("0123456789") for item in _SURNAME_WEIGHTS.split())
_SURNAME = Weighted(
    SURNAMES, [int(item[len(s) :]) for item, s in zip(_SURNAME_WEIGHTS.split(), SURNAMES, strict=True)]
)

# Given-name characters popular for children born 2008-2026, and for their parents' and grandparents'
# generations (建国, 秀英 ...), by sex. Some characters are shared: 梓 and 子 are both "zi".
_CHILD_CHARS = {
    "M": "浩宇轩子梓俊博杰泽睿昊天明晨阳辰皓宸铭锦航一嘉逸然诚文瑞鹏伟强磊毅凯鑫豪煜烨祺霖墨言宁安奕朗峻哲翰恒",
    "F": "欣怡梓涵萱雨诗可馨悦思佳琪婷雅若语一依紫晴妍彤艺芷颖娜芳静丽敏玉慧琳璐晓茜梦瑶嘉涵菲蕊雪婉璇冉钰",
}
_PARENT_CHARS = {
    "M": "建国华志强海涛军伟勇明东刚磊鹏亮斌超永杰峰春林宏立新涛波红兵庆平辉文龙俊",
    "F": "红梅丽娟秀英霞敏静艳芳燕玲丹萍娜慧婷晶雪洁琳瑛华凤翠云兰莉倩",
}
_ELDER_CHARS = {
    "M": "德福林振华树山宝贵庆成金玉生长春国荣保全有利祥发海广义忠",
    "F": "秀兰桂英玉凤淑珍兰芝桂兰荣素琴梅花芬翠云珍英凤霞香月娥",
}

# Homophone groups for the search demo: every name in a group has the same toneless pinyin.
HOMOPHONES: tuple[tuple[tuple[str, str], ...], ...] = (
    (("张伟", "M"), ("张玮", "M"), ("张炜", "M"), ("章伟", "M")),
    (("李娜", "F"), ("李娜", "F"), ("李纳", "F"), ("黎娜", "F")),
    (("王芳", "F"), ("王方", "M"), ("汪芳", "F")),
    (("刘洋", "M"), ("刘阳", "M"), ("柳洋", "F")),
    (("陈静", "F"), ("陈婧", "F"), ("陈晶", "F")),
    (("王浩", "M"), ("王昊", "M"), ("王皓", "M")),
    (("张子涵", "M"), ("张梓涵", "F"), ("章子涵", "F")),
    (("李欣怡", "F"), ("李欣宜", "F"), ("李心怡", "F")),
    (("王梓轩", "M"), ("王子轩", "M"), ("汪子轩", "M")),
    (("刘一诺", "F"), ("刘奕诺", "F")),
    (("赵磊", "M"), ("赵蕾", "F")),
    (("孙悦", "F"), ("孙越", "M"), ("孙玥", "F")),
    (("杨帆", "M"), ("杨凡", "M")),
)
# Interleaved so that a small demo already holds one full pair of each group before any third name.
SHOWCASE: tuple[tuple[str, str], ...] = tuple(
    pair for column in itertools.zip_longest(*HOMOPHONES) for pair in column if pair is not None
)

# Uyghur names are given name + father's given name, joined by the interpunct (阿依古丽·买买提).
_UYGHUR = {
    "M": (
        "买买提",
        "艾力",
        "吐尔逊",
        "阿不都",
        "艾克拜尔",
        "热合曼",
        "依明",
        "托合提",
        "肉孜",
        "艾合买提",
        "阿里木",
        "努尔兰",
    ),
    "F": (
        "阿依古丽",
        "古丽娜扎",
        "热依拉",
        "努尔古丽",
        "帕提古丽",
        "迪丽努尔",
        "阿依努尔",
        "米热古丽",
        "再努尔",
        "祖力皮亚",
    ),
}
# Other ethnicities in Tianjin mostly bear Han-style names: 回族 is the largest minority, then 满族.
ETHNICITIES = (("汉族", 965), ("回族", 20), ("满族", 10), ("蒙古族", 2), ("朝鲜族", 1), ("维吾尔族", 2))
_ETHNICITY = Weighted([e for e, _w in ETHNICITIES], [w for _e, w in ETHNICITIES])


def surname(rng: random.Random) -> str:
    return _SURNAME(rng)  # type: ignore[no-any-return]


def ethnicity(rng: random.Random) -> str:
    return _ETHNICITY(rng)  # type: ignore[no-any-return]


def _given(rng: random.Random, chars: str, one_char_share: float) -> str:
    if rng.random() < one_char_share:
        return pick(rng, chars)
    first, second = pick(rng, chars), pick(rng, chars)
    # Doubled characters (婷婷, 欣欣) are common but not as common as chance would make them.
    return first + (second if second != first or rng.random() < 0.15 else pick(rng, chars))


def child_given(rng: random.Random, sex: str) -> str:
    return _given(rng, _CHILD_CHARS[sex], 0.2)


def adult_given(rng: random.Random, sex: str, *, elder: bool) -> str:
    chars = _ELDER_CHARS[sex] if elder else _PARENT_CHARS[sex]
    return _given(rng, chars, 0.35 if elder else 0.3)


def uyghur_given(rng: random.Random, sex: str) -> str:
    return pick(rng, _UYGHUR[sex])


@dataclass(frozen=True)
class FamilyNames:
    """How a family names its people: Han-style (surname + given) or Uyghur (given·father's given)."""

    surname: str  # the father's line; "" for a Uyghur family
    father_given: str

    @property
    def uyghur(self) -> bool:
        return not self.surname

    def father(self) -> str:
        return self.father_given if self.uyghur else self.surname + self.father_given

    def child(self, rng: random.Random, sex: str) -> str:
        if self.uyghur:
            return f"{uyghur_given(rng, sex)}·{self.father_given}"
        return self.surname + child_given(rng, sex)

    def relative(self, rng: random.Random, sex: str, *, elder: bool, same_line: bool) -> str:
        """A grandparent, mother or aunt: the father's line keeps the surname, in-laws bring their own."""
        if self.uyghur:
            return f"{uyghur_given(rng, sex)}·{uyghur_given(rng, 'M')}"
        family = self.surname if same_line else surname(rng)
        return family + adult_given(rng, sex, elder=elder)


def family_names(rng: random.Random, ethnic: str) -> FamilyNames:
    if ethnic == "维吾尔族":
        return FamilyNames(surname="", father_given=uyghur_given(rng, "M"))
    return FamilyNames(surname=surname(rng), father_given=adult_given(rng, "M", elder=False))


def staff_name(rng: random.Random) -> tuple[str, str]:
    """(last, first) for an account holder: working-age adults."""
    sex = "M" if rng.random() < 0.45 else "F"
    return surname(rng), adult_given(rng, sex, elder=False)
