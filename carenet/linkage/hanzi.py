"""Character tables for the linkage normalisers: pure data, no imports beyond the standard library.

Kept apart from normalise.py so the rules there stay readable; nothing here needs Django, so the
tables travel to Spark workers with the rest of carenet.linkage.
"""

from __future__ import annotations

# Traditional -> simplified for single characters, one pair per token ("張张"). The pairs are the
# correspondences of the 《简化字总表》 (1986) as carried into the 《通用规范汉字表》 (2013), written out
# by hand for the characters frequent in personal names, surnames and addresses (~970). Characters
# whose simplification depends on the word are left out on purpose: 乾 (the surname Qian stays 乾),
# 於 (a surname of its own), 著 (著名 keeps 著), 瞭 (瞭望 keeps 瞭). Every pair was checked to share
# a reading in pypinyin, which catches a pair typed against the wrong character.
_T2S_PAIRS = """
張张 偉伟 劉刘 陳陈 楊杨 黃黄 趙赵 吳吴 孫孙 馬马 羅罗 鄭郑 謝谢 許许 韓韩 馮冯 鄧邓 蕭萧 葉叶 蔣蒋 蘇苏 呂吕 盧卢 鍾钟 鐘钟 譚谭 陸陆 賈贾 韋韦 鄒邹 閆闫 龍龙
賀贺 顧顾 龔龚 萬万 錢钱 嚴严 湯汤 溫温 齊齐 喬乔 龐庞 顏颜 莊庄 聶聂 魯鲁 歐欧 關关 蘭兰 寧宁 紀纪 畢毕 單单 塗涂 駱骆 藍蓝 鮑鲍 華华 饒饶 陽阳 時时 農农 繆缪
簡简 車车 項项 連连 蘆芦 麥麦 婁娄 竇窦 黨党 費费 衛卫 應应 閔闵 鄔邬 邊边 師师 欒栾 榮荣 叢丛 鞏巩 遲迟 鄺邝 談谈 荊荆 樂乐 鬱郁 儲储 勞劳 諶谌 藺蔺 樓楼 盤盘
滿满 聞闻 厲厉 區区 闞阚 權权 強强 帥帅 蓋盖 練练 豐丰 國国 計计 晉晋 門门 雲云 來来 闕阙 烏乌 銀银 諸诸 戰战 賓宾 鮮鲜 陰阴 堯尧 閉闭 歸归 薑姜 瀋沈 範范 餘余
嶽岳 鳳凤 麗丽 靜静 軍军 艷艳 豔艳 傑杰 濤涛 剛刚 紅红 飛飞 鵬鹏 輝辉 蓮莲 歡欢 穎颖 慶庆 鴻鸿 瑤瑶 軒轩 詩诗 語语 曉晓 東东 銘铭 錦锦 澤泽 潤润 祿禄 壽寿 貴贵
財财 寶宝 鳴鸣 鶯莺 鶴鹤 鷹鹰 興兴 發发 髮发 達达 義义 禮礼 順顺 賢贤 倫伦 綸纶 業业 巖岩 嵐岚 嶺岭 漢汉 濱滨 灣湾 淵渊 瀾澜 韻韵 綺绮 繡绣 綠绿 絲丝 純纯 緯纬
維维 紹绍 經经 綱纲 繼继 續续 緒绪 緣缘 綿绵 纓缨 欽钦 鈞钧 釗钊 鋼钢 鈺钰 鐵铁 錚铮 鋒锋 銳锐 鎮镇 鏡镜 鍵键 錫锡 閃闪 闖闯 閎闳 閣阁 韜韬 頌颂 領领 頤颐 風风
颯飒 飄飘 駿骏 騏骐 驥骥 馳驰 騁骋 鳥鸟 鵑鹃 鸝鹂 齡龄 億亿 儀仪 優优 傳传 俠侠 僑侨 儉俭 兒儿 衝冲 決决 淨净 凱凯 則则 創创 劍剑 勵励 勁劲 勳勋 協协 廳厅 歷历
曆历 廈厦 縣县 參参 雙双 變变 號号 員员 詠咏 響响 團团 園园 圍围 圖图 圓圆 聖圣 場场 堅坚 壇坛 報报 聲声 壯壮 處处 備备 奪夺 奮奋 獎奖 婦妇 媽妈 婭娅 嬌娇 嬋婵
學学 實实 審审 憲宪 寬宽 對对 尋寻 導导 將将 爾尔 層层 嶼屿 歲岁 崗岗 峽峡 巒峦 帶带 幫帮 庫库 廟庙 廢废 廣广 開开 異异 彌弥 彎弯 當当 錄录 徹彻 徵征 徑径 憶忆
懷怀 態态 憐怜 總总 戀恋 懇恳 愷恺 悅悦 驚惊 願愿 戲戏 戶户 執执 擴扩 揚扬 撫抚 護护 擁拥 擇择 揮挥 換换 據据 攝摄 擺摆 數数 齋斋 斷断 無无 舊旧 曠旷 曇昙 顯显
暈晕 暉晖 術术 機机 雜杂 條条 鬆松 極极 構构 楓枫 棟栋 欄栏 樹树 樣样 橋桥 樺桦 夢梦 檢检 欖榄 殘残 氣气 匯汇 溝沟 灃沣 滬沪 潔洁 淺浅 濁浊 測测 濟济 瀏浏 渾浑
濃浓 渙涣 漸渐 漁渔 濕湿 滾滚 濾滤 灘滩 瀟潇 潛潜 燈灯 靈灵 燦灿 爐炉 煉炼 爍烁 煙烟 燒烧 熱热 煥焕 愛爱 爺爷 獅狮 獨独 獻献 環环 現现 瑪玛 瑋玮 瓏珑 瓊琼 瓔璎
電电 畫画 暢畅 鹽盐 監监 礦矿 碼码 磚砖 礎础 碩硕 確确 禕祎 禎祯 離离 種种 積积 稱称 穩稳 窮穷 豎竖 競竞 筆笔 籠笼 築筑 籌筹 簽签 簫箫 類类 糧粮 緊紧 纖纤 約约
級级 紗纱 納纳 縱纵 紛纷 紙纸 紋纹 線线 組组 細细 終终 繹绎 結结 繞绕 繪绘 給给 絡络 絕绝 統统 績绩 繩绳 綜综 綴缀 緬缅 緩缓 編编 縫缝 繽缤 罰罚 翹翘 聯联 職职
聰聪 肅肃 膽胆 勝胜 脈脉 騰腾 艦舰 藝艺 節节 蕪芜 葦苇 蒼苍 蘋苹 莖茎 薦荐 蕎荞 蕩荡 藥药 萊莱 瑩莹 獲获 螢萤 營营 薩萨 藹蔼 蘊蕴 慮虑 虛虚 蟲虫 雖虽 蠶蚕 補补
襯衬 襲袭 裝装 見见 觀观 規规 視视 覽览 覺觉 譽誉 訂订 認认 討讨 讓让 訓训 議议 訊讯 記记 講讲 論论 設设 訪访 證证 評评 識识 譯译 試试 誠诚 話话 詢询 該该 詳详
誤误 說说 請请 讀读 課课 調调 誼谊 謀谋 諧谐 謙谦 謹谨 譜谱 貝贝 貞贞 負负 貢贡 責责 敗败 貨货 質质 貧贫 購购 貫贯 資资 賦赋 賞赏 賜赐 賴赖 賽赛 贊赞 贈赠 趕赶
躍跃 蹤踪 軌轨 轉转 輪轮 軟软 輕轻 載载 輔辅 輩辈 輯辑 轅辕 轄辖 辭辞 遷迁 過过 運运 還还 這这 進进 遠远 違违 適适 選选 遜逊 遞递 邏逻 遺遗 郵邮 鄰邻 鄲郸 釋释
裏里 裡里 鑑鉴 鑒鉴 針针 釣钓 鑰钥 鈕钮 鑽钻 鈴铃 銅铜 鏈链 銷销 鍋锅 鑼锣 錯错 長长 閏闰 閘闸 鬧闹 閩闽 閥阀 闡阐 隊队 陣阵 階阶 際际 陝陕 險险 隨随 隱隐 難难
霧雾 霽霁 韌韧 頁页 頂顶 須须 鬚须 頑顽 頓顿 頒颁 頗颇 頸颈 頻频 顆颗 題题 額额 顛颠 飯饭 飲饮 餅饼 驅驱 驢驴 駛驶 駐驻 駕驾 驕骄 驗验 騎骑 魚鱼 鯨鲸 鱗鳞 雞鸡
鴨鸭 鴿鸽 鵝鹅 鵲鹊 齒齿 龜龟 別别 後后 臺台 颱台 檯台 麵面 週周 並并 劃划 係系 繫系 隻只 穀谷 製制 準准 捨舍 纔才 鄉乡 鎭镇 衚胡 衕同 廠厂 壩坝 塢坞 礪砺 櫟栎
淶涞 滄沧 陘陉 遼辽 贛赣 粵粤 濰潍 臨临 棗枣 倉仓 崑昆 崙仑 隴陇 嶗崂 縉缙 瑯琅 璣玑 璽玺 瓚瓒 琺珐 嬙嫱 嫻娴 嬪嫔 孌娈 媯妫 嬡嫒 媧娲 娛娱 姍姗 嬰婴 嬸婶 凜凛
凈净 剎刹 劑剂 勸劝 勢势 匱匮 卻却 厭厌 吶呐 啓启 啟启 喚唤 嘯啸 嘆叹 噴喷 嚮向 塵尘 墳坟 壘垒 壞坏 壺壶 奐奂 奧奥 妝妆 孿孪 寵宠 屆届 屬属 崢峥 嶄崭 巔巅 幣币
幟帜 幹干 廬庐 彥彦 彫雕 徠徕 悵怅 惻恻 愜惬 慚惭 慣惯 憤愤 懶懒 懸悬 戔戋 掃扫 掄抡 揀拣 擋挡 擬拟 擲掷 攜携 敵敌 斂敛 暫暂 曬晒 杴锨 棲栖 檔档 櫃柜 殲歼 殼壳
毀毁 氈毡 氫氢 湧涌 溼湿 滅灭 滯滞 漲涨 澀涩 濺溅 瀉泻 瀕濒 灑洒 煒炜 煩烦 燁烨 燾焘 爭争 犧牺 猶犹 獄狱 獵猎 璉琏 甕瓮 産产 畝亩 疊叠 療疗 癒愈 皚皑 盞盏 睜睁
矯矫 磯矶 禍祸 稅税 稜棱 穌稣 窩窝 竊窃 筍笋 箏筝 篩筛 糾纠 紜纭 紮扎 絨绒 綁绑 綫线 緝缉 緞缎 緹缇 緻致 縈萦 縝缜 纏缠 纜缆 罷罢 羨羡 聳耸 脅胁 脫脱 腦脑 膠胶
膩腻 臉脸 艙舱 芻刍 茲兹 莢荚 莧苋 蒞莅 蓀荪 蔔卜 蕁荨 薈荟 薊蓟 薺荠 藎荩 蘢茏 虜虏 蝦虾 蠟蜡 蠻蛮 衆众 裊袅 襖袄 覓觅 訝讶 詐诈 詮诠 誨诲 誰谁 諾诺 謎谜 譁哗
讚赞 豈岂 貓猫 販贩 貪贪 貸贷 賬账 贏赢 趨趋 踐践 輸输 轎轿 辦办 邁迈 郟郏 鄴邺 醞酝 醫医 醬酱 釀酿 鈣钙 鈔钞 鉅钜 銓铨 銖铢 鋁铝 錘锤 鍛锻 鍍镀 鎊镑 鎔镕 鏗铿
鐸铎 鑄铸 閑闲 閒闲 閨闺 闊阔 闈闱 隸隶 雋隽 雛雏 靂雳 頃顷 頊顼 預预 頡颉 頰颊 顫颤 飽饱 餚肴 饋馈 饅馒 駒驹 駝驼 騷骚 驍骁 驛驿 骯肮 鬥斗 鯉鲤 鯤鲲 鰲鳌 鳩鸠
鴛鸳 鴦鸯 鵠鹄 鸞鸾 黴霉 黽黾 龕龛
"""
T2S: dict[str, str] = {pair[0]: pair[1] for pair in _T2S_PAIRS.split()}

# Characters that are mistaken for one another by shape (handwritten forms, OCR, a wrong pick in an input
# method's list), not by sound: sound-alikes are already caught by the pinyin key. The first character of
# each group stands for the group. Only confusions seen in names are listed, so that two distinct
# common names are rarely merged (王/玉, 杨/扬 are left out: too common, and 杨/扬 are homophones anyway).
SHAPE_GROUPS: tuple[str, ...] = (
    "己已巳", "未末", "戊戌戍戎", "汩汨", "祎袆", "栎砾", "侯候", "日曰", "土士", "干千于",
    "天夭", "刁刀", "乌鸟", "免兔", "贝见", "茶荼", "胄胃", "辨辩辫", "拔拨", "斐裴",
    "徽微", "嫒媛", "暧暖", "赢嬴羸", "怡恰", "苟荀", "余佘", "冉再", "郗郄", "晁晃",
    "亳毫", "姬姫", "沐沭", "玟玫", "吴昊", "母毋", "治冶", "甲申由", "折拆", "菁箐",
    "筱莜", "倩债", "晋普", "汪注", "祖袓", "冼洗", "褚诸", "缪谬", "辛幸", "栗粟",
    "戈弋", "仑仓", "令今", "冷泠", "颖颍", "明朋", "白自", "秦泰奏", "李季", "梁粱",
    "牛午", "宋宗", "勾句", "孟盂", "彤肜", "钊钏", "曦羲", "骞蹇", "钧钩", "大太犬",
    "子孑孓", "崇祟",
)  # fmt: skip
SHAPE: dict[str, str] = {ch: group[0] for group in SHAPE_GROUPS for ch in group[1:]}

# Two-character surnames, recognised when the name has at least three characters (欧阳 alone is 欧 + 阳).
COMPOUND_SURNAMES: frozenset[str] = frozenset(
    """
    欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 令狐 轩辕 澹台 万俟 端木
    申屠 南宫 西门 独孤 百里 呼延 钟离 闻人 东郭 公羊 太史 司空 鲜于 拓跋 赫连 闾丘 濮阳 淳于
    单于 公冶 宗政 仲孙 亓官 司寇 巫马 梁丘 左丘 东门 第五 公良 乐正 壤驷 谷梁 微生 羊舌 南门
    """.split()
)

# Surname readings that pypinyin's single-character default gets wrong, on top of
# carenet.core.pinyin.SURNAME_READINGS (折 is She as a surname, not zhe).
EXTRA_SURNAME_READINGS: dict[str, str] = {
    "折": "she",
    "角": "jue",
    "粘": "nian",
    "隗": "wei",
    "阚": "kan",
    "都": "du",
    "卜": "bu",
    "薄": "bo",
    "莘": "xin",
    "郇": "xun",
    "单于": "chanyu",
    "乐正": "yuezheng",
}

# Letters that Unicode decomposition does not reduce to ASCII (ß, ø, ł ...), for Latin names.
LATIN_EXTRA: dict[str, str] = {
    "ß": "ss", "ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i",
}  # fmt: skip
