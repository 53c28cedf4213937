"""The tables the generator draws from: names, homophones, similar shapes, traditional forms, places.

Condensed from carenet.demo (names.py, places.py, idgen.py) so that the linkage package needs no Django.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

# The recorded damage of a linked list record: one per copy, in equal shares (and a second, of another
# field, on a share of them when generate is asked for it).
CLASSES = (
    "id_missing",
    "id_typo",
    "id_transposition",
    "id_15",
    "name_homophone",
    "name_typo",
    "date_swap",
    "date_typo",
    "date_missing",
    "address_short",
    "address_moved",
)
UNLINKED = ("decoy", "twin", "new")  # list records of people who are not in the reference
# The field each class damages: a second corruption (generate's second_share) is always of another field.
FIELD_OF: dict[str, str] = {
    c: {"id": "id_number", "name": "name", "date": "birth_date", "address": "address"}[c.split("_")[0]]
    for c in CLASSES
}


# Surnames with their share per mille (2020 census household-register statistics), as in demo/names.py.
_SURNAME_WEIGHTS = (
    "王71 李70 张67 刘54 陈45 杨31 黄20 赵20 吴18 周17 徐13 孙13 马11 朱10 胡9 郭9 何8 高8 林8 罗7 "
    "郑7 梁6 谢5 宋5 唐5 许5 韩5 冯4 邓4 曹4 彭4 曾4 肖4 田4 董4 袁3 潘3 于3 蒋3 蔡3 余3 杜3 叶3 "
    "程3 苏3 魏3 吕3 丁3 任3 沈3 姚2 卢2 姜2 崔2 钟2 谭2 陆2 汪2 范2 金2 石2 廖2 贾2 夏2 韦2 付2 "
    "方2 白2 邹2 孟2 熊2 秦2 邱2 江2 尹2 薛2 闫2 段2 雷2 侯2 龙2 史2 陶1 黎1 贺1 顾1 毛1 郝1 龚1 "
    "邵1 万1 钱1 严1 覃1 武1 戴1 莫1 孔1 向1 汤1 穆1 单1 解1 翟1 章1 柳1 欧阳1 司马1 上官1 诸葛1 皇甫1"
)
SURNAMES = tuple(item.rstrip("0123456789") for item in _SURNAME_WEIGHTS.split())
SURNAME_P = np.array(
    [int(item[len(s) :]) for item, s in zip(_SURNAME_WEIGHTS.split(), SURNAMES, strict=True)]
)
SURNAME_P = SURNAME_P / SURNAME_P.sum()

# Given-name characters of children born 2005-2025, most popular first (demo/names.py), and rarer
# ones that make a name stand out: term frequency must weigh 张翀 above 张浩.
BOY_CHARS = (
    "浩宇轩子梓俊博杰泽睿昊天明晨阳辰皓宸铭锦航一嘉逸然诚文瑞鹏伟强磊毅凯鑫豪煜烨祺霖墨言宁安奕朗峻哲翰恒"
)
GIRL_CHARS = "欣怡梓涵萱雨诗可馨悦思佳琪婷雅若语一依紫晴妍彤艺芷颖娜芳静丽敏玉慧琳璐晓茜梦瑶嘉菲蕊雪婉璇冉钰"
RARE_CHARS = (
    "翀骞彧珩玥湉翊昶琰喆沅晞弈堃淏珺煊炅焓珈瑀玦璟琮珏瑄瑗琬琨瑭璠璘瑨珹琤琇昀旻暄晗曦暻昉晅昕晔曜"
    "曈靓竑奂奎嵘崧峤岱屹岚巍渊澈澜沐泷淼湛溥潇滢淇沛洵淳溯涟濂漪湄霁雯霏霆霄楠樾梧桓槿栩榆枫楷柯"
    "桐桢檀楹椿苒茉芃荟莘萦菁蓁蔚蕴薇芮苡芊葳蓉筠笙箫篁竺兮翎羿翱翌骁骐骥驰骏麒麟鹤鸿鹭鸾凰璎珞琦"
)
CHARS: tuple[str, ...] = ("", *dict.fromkeys(BOY_CHARS + GIRL_CHARS + RARE_CHARS))
RARE_SHARE = 0.06  # of given-name characters drawn from the rare pool

# Uyghur names: given name + father's given name, joined by the interpunct (demo/names.py).
UYGHUR_BOYS = (
    "买买提 艾力 吐尔逊 阿不都 艾克拜尔 热合曼 依明 托合提 肉孜 艾合买提 阿里木 努尔兰 伊力哈木 亚森".split()
)
UYGHUR_GIRLS = "阿依古丽 古丽娜扎 热依拉 努尔古丽 帕提古丽 迪丽努尔 阿依努尔 米热古丽 再努尔 祖力皮亚".split()
UYGHUR: tuple[str, ...] = (*UYGHUR_BOYS, *UYGHUR_GIRLS)
MINORITY_SHARE = 0.02

# Hand-typed homophones: every group has one toneless pinyin (a test checks it with pypinyin).
HOMOPHONE_GROUPS = (
    "浩昊皓颢灏豪 宇雨语羽禹玉钰昱煜予瑜渝妤毓育郁 轩萱宣璇暄玄炫 子梓紫姿滋孜 俊骏峻竣君军钧珺 博波勃搏 "
    "杰洁婕捷劼 泽择则 睿瑞锐蕊芮 天添田甜恬 明铭鸣名茗 晨辰宸臣陈琛 阳洋扬杨炀 锦瑾谨槿金晋进 航杭 "
    "一依怡伊艺奕亦逸毅义懿翼易益宜仪颐苡译 嘉佳家加 然冉燃 诚成程承城澄橙 文雯闻汶 鹏朋彭澎 "
    "伟玮炜维薇威巍唯微 强蔷 磊蕾雷垒 凯楷铠恺 鑫欣馨新心昕芯忻 烨晔叶业 祺琪淇琦奇棋齐其骐麒 "
    "霖林琳麟临淋 墨默沫茉陌 言妍颜岩研彦燕艳延严 宁凝柠 朗琅 哲喆 翰涵含寒晗瀚韩函菡 恒衡 安岸 若偌 "
    "诗师施时 可珂柯科克 悦月越玥跃岳 思斯丝 婷亭庭霆 雅亚娅 晴清青卿 彤桐童潼瞳 芷志智之芝 "
    "颖莹盈英影瑛樱滢 娜纳 芳方舫 静婧晶菁靖京敬景竞 丽莉俐利立力黎李 敏民闽 慧惠蕙卉辉晖 璐露路鹭禄 "
    "晓小筱 茜倩芊谦千 梦蒙孟萌 瑶遥姚谣尧耀 菲飞非妃霏 雪学薛 婉宛菀琬万 张章 王汪 刘柳 周州舟 "
    "吴伍武 徐许 何贺和 胡湖 黄皇 买麦卖迈 艾爱 尔而儿 提题 迪地帝 米蜜 再在 托拓 拉啦"
).split()
HOMOPHONES: dict[str, str] = {c: g.replace(c, "") for g in HOMOPHONE_GROUPS for c in g}

# Similar-shape characters (source → misread), mostly with another reading so pinyin does not rescue them.
SHAPE_SIMILAR: dict[str, str] = dict(
    pair
    for pair in (
        "王玉 玉王 宇字 宁宇 轩轨 怡恰 明朋 佳住 泽译 昊吴 吴昊 阳阴 锦棉 航舫 嘉喜 瑞端 煜熠 恒垣 雨两 "
        "馨磬 悦锐 思恩 若苦 语话 依侬 紫柴 晴睛 晓烧 雪雷 冉再 钰珏 浩洁 博傅 俊梭 子孑 梓锌 诗持 雅雄 "
        "颖频 娜挪 芳芬 丽两 敏繁 梦梵 欣炊 磊晶 凯岂 鑫森 墨黑 铭络 逸兔 天夫 李季 陈阵 徐涂 于干 田由 "
        "白自 石右 史吏 汪江 贾贯 夏复 宋宗 曹曾 金全 万方 严产 杨场 赵起 马冯"
    ).split()
)

# Simplified → traditional for the characters above that have a distinct traditional form.
TRADITIONAL: dict[str, str] = dict(
    pair
    for pair in (
        "张張 刘劉 陈陳 杨楊 黄黃 赵趙 吴吳 孙孫 马馬 郑鄭 罗羅 谢謝 韩韓 冯馮 邓鄧 许許 叶葉 苏蘇 吕呂 卢盧 "
        "钟鍾 陆陸 贾賈 龚龔 汤湯 顾顧 钱錢 严嚴 龙龍 闫閆 邹鄒 万萬 蒋蔣 单單 伟偉 丽麗 轩軒 杰傑 泽澤 阳陽 "
        "锦錦 诚誠 鹏鵬 强強 凯凱 烨燁 宁寧 铭銘 诗詩 悦悅 语語 艺藝 颖穎 静靜 晓曉 梦夢 瑶瑤 钰鈺 买買 "
        "尔爾 热熱 亚亞 涛濤 华華 国國 军軍 红紅 兰蘭 凤鳳 云雲 艳艷 东東 飞飛 维維 玮瑋 炜煒 莹瑩 谦謙"
    ).split()
)

# Districts of Tianjin: code, name, population (millions, 2020), a few real streets and towns, and the
# code an ID carried before the district got its current one (year, old codes) - demo/places.py.
DISTRICTS = (
    ("120101", "和平区", 0.35, "劝业场街道 小白楼街道 五大道街道 新兴街道 南营门街道 南市街道", ""),
    ("120102", "河东区", 0.86, "唐家口街道 大直沽街道 大王庄街道 向阳楼街道 春华街道 富民路街道", ""),
    ("120103", "河西区", 0.82, "友谊路街道 天塔街道 马场街道 越秀路街道 尖山街道 梅江街道", ""),
    ("120104", "南开区", 0.89, "长虹街道 鼓楼街道 兴南街道 广开街道 万兴街道 学府街道", ""),
    ("120105", "河北区", 0.65, "光复道街道 望海楼街道 鸿顺里街道 新开河街道 铁东路街道 宁园街道", ""),
    ("120106", "红桥区", 0.48, "西于庄街道 丁字沽街道 西沽街道 三条石街道 邵公庄街道 芥园街道", ""),
    ("120110", "东丽区", 0.86, "张贵庄街道 丰年村街道 万新街道 无瑕街道 华明街道 金钟街道 军粮城街道", ""),
    ("120111", "西青区", 1.20, "西营门街道 杨柳青镇 中北镇 精武镇 大寺镇 王稳庄镇 辛口镇 张家窝镇", ""),
    ("120112", "津南区", 0.93, "咸水沽镇 葛沽镇 小站镇 双港镇 辛庄镇 双桥河镇 八里台镇 北闸口镇", ""),
    ("120113", "北辰区", 0.91, "果园新村街道 集贤里街道 天穆镇 北仓镇 双街镇 双口镇 青光镇 西堤头镇", ""),
    ("120114", "武清区", 1.15, "杨村街道 下朱庄街道 崔黄口镇 大良镇 南蔡村镇 河西务镇 王庆坨镇 汊沽港镇", ""),
    ("120115", "宝坻区", 0.72, "宝平街道 钰华街道 大口屯镇 王卜庄镇 林亭口镇 八门城镇 大钟庄镇 新安镇", ""),
    ("120116", "滨海新区", 2.06, "塘沽街道 杭州道街道 新河街道 大沽街道 汉沽街道 寨上街道 大港街道 中塘镇 太平镇 杨家泊镇", "2010 120107 120108 120109"),
    ("120117", "宁河区", 0.39, "芦台镇 宁河镇 苗庄镇 丰台镇 岳龙镇 板桥镇 潘庄镇 七里海镇", "2016 120221"),
    ("120118", "静海区", 0.79, "静海镇 唐官屯镇 独流镇 王口镇 台头镇 子牙镇 大邱庄镇 良王庄乡", "2016 120223"),
    ("120119", "蓟州区", 0.79, "文昌街道 渔阳镇 官庄镇 马伸桥镇 下营镇 邦均镇 别山镇 孙各庄满族乡", "2016 120225"),
)  # fmt: skip
# Migrant families' home counties (demo/idgen.py): valid region codes since the 1980s.
MIGRANT_REGIONS = np.array(
    [130102, 130104, 130203, 130983, 131002, 370102, 370211, 410102, 410105, 340102, 340104, 140121, 150121]
)
MIGRANT_SHARE = 0.10
DISTRICT_P = np.array([d[2] for d in DISTRICTS]) / sum(d[2] for d in DISTRICTS)
STREETS = tuple(s for d in DISTRICTS for s in d[3].split())
STREET_START = np.cumsum([0] + [len(d[3].split()) for d in DISTRICTS])[:-1]
STREET_COUNT = np.array([len(d[3].split()) for d in DISTRICTS])
STREET_URBAN = np.array([s.endswith("街道") for s in STREETS])
_PLACE_HEADS = "大小东西南北前后上中下新老王李张刘赵杨高马孙郭何曹田辛韩石白邢卢窦苏董齐于冯胡邓贾魏穆宋"
_PLACE_TAILS = "庄 庄子 家庄 各庄 家营 官屯 家口 沽 坨 口 台 堡 店 营 屯 桥 洼 淀 码头 河 湾 寨 集 家房子 辛庄 泥沽 窑 场 闸".split()
_FAIR_WORDS = "阳光 金色 春华 幸福 和谐 富民 兴华 东兴 滨河 景园 丽苑 翠屏 华苑 云峰 海景 锦绣 静湖 御河 柳堤 朝阳 康乐 祥和 荣华 绿洲 书香 明珠 长安 广厦 平安 安居".split()
_FAIR_TAILS = "里 园 苑 轩 家园 花园 新村 公寓 佳园 雅居 东里 西里 南里 北里 新苑".split()
VILLAGES = tuple(h + t + "村" for h in _PLACE_HEADS for t in _PLACE_TAILS)
COMMUNITIES = tuple(w + t + "社区" for w in _FAIR_WORDS for t in _FAIR_TAILS)

FIRST_DAY = (dt.date(2005, 1, 1) - dt.date(1970, 1, 1)).days
LAST_DAY = (dt.date(2025, 12, 31) - dt.date(1970, 1, 1)).days
ID_WEIGHTS = np.array([pow(2, 17 - i, 11) for i in range(17)])
ID_CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)
POW10 = 10 ** np.arange(16, -1, -1, dtype=np.int64)
