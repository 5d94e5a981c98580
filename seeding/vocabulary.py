"""Words the generator builds names and texts from.

Brand names are fictional: a Chinese name made of two parts and an English name made of the two
matching parts, the way many domestic brands carry a coined English name beside the Chinese one.
Nicknames and notes imitate the tone of the community (小红薯 call each other "姐妹"), so pages
and the admin look like the real thing without copying anybody's content.
"""

# The word lists below are kept compact on purpose; the formatter would give every pair its own line.
# fmt: off

#: Per domain: (first parts, second parts), each (zh, en). A brand is one of each.
BRAND_PARTS: dict[str, tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]] = {
    "beauty": (
        (
            ("花", "Flora"), ("雪", "Snow"), ("云", "Cloud"), ("珀", "Amber"), ("玉", "Jade"), ("兰", "Orchid"),
            ("植", "Herba"), ("润", "Dew"), ("悦", "Joy"), ("初", "Prime"), ("素", "Pure"), ("颜", "Belle"),
            ("萃", "Essence"), ("森", "Sylva"), ("薇", "Vera"), ("澜", "Wave"), ("芙", "Fleur"), ("露", "Rosée"),
            ("茜", "Rouge"), ("朵", "Petal"), ("晨", "Aurora"), ("月", "Luna"), ("星", "Stella"), ("蜜", "Miel"),
            ("樱", "Sakura"), ("沐", "Bloom"), ("绮", "Silk"), ("沁", "Clair"), ("黛", "Indigo"), ("瑶", "Opal"),
        ),
        (
            ("之秘", "Secret"), ("研", "Lab"), ("肌", "Skin"), ("颜社", "Beauty Club"), ("工坊", "Atelier"),
            ("日记", "Diary"), ("花园", "Garden"), ("之源", "Origin"), ("本草", "Botanics"), ("优品", "Select"),
            ("集", "Collective"), ("诗", "Poem"), ("堂", "House"), ("纪", "Chronicle"), ("屋", "Maison"),
            ("谷", "Valley"), ("方", "Formula"), ("境", "Realm"), ("泉", "Spring"), ("记", "Notes"),
        ),
    ),
    "food": (
        (
            ("五只", "Five"), ("好", "Good"), ("山野", "Wild"), ("小", "Little"), ("老", "Old"), ("金", "Golden"),
            ("田园", "Farm"), ("鲜", "Fresh"), ("乐", "Happy"), ("味", "Taste"), ("旺", "Prosper"), ("百", "Hundred"),
            ("北", "North"), ("南", "South"), ("海", "Sea"), ("麦", "Wheat"), ("禾", "Grain"), ("溪", "Brook"),
        ),
        (
            ("松鼠", "Squirrels"), ("农庄", "Farmstead"), ("食堂", "Canteen"), ("铺子", "Store"), ("味道", "Flavours"),
            ("厨房", "Kitchen"), ("工坊", "Workshop"), ("食记", "Bites"), ("家", "Home"), ("熊", "Bears"),
            ("牧场", "Ranch"), ("良品", "Goods"), ("小馆", "Bistro"), ("谷仓", "Barn"),
        ),
    ),
    "home": (
        (
            ("洁", "Clean"), ("净", "Pure"), ("白", "White"), ("蓝", "Blue"), ("绿", "Green"), ("立", "Sure"),
            ("安", "Safe"), ("舒", "Comfy"), ("清", "Clear"), ("家", "Homey"), ("优", "Opti"), ("亮", "Bright"),
            ("暖", "Warm"), ("木", "Timber"),
        ),
        (
            ("家", "Home"), ("净界", "Sphere"), ("宝", "Care"), ("之家", "House"), ("生活", "Living"), ("屋", "Nest"),
            ("洁", "Clean"), ("工坊", "Works"), ("优选", "Choice"), ("源", "Source"), ("管家", "Butler"),
            ("居", "Dwell"),
        ),
    ),
    "baby": (
        (
            ("贝", "Bei"), ("宝", "Bao"), ("小", "Little"), ("萌", "Cuddle"), ("童", "Kiddo"), ("乐", "Lovely"),
            ("安", "Safe"), ("亲", "Dear"), ("柔", "Soft"), ("米", "Mimi"), ("初", "Tiny"), ("爱", "Love"),
            ("星", "Star"), ("暖", "Cosy"),
        ),
        (
            ("贝", "Bee"), ("宝贝", "Baby"), ("乐园", "Land"), ("呵护", "Care"), ("小熊", "Bear"), ("之星", "Star"),
            ("家", "Home"), ("牧场", "Pasture"), ("优品", "Select"), ("童年", "Days"), ("摇篮", "Cradle"),
            ("芽", "Sprout"),
        ),
    ),
}

#: Countries brands come from, with their share, per domain (ISO 3166 codes).
BRAND_COUNTRIES: dict[str, tuple[tuple[str, float], ...]] = {
    "beauty": (
        ("CN", 0.55), ("JP", 0.1), ("KR", 0.1), ("FR", 0.09), ("US", 0.08), ("GB", 0.03), ("DE", 0.03), ("IT", 0.02),
    ),
    "food": (("CN", 0.8), ("JP", 0.05), ("KR", 0.04), ("US", 0.04), ("TH", 0.03), ("AU", 0.02), ("IT", 0.02)),
    "home": (("CN", 0.75), ("JP", 0.1), ("DE", 0.07), ("US", 0.05), ("GB", 0.03)),
    "baby": (("CN", 0.5), ("NZ", 0.12), ("AU", 0.1), ("DE", 0.08), ("NL", 0.08), ("JP", 0.07), ("US", 0.05)),
}

COUNTRY_NAMES: dict[str, tuple[str, str]] = {
    "JP": ("日本", "Japan"),
    "KR": ("韩国", "Korea"),
    "FR": ("法国", "France"),
    "US": ("美国", "US"),
    "GB": ("英国", "UK"),
    "DE": ("德国", "Germany"),
    "IT": ("意大利", "Italy"),
    "TH": ("泰国", "Thailand"),
    "AU": ("澳洲", "Australia"),
    "NZ": ("新西兰", "New Zealand"),
    "NL": ("荷兰", "Netherlands"),
}

DOMAIN_NAMES: dict[str, tuple[str, str]] = {
    "beauty": ("美妆个护", "Beauty"),
    "food": ("食品饮料", "Food & Drink"),
    "home": ("家居清洁", "Home Care"),
    "baby": ("母婴", "Mother & Baby"),
}

CITIES: tuple[tuple[str, str], ...] = (
    ("上海", "Shanghai"), ("杭州", "Hangzhou"), ("广州", "Guangzhou"), ("深圳", "Shenzhen"), ("成都", "Chengdu"),
    ("北京", "Beijing"), ("南京", "Nanjing"), ("武汉", "Wuhan"), ("苏州", "Suzhou"), ("厦门", "Xiamen"),
    ("重庆", "Chongqing"), ("长沙", "Changsha"), ("西安", "Xi'an"), ("青岛", "Qingdao"), ("宁波", "Ningbo"),
    ("天津", "Tianjin"), ("郑州", "Zhengzhou"), ("昆明", "Kunming"), ("合肥", "Hefei"), ("福州", "Fuzhou"),
)

AUTHORIZED_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("专营店", "Authorized Store"),
    ("优选店", "Select Store"),
    ("官方授权店", "Official Reseller"),
    ("集合店", "Multi-Brand Store"),
)

CROSS_BORDER_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("海外直营店", "Global Store"),
    ("跨境直邮店", "Cross-Border Direct"),
    ("免税优选店", "Duty-Free Select"),
)

#: Product lines, (zh, en), per domain; an empty pair means "no line name".
SERIES: dict[str, tuple[tuple[str, str], ...]] = {
    "beauty": (
        ("", ""), ("", ""), ("水光", "Aqua Glow"), ("修护", "Repair"), ("焕亮", "Radiance"), ("舒敏", "Calm"),
        ("紧致", "Lift"), ("清透", "Clear"), ("丝绒", "Velvet"), ("小金瓶", "Gold"), ("植萃", "Botanical"),
        ("经典", "Classic"), ("专研", "Derma"), ("轻盈", "Air"),
    ),
    "food": (("", ""), ("", ""), ("经典", "Classic"), ("臻选", "Select"), ("家庭装", "Family Pack"), ("轻享", "Light")),
    "home": (("", ""), ("植物", "Plant-Based"), ("除菌", "Hygiene"), ("清新", "Fresh"), ("浓缩", "Concentrated")),
    "baby": (("", ""), ("有机", "Organic"), ("敏感肌", "Sensitive"), ("初生", "Newborn"), ("金装", "Gold")),
}

TAGLINES: dict[str, tuple[tuple[str, str], ...]] = {
    "beauty": (
        ("敏感肌也能放心用", "gentle enough for sensitive skin"),
        ("通勤党的日常首选", "an everyday pick for busy commuters"),
        ("无酒精、无香精配方", "alcohol-free and fragrance-free"),
        ("实验室临床测试", "clinically tested"),
        ("回购率很高的明星单品", "a best-seller people keep rebuying"),
    ),
    "food": (
        ("0反式脂肪酸", "no trans fats"),
        ("办公室解馋必备", "the office snack drawer essential"),
        ("独立小包装，新鲜不受潮", "individually packed to stay fresh"),
        ("原料产地直采", "sourced straight from the growers"),
        ("家庭分享装更划算", "better value in the family size"),
    ),
    "home": (
        ("植物基配方，温和不伤手", "plant-based and kind to hands"),
        ("有宝宝有宠物的家庭也放心", "safe for homes with babies and pets"),
        ("浓缩配方，一瓶顶两瓶", "concentrated, one bottle lasts twice as long"),
        ("淡雅香氛，留香持久", "a soft, long-lasting scent"),
    ),
    "baby": (
        ("专为宝宝娇嫩肌肤设计", "made for a baby's delicate skin"),
        ("通过多项安全检测", "passed a range of safety tests"),
        ("新手爸妈口碑之选", "a favourite of first-time parents"),
        ("无添加、更安心", "no additives, more peace of mind"),
    ),
}

#: Email providers of Chinese users, with their share; "qq.com" addresses are numeric.
EMAIL_DOMAINS: tuple[tuple[str, float], ...] = (
    ("qq.com", 0.38),
    ("163.com", 0.2),
    ("126.com", 0.08),
    ("foxmail.com", 0.05),
    ("sina.com", 0.04),
    ("outlook.com", 0.08),
    ("gmail.com", 0.08),
    ("icloud.com", 0.09),
)

EMAIL_HANDLES: tuple[str, ...] = (
    "xiaoxiao", "lily", "momo", "zhang.wei", "wang.fang", "li.na", "chen.jing", "liu.yang", "yang.xue",
    "huang.min", "zhao.lei", "sunny", "candy", "coco", "amy", "vivian", "jessie", "tina", "kiki", "lulu",
    "yuki", "nana", "echo", "cherry", "mia", "leo", "kevin", "jason", "eric", "daisy", "grace", "iris",
    "xiaoyu", "tiantian", "duoduo", "guoguo", "mengmeng", "yaya", "beibei", "huanhuan", "qianqian", "lingling",
)

NICK_PREFIXES: tuple[str, ...] = (
    "小", "阿", "一只", "爱吃", "今天也要", "不想上班的", "努力变美的", "佛系", "快乐", "减肥中的", "熬夜的", "元气",
    "", "", "",
)
NICK_NOUNS: tuple[str, ...] = (
    "鹿", "熊", "橘子", "汽水", "猫", "兔", "芒果", "栗子", "樱桃", "布丁", "奶茶", "云朵", "柚子", "桃桃", "小鱼",
    "团子", "饭团", "西瓜", "草莓", "椰子", "丸子", "豆豆", "咸鱼", "小狗",
)
NICK_SUFFIXES: tuple[str, ...] = (
    "", "", "", "酱", "呀", "的日常", "爱护肤", "吃不胖", "不加糖", "_", "同学", "宝宝", "日记", "在上海", "在杭州",
)

#: A note's stance, drawn with these weights: its title, verdict, what it says of each factor and its closing
#: line all follow it, so no note is titled "避雷！" and ends "总体来说会回购。".
NOTE_STANCES: tuple[str, ...] = ("positive",) * 5 + ("mixed",) * 3 + ("critical",) * 2
#: How the note speaks of its three factors, per stance: one of GOOD, OK or BAD each.
NOTE_TONES: dict[str, tuple[str, str, str]] = {
    "positive": ("good", "good", "ok"),
    "mixed": ("good", "ok", "bad"),
    "critical": ("ok", "bad", "bad"),
}
NOTE_TITLES_ZH: dict[str, tuple[str, ...]] = {
    "positive": (
        "{product}真实测评｜{verdict}",
        "回购{n}次的{kind}，真的好用",
        "{kind}红黑榜｜这几款闭眼入",
        "空瓶记：{product}",
        "平价好物分享｜{product}",
        "姐妹们冲！{kind}天花板",
        "{season}必备{kind}，{verdict}",
        "学生党也能入的{kind}",
    ),
    "mixed": (
        "{product}真实测评｜{verdict}",
        "{product}用了{weeks}周的真实感受",
        "空瓶记：{product}",
        "{season}用{kind}的一点心得",
    ),
    "critical": (
        "避雷！{product}我不会再买了",
        "{product}真实测评｜{verdict}",
        "{product}用了{weeks}周的真实感受",
    ),
}
NOTE_TITLES_EN: dict[str, tuple[str, ...]] = {
    "positive": ("Honest review: {product}", "{weeks} weeks with {product}", "My {kind} favourites this {season_en}"),
    "mixed": ("Honest review: {product}", "{weeks} weeks with {product}", "Worth the hype? {product}"),
    "critical": ("Honest review: {product}", "Worth the hype? {product}"),
}
VERDICTS_ZH: dict[str, tuple[str, ...]] = {
    "positive": ("真的惊艳", "无限回购", "性价比超高"),
    "mixed": ("中规中矩", "值得一试", "见仁见智"),
    "critical": ("有点失望", "不推荐"),
}
SEASONS: tuple[tuple[str, str], ...] = (("春季", "spring"), ("夏日", "summer"), ("秋冬", "autumn"), ("冬季", "winter"))

NOTE_OPENERS_ZH: tuple[str, ...] = (
    "姐妹们！",
    "先说结论：",
    "真心分享，不是广告。",
    "被种草很久终于入手了，",
    "又来交作业啦～",
    "",
)
NOTE_WORDS_ZH: dict[str, tuple[str, ...]] = {
    "good": ("真的绝", "超出预期", "很可以", "表现很稳", "是我用过最好的"),
    "ok": ("中规中矩", "还行", "一般般", "没有特别惊艳"),
    "bad": ("有点拉胯", "不太行", "让我失望了", "差点意思"),
}
NOTE_CLOSERS_ZH: dict[str, tuple[str, ...]] = {
    "positive": ("总体来说会回购。", "适合预算有限的姐妹。", "不踩雷，放心冲。", "已经安利给闺蜜了。"),
    "mixed": ("见仁见智吧，大家按需入手。", "适合预算有限的姐妹。", "打折的时候可以考虑。"),
    "critical": ("不会再买了。", "这次不推荐，大家谨慎入手。"),
}
NOTE_WORDS_EN: dict[str, tuple[str, ...]] = {
    "good": ("is excellent", "beat my expectations", "is really solid"),
    "ok": ("is fine", "is just average", "is okay"),
    "bad": ("is disappointing", "could be better", "let me down"),
}
# fmt: on
