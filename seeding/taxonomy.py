"""The category tree the seed data lives in: 9 top-level categories, 93 rateable leaves.

Each leaf carries what the generator needs to make believable products (kinds, pack sizes, a price
range in CNY, a share of the market) and the 5-10 factors buyers rate it on. Factors are written
once in ``FACTORS`` and shared: "value for money" means the same for a lipstick and for a bag of
nuts, while "cleanliness" for a shampoo and for a toothpaste are close enough to share a text.
The shampoo leaf keeps exactly the six factors of the source article.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class FactorSpec:
    name_zh: str
    name_en: str
    description_zh: str
    description_en: str


@dataclass(frozen=True)
class LeafSpec:
    slug: str
    name_zh: str
    name_en: str
    factors: tuple[str, ...]
    #: Product kinds sold in this leaf, (Chinese, English).
    kinds: tuple[tuple[str, str], ...]
    #: Pack sizes, "zh|en" when the two differ.
    sizes: tuple[str, ...]
    #: Typical, lowest and highest list price in CNY.
    price: tuple[float, float, float]
    #: Relative share of products and of sales.
    weight: float


@dataclass(frozen=True)
class ParentSpec:
    slug: str
    name_zh: str
    name_en: str
    #: Which brands and stores sell here: "beauty", "food", "home" or "baby".
    domain: str
    leaves: tuple[LeafSpec, ...]


def _leaf(
    slug: str,
    name_zh: str,
    name_en: str,
    factors: str,
    kinds: tuple[tuple[str, str], ...],
    sizes: tuple[str, ...],
    price: tuple[float, float, float],
    weight: float,
) -> LeafSpec:
    return LeafSpec(slug, name_zh, name_en, tuple(factors.split()), kinds, sizes, price, weight)


FACTORS: dict[str, FactorSpec] = {
    # --- shared -------------------------------------------------------------------------------
    "value": FactorSpec(
        "性价比", "Value for money", "价格与效果、用量相比是否划算", "Whether what you get is worth the price"
    ),
    "packaging": FactorSpec(
        "包装设计",
        "Packaging",
        "包装是否好看、好用、方便携带",
        "Whether the packaging looks good, works well and travels well",
    ),
    "aroma": FactorSpec(
        "香味", "Aroma", "气味是否好闻、浓淡是否适中", "Whether the scent is pleasant and not overpowering"
    ),
    "texture": FactorSpec("质地", "Texture", "质地是否细腻、好推开", "How smooth it feels and how easily it spreads"),
    "gentleness": FactorSpec(
        "温和度",
        "Gentleness",
        "是否刺激，敏感肌能否放心使用",
        "Whether it stings or irritates; safe for sensitive skin",
    ),
    "moisturizing": FactorSpec(
        "保湿", "Moisturizing", "用后是否滋润、不紧绷不干燥", "Whether skin or hair stays hydrated, not tight or dry"
    ),
    "absorption": FactorSpec(
        "吸收", "Absorption", "是否很快被吸收、不黏腻", "How quickly it sinks in without a sticky film"
    ),
    "cleanliness": FactorSpec(
        "清洁力", "Cleanliness", "洗后是否干净清爽、无残留", "How clean and residue-free it leaves you"
    ),
    "lather": FactorSpec("泡沫", "Lather", "泡沫是否丰富绵密、容易起泡", "How rich and dense the foam is"),
    "oil-control": FactorSpec(
        "控油", "Oil control", "能否控制出油、保持清爽", "Whether it keeps oiliness in check through the day"
    ),
    "soothing": FactorSpec(
        "舒缓", "Soothing", "能否缓解泛红、干痒等不适", "Whether it calms redness, itching and discomfort"
    ),
    "hydration": FactorSpec(
        "补水", "Hydration", "用后皮肤是否水润饱满", "Whether skin looks and feels plumped with water"
    ),
    "repair": FactorSpec(
        "修护", "Repair", "能否改善受损、泛红、屏障脆弱", "Whether it helps damaged or stressed skin or hair recover"
    ),
    "efficacy": FactorSpec(
        "功效",
        "Efficacy",
        "宣称的功效（提亮、淡纹等）是否明显",
        "Whether the claimed effect (brightening, anti-ageing…) shows",
    ),
    "visible-results": FactorSpec("见效速度", "Speed of results", "多久能看到效果", "How soon you notice a difference"),
    "non-greasy": FactorSpec(
        "清爽不油腻", "Non-greasy", "用后是否清爽、不厚重不油腻", "Whether it feels light rather than heavy or oily"
    ),
    "longevity": FactorSpec("持久度", "Longevity", "效果或妆效能维持多久", "How long the effect lasts"),
    "ease-of-use": FactorSpec(
        "易用性", "Ease of use", "使用步骤是否简单顺手", "How simple and convenient it is to use"
    ),
    "portability": FactorSpec(
        "便携", "Portability", "尺寸和包装是否方便随身携带", "Whether it is easy to carry around"
    ),
    "ingredients": FactorSpec(
        "成分", "Ingredients", "成分或配料表是否干净、让人安心", "Whether the ingredient list is clean and reassuring"
    ),
    "taste": FactorSpec("口味", "Taste", "味道是否好吃、有记忆点", "How good it tastes"),
    "freshness": FactorSpec(
        "新鲜度", "Freshness", "到手是否新鲜、日期是否够新", "How fresh it arrives and how recent the date is"
    ),
    "sweetness": FactorSpec(
        "甜度", "Sweetness", "甜度是否适中、不齁", "Whether the sweetness is balanced, not cloying"
    ),
    "crunchiness": FactorSpec("酥脆度", "Crunchiness", "口感是否酥脆、不受潮", "How crisp it is, not stale or soggy"),
    "softness": FactorSpec("柔软度", "Softness", "触感是否柔软亲肤", "How soft it feels against the skin"),
    "absorbency": FactorSpec("吸水性", "Absorbency", "吸收液体是否又快又多", "How quickly and how much it absorbs"),
    "leak-protection": FactorSpec("防漏", "Leak protection", "是否侧漏、后漏", "Whether it prevents leaks"),
    "breathability": FactorSpec(
        "透气性", "Breathability", "是否闷热，能否保持干爽", "Whether it stays dry and airy rather than stuffy"
    ),
    "convenience": FactorSpec(
        "便捷性", "Convenience", "准备和食用是否方便快捷", "How quick and easy it is to prepare or use"
    ),
    "portion": FactorSpec("分量", "Portion", "分量和内容物是否实在", "Whether the amount you get is generous"),
    "durability": FactorSpec(
        "耐用度", "Durability", "是否耐用、不易软烂或损坏", "Whether it lasts without going soft or breaking"
    ),
    "speed": FactorSpec("速度", "Speed", "起效是否快速", "How quickly it works"),
    "smell": FactorSpec("气味", "Smell", "使用时是否有刺鼻气味", "Whether it smells harsh while in use"),
    "comfort": FactorSpec(
        "舒适贴合", "Comfort & fit", "是否贴合、无异物感", "Whether it fits comfortably without feeling bulky"
    ),
    # --- skincare -----------------------------------------------------------------------------
    "non-tightness": FactorSpec(
        "洗后不紧绷", "No tight feeling", "洗后皮肤是否紧绷干涩", "Whether skin feels tight or dry after washing"
    ),
    "makeup-removal": FactorSpec(
        "卸妆力",
        "Makeup removal",
        "能否卸净粉底、防水睫毛膏等",
        "Whether it removes foundation and waterproof mascara completely",
    ),
    "emulsification": FactorSpec(
        "乳化", "Emulsification", "遇水乳化是否快、好冲洗", "How quickly it emulsifies with water and rinses off"
    ),
    "eye-comfort": FactorSpec("不辣眼", "Eye comfort", "卸眼妆时是否刺眼、糊眼", "Whether it stings or blurs the eyes"),
    "firming": FactorSpec("紧致", "Firming", "能否改善松弛，让皮肤更紧致", "Whether skin looks firmer and more lifted"),
    "oil-balance": FactorSpec(
        "水油平衡", "Oil–water balance", "能否兼顾保湿与不油腻", "Whether it hydrates without making skin oily"
    ),
    "dark-circles": FactorSpec("淡化黑眼圈", "Dark circles", "对黑眼圈的改善效果", "How much it lightens dark circles"),
    "puffiness": FactorSpec("消浮肿", "Puffiness", "能否减轻眼周浮肿", "Whether it reduces puffiness around the eyes"),
    "fine-lines": FactorSpec("淡化细纹", "Fine lines", "对细纹、干纹的改善", "Whether fine and dry lines look softer"),
    "milia-free": FactorSpec(
        "不长脂肪粒", "No milia", "长期使用是否长脂肪粒", "Whether it causes milia with regular use"
    ),
    "applicator": FactorSpec(
        "涂抹头设计", "Applicator", "按摩头或刷头是否好用、卫生", "Whether the tip or applicator is handy and hygienic"
    ),
    "protection": FactorSpec(
        "防晒力", "Sun protection", "实际防晒、防晒黑晒伤的效果", "How well it actually prevents tanning and burning"
    ),
    "whitecast": FactorSpec("不泛白", "No white cast", "涂后是否假白、泛白", "Whether it leaves a white or grey cast"),
    "water-resistance": FactorSpec(
        "防水防汗", "Water resistance", "出汗、遇水后是否依然有效", "Whether it holds up to sweat and water"
    ),
    "skin-feel": FactorSpec(
        "肤感", "Skin feel", "上脸后是否轻薄舒适、不闷", "How light and comfortable it feels on the skin"
    ),
    "makeup-compatibility": FactorSpec(
        "不搓泥", "Layers under makeup", "叠加底妆时是否搓泥", "Whether it pills when layered under makeup"
    ),
    "serum-amount": FactorSpec("精华量", "Serum amount", "精华液是否充足", "Whether the sheet is generously soaked"),
    "sheet-fit": FactorSpec(
        "膜布贴合", "Sheet fit", "膜布是否服帖、尺寸合适", "Whether the sheet fits and clings to the face"
    ),
    "instant-glow": FactorSpec(
        "即时提亮", "Instant glow", "敷完后是否立刻透亮", "Whether skin looks brighter right after use"
    ),
    "pore-cleansing": FactorSpec(
        "毛孔清洁", "Pore cleansing", "能否清洁毛孔、改善黑头", "Whether it clears pores and blackheads"
    ),
    "easy-rinse": FactorSpec("易冲洗", "Easy to rinse", "是否容易冲洗干净", "Whether it rinses off easily"),
    "non-drying": FactorSpec("不拔干", "Non-drying", "用后是否干燥拔干", "Whether it leaves skin dry and taut"),
    "pillow-friendly": FactorSpec(
        "不粘枕", "Pillow-friendly", "睡前涂后是否粘枕头", "Whether it stays put instead of smearing on the pillow"
    ),
    "morning-effect": FactorSpec(
        "次日肤感", "Next-morning skin", "第二天起床时的皮肤状态", "How your skin looks and feels the next morning"
    ),
    "exfoliation": FactorSpec("去角质", "Exfoliation", "去除老废角质的效果", "How well it removes dead skin"),
    "smoothness": FactorSpec("光滑度", "Smoothness", "用后皮肤是否细腻光滑", "How smooth skin feels afterwards"),
    "nourishment": FactorSpec(
        "滋养", "Nourishment", "能否长效滋润、改善干燥粗糙", "Whether it nourishes dry, rough skin over time"
    ),
    "mist-fineness": FactorSpec(
        "喷雾细腻度", "Mist fineness", "喷雾是否细密均匀", "Whether the spray is fine and even"
    ),
    "makeup-friendly": FactorSpec(
        "不花妆", "Makeup-friendly", "妆后使用是否花妆", "Whether you can use it over makeup without smudging"
    ),
    "non-sticky": FactorSpec("不黏腻", "Non-sticky", "是否黏腻、粘头发", "Whether it feels tacky or catches hair"),
    "flaking": FactorSpec("改善起皮", "Flaking", "能否改善唇部起皮", "Whether it stops lips from peeling"),
    "blemish-clearing": FactorSpec("祛痘效果", "Blemish clearing", "对痘痘的消退效果", "How well it clears spots"),
    "mark-fading": FactorSpec("淡化痘印", "Mark fading", "对痘印的淡化效果", "Whether it fades post-acne marks"),
    # --- makeup -------------------------------------------------------------------------------
    "coverage": FactorSpec(
        "遮瑕力", "Coverage", "对痘印、斑点、黑眼圈的遮盖效果", "How well it covers blemishes, spots and dark circles"
    ),
    "finish": FactorSpec(
        "妆效",
        "Finish",
        "妆感是否自然、高级（哑光或光泽）",
        "Whether the finish looks natural and refined, matte or dewy",
    ),
    "shade-range": FactorSpec("色号选择", "Shade range", "色号是否齐全、好挑选", "Whether there is a shade for you"),
    "non-comedogenic": FactorSpec(
        "不闷痘", "Non-comedogenic", "长时间带妆是否闷痘", "Whether wearing it all day causes breakouts"
    ),
    "puff-quality": FactorSpec("粉扑", "Puff quality", "粉扑是否好用、上妆均匀", "Whether the puff applies evenly"),
    "creasing": FactorSpec("不卡纹", "Crease resistance", "是否卡纹、积线", "Whether it settles into fine lines"),
    "blendability": FactorSpec(
        "易晕染", "Blendability", "是否容易推开晕染、不结块", "How easily it blends without patches"
    ),
    "powder-fineness": FactorSpec(
        "粉质细腻", "Powder fineness", "粉质是否细腻、不粗糙", "How finely milled the powder is"
    ),
    "cakiness": FactorSpec("不卡粉", "No caking", "带妆久后是否卡粉、斑驳", "Whether it cakes or patches over the day"),
    "smoothing": FactorSpec(
        "填平毛孔", "Pore smoothing", "能否填平毛孔，让底妆更平滑", "Whether it blurs pores for a smoother base"
    ),
    "setting": FactorSpec("定妆力", "Setting power", "能否让妆容长时间不脱妆", "How long it keeps makeup in place"),
    "refreshing": FactorSpec("清爽感", "Refreshing", "使用时是否清爽舒适", "Whether it feels fresh and comfortable"),
    "pigmentation": FactorSpec("显色度", "Pigmentation", "上脸上唇是否显色", "How true and vivid the colour shows"),
    "color-range": FactorSpec(
        "色系选择", "Colour range", "颜色是否好看、日常实用", "Whether the colours are flattering and wearable"
    ),
    "fallout": FactorSpec(
        "不飞粉", "Low fallout", "上妆时是否飞粉、掉渣", "Whether powder drops or scatters while applying"
    ),
    "glow": FactorSpec("光泽感", "Glow", "光泽是否自然高级、不廉价", "Whether the sheen looks natural and refined"),
    "shimmer-fineness": FactorSpec(
        "细闪", "Shimmer fineness", "珠光是否细腻、不显颗粒", "Whether the shimmer is fine rather than chunky"
    ),
    "natural-look": FactorSpec("自然度", "Natural look", "效果是否自然、不突兀", "Whether the result looks natural"),
    "palette-combination": FactorSpec(
        "配色实用",
        "Palette combination",
        "盘内配色是否好搭、利用率高",
        "Whether the shades work together and all get used",
    ),
    "smudge-proof": FactorSpec("不晕染", "Smudge-proof", "出油出汗后是否晕妆", "Whether it smudges with oil or sweat"),
    "easy-application": FactorSpec(
        "好上手", "Easy application", "新手是否容易画好", "Whether it is easy to apply well, even for beginners"
    ),
    "easy-removal": FactorSpec("易卸除", "Easy removal", "是否容易卸干净", "Whether it comes off easily"),
    "lengthening": FactorSpec("纤长", "Lengthening", "刷后睫毛是否变长", "How much longer lashes look"),
    "volume": FactorSpec("浓密", "Volume", "刷后睫毛是否浓密", "How much fuller lashes look"),
    "curl-hold": FactorSpec("卷翘持久", "Curl hold", "睫毛卷翘能维持多久", "How long lashes stay curled"),
    "brush-design": FactorSpec(
        "刷头设计", "Brush design", "刷头是否好刷、不结块", "Whether the brush separates lashes without clumps"
    ),
    "transfer-resistance": FactorSpec(
        "不沾杯", "Transfer resistance", "喝水吃饭后是否掉色沾杯", "Whether it stays on through drinks and meals"
    ),
    "gloss": FactorSpec("光泽度", "Shine", "唇部是否水润有光泽", "How glossy and juicy lips look"),
    # --- hair care ------------------------------------------------------------------------------
    "dandruff-control": FactorSpec(
        "去屑", "Dandruff control", "去除和抑制头屑的效果", "How well it clears dandruff and keeps it away"
    ),
    "conditioning": FactorSpec(
        "柔顺", "Conditioning", "洗后头发是否柔顺、不毛躁", "Whether hair feels smooth and frizz-free"
    ),
    "anti-hair-loss": FactorSpec("防脱", "Anti-hair-loss", "能否减少掉发、固发", "Whether it reduces hair fall"),
    "detangling": FactorSpec(
        "易梳理", "Detangling", "头发是否顺滑好梳、不打结", "Whether hair combs through without tangles"
    ),
    "hair-volume": FactorSpec("蓬松", "Volume", "头发是否蓬松、不扁塌", "Whether hair stays full rather than flat"),
    "shine": FactorSpec("光泽", "Shine", "头发是否有光泽", "Whether hair looks glossy"),
    "frizz-control": FactorSpec(
        "抚平毛躁", "Frizz control", "能否抚平毛躁、炸毛", "Whether it tames frizz and flyaways"
    ),
    "heat-protection": FactorSpec(
        "耐热防护", "Heat protection", "吹发、夹发时的保护效果", "How well it protects against blow-dryers and irons"
    ),
    "oil-absorption": FactorSpec("吸油蓬松", "Oil absorption", "能否快速吸走头油", "Whether it soaks up oil quickly"),
    "color-accuracy": FactorSpec(
        "显色准确", "Colour accuracy", "染后颜色是否与色卡一致", "Whether the result matches the colour chart"
    ),
    "grey-coverage": FactorSpec("盖白效果", "Grey coverage", "对白发的覆盖效果", "How well it covers grey hair"),
    "color-longevity": FactorSpec("持色", "Colour longevity", "颜色多久开始褪色", "How long before the colour fades"),
    "hair-friendly": FactorSpec(
        "不伤发", "Kind to hair", "染后发质是否干枯受损", "Whether hair feels dry or damaged afterwards"
    ),
    "hold": FactorSpec("定型力", "Hold", "造型能维持多久", "How long the style holds"),
    "easy-wash": FactorSpec("易清洗", "Easy wash-out", "是否容易洗掉、不残留", "Whether it washes out without residue"),
    "itch-relief": FactorSpec("止痒", "Itch relief", "能否缓解头皮瘙痒", "Whether it relieves an itchy scalp"),
    # --- body care ------------------------------------------------------------------------------
    "brightening": FactorSpec(
        "提亮肤色", "Brightening", "能否让肤色更均匀透亮", "Whether skin tone looks more even and radiant"
    ),
    "odor-control": FactorSpec(
        "抑制异味", "Odour control", "对汗味、体味的抑制效果", "How well it prevents body odour"
    ),
    "sweat-control": FactorSpec("止汗", "Sweat control", "止汗效果是否明显", "How well it reduces sweating"),
    "no-stains": FactorSpec("不留白渍", "No stains", "是否在衣服上留下白渍黄渍", "Whether it marks clothes"),
    "scent-profile": FactorSpec(
        "香调", "Scent profile", "香调是否好闻、有辨识度", "Whether the fragrance is appealing and distinctive"
    ),
    "sillage": FactorSpec("扩散度", "Sillage", "香气扩散范围是否合适", "How far the scent carries"),
    "bottle-design": FactorSpec("瓶身设计", "Bottle design", "瓶身颜值与质感", "Looks and feel of the bottle"),
    "hair-removal-effect": FactorSpec("脱毛效果", "Removal effect", "能否干净去除毛发", "How cleanly it removes hair"),
    "regrowth": FactorSpec("再生速度", "Slow regrowth", "毛发多久长回来", "How long before hair grows back"),
    # --- oral care ------------------------------------------------------------------------------
    "fresh-breath": FactorSpec(
        "口气清新", "Fresh breath", "清新口气的效果和时长", "How fresh your breath is and for how long"
    ),
    "whitening": FactorSpec("美白", "Whitening", "牙齿美白、去渍效果", "How much whiter and less stained teeth look"),
    "sensitivity-relief": FactorSpec(
        "抗敏", "Sensitivity relief", "能否缓解牙齿冷热酸痛", "Whether it eases sensitivity to hot and cold"
    ),
    "flavor": FactorSpec("口感味道", "Flavour", "味道是否清爽、好接受", "Whether the flavour is pleasant"),
    "gum-gentleness": FactorSpec("护龈", "Gentle on gums", "是否伤牙龈、刷出血", "Whether it is gentle on gums"),
    "battery-life": FactorSpec("续航", "Battery life", "充满电能用多久", "How long a charge lasts"),
    "noise": FactorSpec("噪音", "Noise", "工作时的噪音和震感", "How loud and buzzy it is"),
    "brush-head-cost": FactorSpec(
        "刷头成本", "Brush-head cost", "替换刷头是否好买、划算", "Whether replacement heads are affordable"
    ),
    "bristle-softness": FactorSpec(
        "刷毛软硬", "Bristle softness", "刷毛软硬是否合适", "Whether the bristles are the right firmness"
    ),
    "grip": FactorSpec("握感", "Grip", "手柄是否好握、不打滑", "Whether the handle is comfortable and non-slip"),
    "strength": FactorSpec("韧性", "Strength", "是否结实、不易断", "Whether it is strong and doesn't snap or tear"),
    "plaque-reduction": FactorSpec("抑菌", "Plaque reduction", "抑制牙菌斑的效果", "How well it keeps plaque down"),
    "adhesion": FactorSpec("贴合度", "Adhesion", "是否贴得牢、不移位", "Whether it stays in place"),
    # --- food -----------------------------------------------------------------------------------
    "noodle-texture": FactorSpec(
        "面条口感", "Noodle texture", "面条是否筋道爽滑", "Whether the noodles are springy and smooth"
    ),
    "broth": FactorSpec("汤底", "Broth", "汤底是否浓郁好喝", "Whether the broth is rich and tasty"),
    "toppings": FactorSpec("配料", "Toppings", "配菜料包是否丰富实在", "Whether the toppings are generous"),
    "authenticity": FactorSpec("正宗度", "Authenticity", "是否还原地道风味", "Whether it tastes like the real thing"),
    "spiciness": FactorSpec("辣度", "Spiciness", "辣度是否合适、辣得过瘾", "Whether the heat is right"),
    "heating": FactorSpec("加热效果", "Heating", "自热是否充分、速度如何", "Whether it heats fully and quickly"),
    "filling": FactorSpec("馅料", "Filling", "馅料是否足、鲜美多汁", "Whether the filling is generous and juicy"),
    "wrapper": FactorSpec(
        "面皮", "Wrapper", "皮是否薄而有韧性、不易破", "Whether the wrapper is thin, chewy and holds together"
    ),
    "chewiness": FactorSpec("嚼劲", "Chewiness", "口感是否有嚼劲", "Whether it has a satisfying chew"),
    "meat-quality": FactorSpec(
        "肉质", "Meat quality", "是否真材实料、肉感足", "Whether it is made of real, good-quality meat"
    ),
    "mouthfeel": FactorSpec("口感", "Mouthfeel", "口感是否细腻顺滑", "How smooth and pleasant it feels in the mouth"),
    "greasiness": FactorSpec("不油腻", "Not greasy", "吃完是否油腻", "Whether it leaves an oily aftertaste"),
    "fill-level": FactorSpec("满包度", "Fill level", "是否“半袋空气”", "Whether the bag is full rather than half air"),
    "seasoning": FactorSpec("调味", "Seasoning", "咸淡、调味是否恰到好处", "Whether the seasoning is well balanced"),
    "satiety": FactorSpec("饱腹感", "Satiety", "吃后是否顶饱", "How filling it is"),
    "thickness": FactorSpec("浓稠度", "Thickness", "口感是否浓稠醇厚", "How thick and creamy it is"),
    "cooking-ease": FactorSpec(
        "易烹饪", "Easy to cook", "烹饪是否方便、不易煮破", "Whether it is easy to cook without falling apart"
    ),
    "cocoa-richness": FactorSpec("可可浓度", "Cocoa richness", "可可风味是否浓郁", "How rich the cocoa flavour is"),
    # --- beverages ------------------------------------------------------------------------------
    "roast-consistency": FactorSpec(
        "烘焙均匀度",
        "Roast consistency",
        "豆子烘焙是否均匀、少瑕疵豆",
        "Whether beans are evenly roasted without defects",
    ),
    "acidity-balance": FactorSpec(
        "酸质平衡", "Acidity balance", "酸度是否明亮而不尖锐", "Whether the acidity is bright rather than sharp"
    ),
    "solubility": FactorSpec("溶解度", "Solubility", "是否好冲泡、不结块", "Whether it dissolves without lumps"),
    "infusion-durability": FactorSpec(
        "耐泡度", "Re-steeping", "能冲泡几次仍有味道", "How many infusions it gives before going flat"
    ),
    "fizziness": FactorSpec("气泡感", "Fizz", "气泡是否足、持久", "How lively and lasting the bubbles are"),
    "foaming": FactorSpec("打奶泡", "Foaming", "做咖啡时是否好打奶泡", "Whether it froths well for coffee"),
    "nutrition": FactorSpec("营养", "Nutrition", "蛋白质等营养含量", "Protein and nutrient content"),
    "energy-boost": FactorSpec("提神效果", "Energy boost", "喝后提神醒脑的效果", "How well it perks you up"),
    # --- home & cleaning --------------------------------------------------------------------------
    "stain-removal": FactorSpec(
        "去渍力", "Stain removal", "对油渍、汗渍等的清洁效果", "How well it lifts stains such as grease and sweat"
    ),
    "rinsing": FactorSpec(
        "易漂洗", "Easy rinsing", "是否容易漂洗干净、无残留", "Whether it rinses out without residue"
    ),
    "dissolving": FactorSpec(
        "溶解速度", "Dissolving", "凝珠是否完全溶解、不残留薄膜", "Whether pods dissolve fully without film residue"
    ),
    "child-safety": FactorSpec(
        "防儿童误触", "Child safety", "包装是否有防误食设计", "Whether the packaging is child-resistant"
    ),
    "anti-static": FactorSpec("防静电", "Anti-static", "能否减少衣物静电", "Whether it reduces static cling"),
    "lasting-scent": FactorSpec("留香", "Lasting scent", "衣物留香能维持多久", "How long the scent stays on clothes"),
    "grease-cutting": FactorSpec("去油力", "Grease cutting", "去除油污的效果", "How well it cuts through grease"),
    "hand-friendly": FactorSpec(
        "不伤手", "Kind to hands", "长期使用是否伤手", "Whether it dries out or irritates hands"
    ),
    "food-safe": FactorSpec(
        "可洗果蔬", "Food-safe", "能否用于果蔬餐具、用得安心", "Whether it is safe for produce and dishes"
    ),
    "spray-design": FactorSpec(
        "喷头设计", "Spray nozzle", "喷头是否好用、喷洒均匀", "Whether the nozzle sprays evenly and reliably"
    ),
    "surface-safety": FactorSpec(
        "不伤材质", "Surface-safe", "是否损伤台面、不锈钢等材质", "Whether it is safe on worktops and steel"
    ),
    "descaling": FactorSpec("除垢", "Descaling", "去除尿垢、水垢的效果", "How well it removes limescale and stains"),
    "odor-removal": FactorSpec("除臭", "Odour removal", "去除异味的效果", "How well it eliminates odours"),
    "streak-free": FactorSpec("不留痕", "Streak-free", "擦后是否留下水痕", "Whether it dries without streaks"),
    "quick-drying": FactorSpec("速干", "Quick drying", "地面干得快不快", "How quickly floors dry"),
    "pet-safety": FactorSpec(
        "宠物友好", "Pet-safe", "对宠物和孩子是否安全", "Whether it is safe around pets and children"
    ),
    "wet-strength": FactorSpec("湿水韧性", "Wet strength", "沾水后是否容易破", "Whether it holds together when wet"),
    "lint-free": FactorSpec("不掉屑", "Lint-free", "使用时是否掉纸屑", "Whether it leaves lint behind"),
    "moisture": FactorSpec("湿润度", "Moisture", "湿巾含水量是否合适", "Whether each wipe is moist enough"),
    "sheet-thickness": FactorSpec("厚度", "Thickness", "是否厚实、不易破", "Whether it is thick enough not to tear"),
    "lid-design": FactorSpec(
        "密封盖", "Lid & seal", "开合是否方便、能否锁住水分", "Whether the lid opens easily and keeps wipes moist"
    ),
    "diffusion": FactorSpec("扩香", "Diffusion", "香气扩散的范围", "How well the scent fills the room"),
    "naturalness": FactorSpec(
        "香气自然", "Natural scent", "香味是否自然不刺鼻", "Whether the fragrance smells natural, not chemical"
    ),
    # --- baby & maternity -------------------------------------------------------------------------
    "fit": FactorSpec("贴合度", "Fit", "腰围腿围是否贴合、不勒", "Whether it fits snugly without pinching"),
    "rash-prevention": FactorSpec(
        "防红屁屁", "Rash prevention", "长时间穿是否红屁屁", "Whether it prevents nappy rash"
    ),
    "digestibility": FactorSpec(
        "好消化", "Digestibility", "宝宝喝后是否好消化、不便秘", "Whether baby digests it easily, without constipation"
    ),
    "baby-acceptance": FactorSpec(
        "宝宝接受度", "Baby's acceptance", "宝宝是否爱喝爱吃", "Whether baby happily takes it"
    ),
    "source-safety": FactorSpec(
        "奶源安全", "Sourcing & safety", "奶源和品控是否可靠", "Whether milk source and quality control are trustworthy"
    ),
    "anti-colic": FactorSpec("防胀气", "Anti-colic", "是否减少呛奶、胀气", "Whether it reduces gulping air and colic"),
    "easy-cleaning": FactorSpec(
        "易清洗", "Easy cleaning", "是否好拆洗、无死角", "Whether it comes apart and cleans easily"
    ),
    "material-safety": FactorSpec(
        "材质安全", "Material safety", "材质是否安全、耐高温消毒", "Whether the material is safe and sterilisable"
    ),
    "tear-free": FactorSpec("无泪配方", "Tear-free", "进眼睛是否刺痛", "Whether it stings if it gets in the eyes"),
    "prevention-effect": FactorSpec(
        "预防效果", "Prevention", "对妊娠纹的预防与淡化效果", "How well it prevents and fades stretch marks"
    ),
}


SKINCARE = ParentSpec(
    "skincare",
    "护肤",
    "Skincare",
    "beauty",
    (
        _leaf(
            "cleanser",
            "洁面",
            "Facial cleanser",
            "cleanliness gentleness lather non-tightness oil-control value",
            (
                ("氨基酸洁面乳", "Amino-Acid Facial Cleanser"),
                ("控油洗面奶", "Oil-Control Face Wash"),
                ("洁面慕斯", "Cleansing Mousse"),
            ),
            ("100g", "120g", "150ml"),
            (79, 29, 380),
            3.0,
        ),
        _leaf(
            "makeup-remover",
            "卸妆",
            "Makeup remover",
            "makeup-removal gentleness emulsification eye-comfort easy-rinse value",
            (("卸妆油", "Cleansing Oil"), ("卸妆膏", "Cleansing Balm"), ("卸妆水", "Micellar Water")),
            ("150ml", "200ml", "400ml"),
            (109, 39, 450),
            2.5,
        ),
        _leaf(
            "toner",
            "化妆水",
            "Toner",
            "hydration absorption gentleness soothing texture value",
            (("保湿爽肤水", "Hydrating Toner"), ("精华水", "Essence Water"), ("湿敷水", "Soothing Toner")),
            ("150ml", "200ml", "400ml"),
            (159, 39, 1200),
            2.5,
        ),
        _leaf(
            "serum",
            "精华",
            "Serum",
            "efficacy absorption texture gentleness hydration visible-results value",
            (
                ("修护精华液", "Repair Serum"),
                ("烟酰胺精华", "Niacinamide Serum"),
                ("抗老精华", "Anti-Ageing Serum"),
                ("维C精华", "Vitamin C Serum"),
            ),
            ("30ml", "50ml"),
            (299, 59, 2600),
            4.0,
        ),
        _leaf(
            "face-cream",
            "面霜",
            "Face cream",
            "moisturizing absorption texture gentleness repair firming value",
            (("保湿面霜", "Moisturising Cream"), ("屏障修护霜", "Barrier Repair Cream"), ("紧致面霜", "Firming Cream")),
            ("50g", "50ml", "75ml"),
            (269, 39, 3500),
            4.0,
        ),
        _leaf(
            "lotion",
            "乳液",
            "Lotion",
            "moisturizing absorption non-greasy gentleness oil-balance value",
            (("保湿乳液", "Hydrating Emulsion"), ("清爽乳", "Light Lotion"), ("修护乳", "Repair Emulsion")),
            ("100ml", "120ml"),
            (169, 39, 900),
            2.0,
        ),
        _leaf(
            "eye-cream",
            "眼霜",
            "Eye cream",
            "dark-circles puffiness fine-lines absorption milia-free applicator value",
            (("淡纹眼霜", "Anti-Wrinkle Eye Cream"), ("眼部精华", "Eye Serum"), ("保湿眼霜", "Hydrating Eye Cream")),
            ("15ml", "20g"),
            (259, 59, 1800),
            2.0,
        ),
        _leaf(
            "sunscreen",
            "防晒",
            "Sunscreen",
            "protection texture whitecast water-resistance skin-feel makeup-compatibility gentleness value",
            (
                ("清爽防晒霜 SPF50+", "Light Sunscreen SPF50+"),
                ("防晒乳 SPF50+", "Sun Milk SPF50+"),
                ("防晒喷雾", "Sun Spray SPF50+"),
                ("素颜防晒霜", "Tinted Sunscreen SPF30"),
            ),
            ("40ml", "50ml", "60g", "150ml"),
            (139, 39, 450),
            4.0,
        ),
        _leaf(
            "sheet-mask",
            "贴片面膜",
            "Sheet mask",
            "hydration serum-amount sheet-fit gentleness instant-glow value",
            (
                ("补水面膜", "Hydrating Sheet Mask"),
                ("舒缓修护面膜", "Soothing Sheet Mask"),
                ("玻尿酸面膜", "Hyaluronic Acid Mask"),
            ),
            ("5片装|5 sheets", "10片装|10 sheets", "25片装|25 sheets"),
            (89, 19, 399),
            3.0,
        ),
        _leaf(
            "clay-mask",
            "清洁面膜",
            "Clay mask",
            "pore-cleansing oil-control gentleness easy-rinse non-drying value",
            (("清洁泥膜", "Clay Mask"), ("泡泡面膜", "Bubble Mask")),
            ("100g", "120g"),
            (129, 39, 380),
            1.5,
        ),
        _leaf(
            "sleeping-mask",
            "睡眠面膜",
            "Sleeping mask",
            "moisturizing absorption pillow-friendly morning-effect aroma value",
            (("睡眠面膜", "Sleeping Mask"), ("免洗修护面膜", "Overnight Repair Mask")),
            ("70ml", "80g"),
            (139, 49, 420),
            1.2,
        ),
        _leaf(
            "exfoliator",
            "去角质",
            "Exfoliator",
            "exfoliation gentleness smoothness non-drying ease-of-use value",
            (("去角质凝胶", "Exfoliating Gel"), ("果酸棉片", "AHA Peel Pads"), ("面部磨砂膏", "Face Scrub")),
            ("100ml", "60片|60 pads", "80g"),
            (99, 29, 320),
            1.0,
        ),
        _leaf(
            "facial-oil",
            "面部精油",
            "Facial oil",
            "absorption nourishment non-greasy aroma gentleness value",
            (("面部护理油", "Face Oil"), ("角鲨烷精华油", "Squalane Oil")),
            ("15ml", "30ml"),
            (199, 59, 980),
            0.8,
        ),
        _leaf(
            "face-mist",
            "喷雾",
            "Face mist",
            "mist-fineness hydration soothing makeup-friendly portability value",
            (("舒缓喷雾", "Soothing Face Mist"), ("补水喷雾", "Hydrating Mist")),
            ("150ml", "300ml"),
            (99, 29, 320),
            1.0,
        ),
        _leaf(
            "lip-balm",
            "润唇膏",
            "Lip balm",
            "moisturizing longevity non-sticky flaking aroma value",
            (("润唇膏", "Lip Balm"), ("唇膜", "Lip Mask"), ("有色润唇膏", "Tinted Lip Balm")),
            ("3.5g", "4g", "15g"),
            (59, 9, 320),
            1.5,
        ),
        _leaf(
            "acne-treatment",
            "祛痘",
            "Acne treatment",
            "blemish-clearing visible-results gentleness mark-fading makeup-friendly value",
            (("祛痘凝胶", "Blemish Gel"), ("痘痘贴", "Pimple Patches"), ("水杨酸精华", "Salicylic Acid Serum")),
            ("15g", "72贴|72 patches", "30ml"),
            (79, 19, 260),
            1.2,
        ),
    ),
)

MAKEUP = ParentSpec(
    "makeup",
    "彩妆",
    "Makeup",
    "beauty",
    (
        _leaf(
            "foundation",
            "粉底液",
            "Foundation",
            "coverage longevity finish oil-control shade-range texture non-comedogenic value",
            (
                ("持妆粉底液", "Long-Wear Foundation"),
                ("养肤粉底液", "Skincare Foundation"),
                ("哑光粉底液", "Matte Foundation"),
            ),
            ("30ml", "35ml"),
            (299, 49, 980),
            3.5,
        ),
        _leaf(
            "cushion",
            "气垫",
            "Cushion foundation",
            "coverage longevity finish moisturizing puff-quality shade-range value",
            (("气垫BB霜", "Cushion BB"), ("遮瑕气垫", "Full-Cover Cushion"), ("水光气垫", "Dewy Cushion")),
            ("15g", "12g×2|12g ×2"),
            (229, 59, 780),
            3.0,
        ),
        _leaf(
            "concealer",
            "遮瑕",
            "Concealer",
            "coverage creasing longevity blendability shade-range value",
            (("遮瑕液", "Liquid Concealer"), ("三色遮瑕盘", "Concealer Palette"), ("遮瑕膏", "Concealer Stick")),
            ("6g", "5ml"),
            (139, 29, 420),
            2.0,
        ),
        _leaf(
            "loose-powder",
            "散粉",
            "Setting powder",
            "oil-control powder-fineness setting cakiness finish value",
            (("控油散粉", "Oil-Control Loose Powder"), ("蜜粉饼", "Pressed Powder")),
            ("8g", "10g"),
            (159, 39, 580),
            2.0,
        ),
        _leaf(
            "primer",
            "妆前乳",
            "Primer",
            "smoothing setting oil-control moisturizing makeup-compatibility value",
            (("妆前乳", "Makeup Primer"), ("调色隔离霜", "Colour-Correcting Primer")),
            ("30ml", "40ml"),
            (169, 39, 480),
            1.5,
        ),
        _leaf(
            "setting-spray",
            "定妆喷雾",
            "Setting spray",
            "setting mist-fineness finish refreshing gentleness value",
            (("定妆喷雾", "Setting Spray"), ("控油定妆喷雾", "Oil-Control Setting Spray")),
            ("100ml", "120ml"),
            (129, 39, 360),
            1.2,
        ),
        _leaf(
            "blush",
            "腮红",
            "Blush",
            "pigmentation blendability color-range longevity fallout value",
            (("腮红", "Powder Blush"), ("腮红膏", "Cream Blush"), ("液体腮红", "Liquid Blush")),
            ("5g", "4.5g"),
            (129, 29, 420),
            1.8,
        ),
        _leaf(
            "highlighter",
            "高光",
            "Highlighter",
            "glow shimmer-fineness blendability longevity natural-look value",
            (("高光粉饼", "Highlighter"), ("液体高光", "Liquid Highlighter")),
            ("8g", "15ml"),
            (139, 29, 450),
            1.0,
        ),
        _leaf(
            "contour",
            "修容",
            "Contour",
            "natural-look blendability pigmentation longevity fallout value",
            (("修容盘", "Contour Palette"), ("修容棒", "Contour Stick")),
            ("7g", "10g"),
            (119, 29, 380),
            1.0,
        ),
        _leaf(
            "eyeshadow",
            "眼影",
            "Eyeshadow palette",
            "pigmentation blendability palette-combination fallout longevity packaging value",
            (
                ("九色眼影盘", "9-Shade Eyeshadow Palette"),
                ("四色眼影", "Eyeshadow Quad"),
                ("大地色眼影盘", "Earth-Tone Palette"),
            ),
            ("7.5g", "10g"),
            (199, 39, 680),
            3.0,
        ),
        _leaf(
            "eyeliner",
            "眼线",
            "Eyeliner",
            "smudge-proof easy-application longevity pigmentation easy-removal value",
            (("眼线胶笔", "Gel Eyeliner Pencil"), ("眼线液笔", "Liquid Eyeliner")),
            ("0.5ml", "0.3g"),
            (79, 19, 260),
            1.5,
        ),
        _leaf(
            "mascara",
            "睫毛膏",
            "Mascara",
            "lengthening volume curl-hold smudge-proof easy-removal brush-design value",
            (
                ("纤长睫毛膏", "Lengthening Mascara"),
                ("浓密睫毛膏", "Volumising Mascara"),
                ("防水睫毛膏", "Waterproof Mascara"),
            ),
            ("8ml", "6g"),
            (119, 29, 320),
            2.0,
        ),
        _leaf(
            "eyebrow",
            "眉笔",
            "Eyebrow pencil",
            "easy-application natural-look longevity shade-range smudge-proof value",
            (("极细眉笔", "Ultra-Fine Brow Pencil"), ("眉粉", "Brow Powder"), ("染眉膏", "Tinted Brow Gel")),
            ("0.05g", "0.1g", "4g"),
            (69, 9, 280),
            1.5,
        ),
        _leaf(
            "lipstick",
            "口红",
            "Lipstick",
            "pigmentation color-range moisturizing longevity transfer-resistance texture packaging value",
            (("丝绒口红", "Velvet Lipstick"), ("哑光唇膏", "Matte Lipstick"), ("滋润口红", "Satin Lipstick")),
            ("3.5g", "3g"),
            (199, 29, 450),
            4.0,
        ),
        _leaf(
            "lip-gloss",
            "唇釉",
            "Lip gloss",
            "pigmentation gloss moisturizing non-sticky transfer-resistance longevity value",
            (("水光唇釉", "Lip Glaze"), ("镜面唇釉", "Mirror Lip Gloss"), ("丝绒唇泥", "Velvet Lip Mud")),
            ("3ml", "5g"),
            (149, 29, 360),
            3.0,
        ),
    ),
)

HAIR_CARE = ParentSpec(
    "hair-care",
    "洗护发",
    "Hair care",
    "beauty",
    (
        _leaf(
            "shampoo",
            "洗发水",
            "Shampoo",
            "cleanliness aroma dandruff-control conditioning moisturizing anti-hair-loss",
            (
                ("去屑洗发水", "Anti-Dandruff Shampoo"),
                ("控油蓬松洗发露", "Oil-Control Volume Shampoo"),
                ("氨基酸洗发水", "Amino-Acid Shampoo"),
                ("防脱固发洗发水", "Anti-Hair-Loss Shampoo"),
            ),
            ("400ml", "500ml", "750ml"),
            (69, 19, 399),
            4.0,
        ),
        _leaf(
            "conditioner",
            "护发素",
            "Conditioner",
            "conditioning detangling moisturizing hair-volume aroma value",
            (("柔顺护发素", "Smoothing Conditioner"), ("修护润发乳", "Repair Conditioner")),
            ("400ml", "500ml"),
            (59, 19, 320),
            2.0,
        ),
        _leaf(
            "hair-mask",
            "发膜",
            "Hair mask",
            "repair conditioning moisturizing shine aroma value",
            (("修护发膜", "Repair Hair Mask"), ("蒸汽发膜", "Steam Hair Mask")),
            ("200ml", "250g"),
            (89, 19, 380),
            1.8,
        ),
        _leaf(
            "hair-oil",
            "护发精油",
            "Hair oil",
            "frizz-control shine non-greasy heat-protection aroma value",
            (("护发精油", "Hair Oil"), ("免洗护发乳", "Leave-In Treatment")),
            ("80ml", "100ml"),
            (99, 29, 420),
            1.5,
        ),
        _leaf(
            "dry-shampoo",
            "干发喷雾",
            "Dry shampoo",
            "oil-absorption hair-volume whitecast aroma longevity value",
            (("干发喷雾", "Dry Shampoo Spray"), ("蓬松粉", "Volume Powder")),
            ("150ml", "200ml", "10g"),
            (59, 19, 199),
            1.0,
        ),
        _leaf(
            "hair-dye",
            "染发剂",
            "Hair colour",
            "color-accuracy grey-coverage gentleness color-longevity hair-friendly ease-of-use value",
            (
                ("植物染发膏", "Plant-Based Hair Colour"),
                ("泡泡染发剂", "Bubble Hair Dye"),
                ("盖白染发霜", "Grey-Coverage Colour"),
            ),
            ("1盒|1 box", "2盒|2 boxes"),
            (79, 19, 298),
            1.2,
        ),
        _leaf(
            "hair-styling",
            "造型",
            "Hair styling",
            "hold natural-look non-sticky easy-wash aroma value",
            (("定型喷雾", "Hairspray"), ("发蜡", "Hair Wax"), ("碎发整理膏", "Flyaway Stick")),
            ("200ml", "80g", "15ml"),
            (59, 15, 220),
            1.0,
        ),
        _leaf(
            "scalp-care",
            "头皮护理",
            "Scalp care",
            "anti-hair-loss oil-control itch-relief absorption aroma value",
            (("头皮精华", "Scalp Serum"), ("育发精华液", "Hair Growth Serum"), ("头皮磨砂膏", "Scalp Scrub")),
            ("50ml", "80ml", "200g"),
            (159, 39, 680),
            1.5,
        ),
    ),
)

BODY_CARE = ParentSpec(
    "body-care",
    "身体护理",
    "Body care",
    "beauty",
    (
        _leaf(
            "body-wash",
            "沐浴露",
            "Body wash",
            "cleanliness aroma moisturizing lather gentleness value",
            (
                ("香氛沐浴露", "Fragrant Body Wash"),
                ("氨基酸沐浴露", "Amino-Acid Body Wash"),
                ("烟酰胺沐浴露", "Niacinamide Body Wash"),
            ),
            ("400ml", "500ml", "1L"),
            (59, 15, 280),
            3.0,
        ),
        _leaf(
            "body-lotion",
            "身体乳",
            "Body lotion",
            "moisturizing absorption aroma texture brightening value",
            (("保湿身体乳", "Body Lotion"), ("烟酰胺身体乳", "Brightening Body Lotion"), ("身体霜", "Body Butter")),
            ("250ml", "400ml", "200g"),
            (89, 19, 420),
            3.0,
        ),
        _leaf(
            "hand-cream",
            "护手霜",
            "Hand cream",
            "moisturizing absorption non-greasy aroma portability value",
            (("护手霜", "Hand Cream"), ("香氛护手霜", "Fragrant Hand Cream")),
            ("30ml", "50g", "75ml"),
            (49, 9, 260),
            2.0,
        ),
        _leaf(
            "body-scrub",
            "身体磨砂",
            "Body scrub",
            "exfoliation smoothness gentleness aroma easy-rinse value",
            (("身体磨砂膏", "Body Scrub"), ("海盐磨砂膏", "Sea Salt Scrub")),
            ("200g", "300g"),
            (79, 19, 320),
            1.0,
        ),
        _leaf(
            "deodorant",
            "止汗露",
            "Deodorant",
            "odor-control sweat-control longevity gentleness no-stains aroma value",
            (("止汗露", "Roll-On Deodorant"), ("止汗喷雾", "Antiperspirant Spray")),
            ("50ml", "150ml"),
            (49, 15, 199),
            1.0,
        ),
        _leaf(
            "perfume",
            "香水",
            "Perfume",
            "scent-profile longevity sillage bottle-design value",
            (("淡香水", "Eau de Toilette"), ("浓香水", "Eau de Parfum"), ("香水小样套装", "Discovery Set")),
            ("30ml", "50ml", "100ml", "5ml×5|5 × 5ml"),
            (499, 69, 2800),
            3.0,
        ),
        _leaf(
            "hair-removal",
            "脱毛",
            "Hair removal",
            "hair-removal-effect speed gentleness smell regrowth value",
            (("脱毛膏", "Hair Removal Cream"), ("脱毛喷雾", "Hair Removal Spray")),
            ("100g", "150ml"),
            (59, 19, 199),
            0.8,
        ),
        _leaf(
            "soap",
            "香皂",
            "Soap",
            "cleanliness aroma gentleness moisturizing durability value",
            (("香皂", "Bar Soap"), ("手工皂", "Handmade Soap"), ("硫磺皂", "Sulphur Soap")),
            ("100g", "125g×3|3 × 125g"),
            (29, 5, 168),
            0.8,
        ),
        _leaf(
            "sanitary-pads",
            "卫生巾",
            "Sanitary pads",
            "absorbency leak-protection softness breathability comfort value",
            (("日用卫生巾", "Day Pads"), ("夜用卫生巾", "Night Pads"), ("安心裤", "Period Pants")),
            ("10片|10 pads", "8片|8 pads", "5条|5 pants"),
            (39, 9, 129),
            2.5,
        ),
    ),
)

ORAL_CARE = ParentSpec(
    "oral-care",
    "口腔护理",
    "Oral care",
    "beauty",
    (
        _leaf(
            "toothpaste",
            "牙膏",
            "Toothpaste",
            "cleanliness fresh-breath whitening sensitivity-relief flavor value",
            (
                ("美白牙膏", "Whitening Toothpaste"),
                ("抗敏牙膏", "Sensitive Toothpaste"),
                ("益生菌牙膏", "Probiotic Toothpaste"),
            ),
            ("120g", "100g×3|3 × 100g"),
            (39, 9, 169),
            3.0,
        ),
        _leaf(
            "electric-toothbrush",
            "电动牙刷",
            "Electric toothbrush",
            "cleanliness gum-gentleness battery-life noise brush-head-cost ease-of-use value",
            (("声波电动牙刷", "Sonic Electric Toothbrush"), ("电动牙刷礼盒", "Electric Toothbrush Gift Set")),
            ("1支|1 brush", "主机+3刷头|handle + 3 heads"),
            (299, 69, 1899),
            2.0,
        ),
        _leaf(
            "toothbrush",
            "牙刷",
            "Toothbrush",
            "bristle-softness cleanliness gum-gentleness grip durability value",
            (("软毛牙刷", "Soft-Bristle Toothbrush"), ("宽头牙刷", "Wide-Head Toothbrush")),
            ("4支装|4-pack", "6支装|6-pack"),
            (29, 5, 99),
            1.0,
        ),
        _leaf(
            "mouthwash",
            "漱口水",
            "Mouthwash",
            "fresh-breath longevity flavor gentleness plaque-reduction value",
            (("漱口水", "Mouthwash"), ("便携漱口水", "Mouthwash Sachets")),
            ("500ml", "12ml×20|20 × 12ml"),
            (39, 9, 129),
            1.2,
        ),
        _leaf(
            "dental-floss",
            "牙线",
            "Dental floss",
            "ease-of-use strength gum-gentleness cleanliness portability value",
            (("牙线棒", "Floss Picks"), ("扁线牙线", "Dental Tape")),
            ("50支|50 picks", "100支|100 picks", "50m"),
            (19, 5, 79),
            0.6,
        ),
        _leaf(
            "whitening-strips",
            "美白牙贴",
            "Whitening strips",
            "whitening gentleness adhesion flavor visible-results value",
            (("美白牙贴", "Whitening Strips"), ("美白牙膜", "Whitening Gel Strips")),
            ("7对|7 pairs", "14对|14 pairs"),
            (99, 29, 399),
            0.6,
        ),
    ),
)

FOOD = ParentSpec(
    "food-snacks",
    "食品零食",
    "Food & snacks",
    "food",
    (
        _leaf(
            "instant-noodles",
            "方便面",
            "Instant noodles",
            "taste noodle-texture broth toppings convenience value",
            (
                ("红烧牛肉面", "Braised Beef Noodles"),
                ("酸菜牛肉面", "Pickled Cabbage Beef Noodles"),
                ("葱油拌面", "Scallion Oil Noodles"),
            ),
            ("5袋装|5 packs", "12桶装|12 cups"),
            (29, 9, 99),
            2.0,
        ),
        _leaf(
            "luosifen",
            "螺蛳粉",
            "Luosifen",
            "authenticity spiciness noodle-texture toppings aroma value",
            (("柳州螺蛳粉", "Liuzhou Luosifen"), ("加辣螺蛳粉", "Extra-Spicy Luosifen")),
            ("3袋装|3 packs", "5袋装|5 packs"),
            (45, 15, 99),
            1.5,
        ),
        _leaf(
            "self-heating-hotpot",
            "自热火锅",
            "Self-heating hot pot",
            "taste heating portion convenience spiciness value",
            (("麻辣自热火锅", "Spicy Self-Heating Hot Pot"), ("自热米饭", "Self-Heating Rice")),
            ("2盒|2 boxes", "3盒|3 boxes"),
            (49, 19, 129),
            1.0,
        ),
        _leaf(
            "frozen-dumplings",
            "速冻水饺",
            "Frozen dumplings",
            "filling wrapper taste cooking-ease freshness value",
            (
                ("猪肉白菜水饺", "Pork & Cabbage Dumplings"),
                ("三鲜水饺", "Three-Delicacy Dumplings"),
                ("鲜虾馄饨", "Shrimp Wontons"),
            ),
            ("500g", "1kg"),
            (39, 12, 99),
            1.2,
        ),
        _leaf(
            "nuts",
            "坚果",
            "Nuts",
            "freshness crunchiness taste portion packaging value",
            (("每日坚果", "Daily Mixed Nuts"), ("夏威夷果", "Macadamias"), ("碧根果", "Pecans")),
            ("750g/30袋|750g, 30 packs", "500g"),
            (99, 29, 299),
            2.0,
        ),
        _leaf(
            "potato-chips",
            "薯片",
            "Potato chips",
            "crunchiness taste greasiness seasoning fill-level value",
            (
                ("原味薯片", "Original Potato Chips"),
                ("黄瓜味薯片", "Cucumber Potato Chips"),
                ("番茄味薯片", "Tomato Potato Chips"),
            ),
            ("70g×6|6 × 70g", "104g"),
            (29, 6, 99),
            1.5,
        ),
        _leaf(
            "chocolate",
            "巧克力",
            "Chocolate",
            "taste mouthfeel sweetness cocoa-richness packaging value",
            (("黑巧克力 70%", "Dark Chocolate 70%"), ("牛奶巧克力", "Milk Chocolate"), ("生巧克力", "Nama Chocolate")),
            ("100g", "200g", "礼盒装|gift box"),
            (59, 12, 360),
            1.5,
        ),
        _leaf(
            "biscuits",
            "饼干",
            "Biscuits",
            "taste crunchiness sweetness ingredients packaging value",
            (("苏打饼干", "Soda Crackers"), ("黄油曲奇", "Butter Cookies"), ("全麦饼干", "Wholegrain Biscuits")),
            ("400g", "908g"),
            (39, 9, 168),
            1.2,
        ),
        _leaf(
            "beef-jerky",
            "牛肉干",
            "Beef jerky",
            "taste chewiness meat-quality spiciness packaging value",
            (("风干牛肉干", "Air-Dried Beef Jerky"), ("麻辣牛肉干", "Spicy Beef Jerky")),
            ("100g", "250g"),
            (69, 19, 199),
            1.0,
        ),
        _leaf(
            "dried-fruit",
            "果干",
            "Dried fruit",
            "sweetness mouthfeel ingredients freshness packaging value",
            (("芒果干", "Dried Mango"), ("冻干草莓", "Freeze-Dried Strawberries"), ("蔓越莓干", "Dried Cranberries")),
            ("100g", "250g"),
            (39, 12, 128),
            1.0,
        ),
        _leaf(
            "seaweed-snacks",
            "海苔",
            "Seaweed snacks",
            "crunchiness taste seasoning freshness packaging value",
            (("夹心海苔", "Sandwich Seaweed"), ("海苔脆", "Seaweed Crisps")),
            ("40g", "2g×30|30 × 2g"),
            (35, 9, 99),
            0.8,
        ),
        _leaf(
            "oatmeal",
            "燕麦片",
            "Oats & granola",
            "taste mouthfeel satiety ingredients convenience value",
            (("即食燕麦片", "Instant Oats"), ("水果坚果麦片", "Fruit & Nut Granola")),
            ("1kg", "500g"),
            (45, 12, 149),
            1.2,
        ),
        _leaf(
            "yogurt",
            "酸奶",
            "Yoghurt",
            "taste thickness sweetness ingredients freshness value",
            (("希腊酸奶", "Greek Yoghurt"), ("无蔗糖酸奶", "No-Added-Sugar Yoghurt"), ("常温酸奶", "Ambient Yoghurt")),
            ("200g×12|12 × 200g", "100g×8|8 × 100g"),
            (59, 19, 159),
            1.2,
        ),
    ),
)

BEVERAGES = ParentSpec(
    "beverages",
    "饮料冲调",
    "Beverages",
    "food",
    (
        _leaf(
            "coffee-beans",
            "咖啡豆",
            "Coffee beans",
            "aroma taste roast-consistency freshness acidity-balance value",
            (
                ("意式拼配咖啡豆", "Espresso Blend Beans"),
                ("耶加雪菲咖啡豆", "Yirgacheffe Single Origin"),
                ("云南咖啡豆", "Yunnan Coffee Beans"),
            ),
            ("250g", "454g", "1kg"),
            (89, 29, 399),
            1.8,
        ),
        _leaf(
            "instant-coffee",
            "速溶咖啡",
            "Instant coffee",
            "aroma taste solubility convenience packaging value",
            (
                ("冻干咖啡", "Freeze-Dried Coffee"),
                ("三合一速溶咖啡", "3-in-1 Instant Coffee"),
                ("挂耳咖啡", "Drip-Bag Coffee"),
            ),
            ("24颗|24 capsules", "30条|30 sticks", "10g×20|20 × 10g"),
            (69, 19, 199),
            2.0,
        ),
        _leaf(
            "tea",
            "茶叶",
            "Tea",
            "aroma taste infusion-durability freshness packaging value",
            (
                ("西湖龙井", "Longjing Green Tea"),
                ("正山小种", "Lapsang Souchong"),
                ("福鼎白茶饼", "White Tea Cake"),
                ("冷泡茶", "Cold-Brew Tea Bags"),
            ),
            ("100g", "250g", "30袋|30 bags"),
            (129, 29, 999),
            1.8,
        ),
        _leaf(
            "sparkling-water",
            "气泡水",
            "Sparkling water",
            "fizziness taste sweetness ingredients packaging value",
            (("无糖气泡水", "Sugar-Free Sparkling Water"), ("果味气泡水", "Fruit Sparkling Water")),
            ("480ml×15|15 × 480ml", "330ml×24|24 × 330ml"),
            (59, 19, 129),
            1.5,
        ),
        _leaf(
            "oat-milk",
            "燕麦奶",
            "Oat milk",
            "taste thickness foaming sweetness ingredients value",
            (("咖啡大师燕麦奶", "Barista Oat Milk"), ("原味燕麦奶", "Original Oat Milk")),
            ("1L×6|6 × 1L", "250ml×12|12 × 250ml"),
            (69, 25, 159),
            1.0,
        ),
        _leaf(
            "juice",
            "果汁",
            "Juice",
            "taste freshness ingredients sweetness packaging value",
            (("NFC橙汁", "NFC Orange Juice"), ("复合果蔬汁", "Fruit & Vegetable Juice")),
            ("300ml×10|10 × 300ml", "1L×4|4 × 1L"),
            (79, 19, 199),
            1.0,
        ),
        _leaf(
            "milk",
            "牛奶",
            "Milk",
            "taste freshness nutrition thickness packaging value",
            (("全脂纯牛奶", "Whole Milk"), ("低脂牛奶", "Low-Fat Milk"), ("A2β-酪蛋白牛奶", "A2 Milk")),
            ("250ml×24|24 × 250ml", "200ml×12|12 × 200ml", "1L×6|6 × 1L"),
            (69, 29, 199),
            1.8,
        ),
        _leaf(
            "energy-drinks",
            "功能饮料",
            "Energy & sports drinks",
            "taste energy-boost sweetness ingredients fizziness value",
            (("能量饮料", "Energy Drink"), ("电解质水", "Electrolyte Drink")),
            ("250ml×24|24 × 250ml", "600ml×15|15 × 600ml"),
            (69, 19, 149),
            0.8,
        ),
    ),
)

HOME = ParentSpec(
    "home-cleaning",
    "家居清洁",
    "Home & cleaning",
    "home",
    (
        _leaf(
            "laundry-detergent",
            "洗衣液",
            "Laundry detergent",
            "stain-removal aroma gentleness rinsing lasting-scent value",
            (("洗衣液", "Laundry Liquid"), ("除菌洗衣液", "Antibacterial Laundry Liquid")),
            ("2kg", "3kg", "1kg×4|4 × 1kg"),
            (59, 19, 199),
            2.0,
        ),
        _leaf(
            "laundry-pods",
            "洗衣凝珠",
            "Laundry pods",
            "stain-removal aroma dissolving convenience child-safety value",
            (("洗衣凝珠", "Laundry Pods"), ("香氛洗衣凝珠", "Scented Laundry Pods")),
            ("30颗|30 pods", "52颗|52 pods"),
            (59, 19, 169),
            1.5,
        ),
        _leaf(
            "fabric-softener",
            "柔顺剂",
            "Fabric softener",
            "softness aroma lasting-scent anti-static gentleness value",
            (("衣物柔顺剂", "Fabric Softener"), ("留香珠", "Scent Booster Beads")),
            ("1L", "2.5L", "200g"),
            (49, 15, 139),
            1.0,
        ),
        _leaf(
            "dish-soap",
            "洗洁精",
            "Dish soap",
            "grease-cutting hand-friendly rinsing food-safe aroma value",
            (("洗洁精", "Dishwashing Liquid"), ("果蔬餐具净", "Produce & Dish Wash")),
            ("1kg", "1.5kg×2|2 × 1.5kg"),
            (29, 9, 89),
            1.0,
        ),
        _leaf(
            "kitchen-cleaner",
            "厨房清洁剂",
            "Kitchen cleaner",
            "grease-cutting speed spray-design smell surface-safety value",
            (("油污净", "Kitchen Degreaser"), ("泡沫清洁剂", "Foaming Kitchen Cleaner")),
            ("500ml", "500ml×2|2 × 500ml"),
            (35, 9, 99),
            0.8,
        ),
        _leaf(
            "toilet-cleaner",
            "洁厕剂",
            "Toilet cleaner",
            "cleanliness descaling odor-removal ease-of-use smell value",
            (("洁厕液", "Toilet Bowl Cleaner"), ("洁厕块", "In-Cistern Blocks")),
            ("500g×2|2 × 500g", "10块|10 blocks"),
            (29, 9, 89),
            0.8,
        ),
        _leaf(
            "floor-cleaner",
            "地板清洁剂",
            "Floor cleaner",
            "cleanliness streak-free aroma quick-drying pet-safety value",
            (("地板清洁剂", "Floor Cleaner"), ("扫地机器人专用清洁液", "Robot-Mop Solution")),
            ("1L", "2L"),
            (45, 12, 129),
            0.8,
        ),
        _leaf(
            "facial-tissue",
            "抽纸",
            "Facial tissue",
            "softness wet-strength sheet-thickness lint-free absorbency value",
            (("抽纸", "Facial Tissues"), ("乳霜纸", "Lotion Tissues")),
            ("24包|24 packs", "6包|6 packs", "40抽×10|10 × 40 sheets"),
            (49, 9, 129),
            1.5,
        ),
        _leaf(
            "wet-wipes",
            "湿巾",
            "Wet wipes",
            "moisture softness sheet-thickness ingredients lid-design value",
            (("湿巾", "Wet Wipes"), ("厨房湿巾", "Kitchen Wipes"), ("湿厕纸", "Flushable Wipes")),
            ("80抽×3|3 × 80", "40片×6|6 × 40"),
            (29, 9, 89),
            1.0,
        ),
        _leaf(
            "home-fragrance",
            "香薰",
            "Home fragrance",
            "aroma longevity diffusion naturalness bottle-design value",
            (("无火香薰", "Reed Diffuser"), ("香薰蜡烛", "Scented Candle")),
            ("150ml", "200g"),
            (129, 29, 580),
            1.2,
        ),
    ),
)

BABY = ParentSpec(
    "baby-maternity",
    "母婴",
    "Baby & maternity",
    "baby",
    (
        _leaf(
            "diapers",
            "纸尿裤",
            "Diapers",
            "absorbency leak-protection softness breathability rash-prevention fit value",
            (("纸尿裤", "Diapers"), ("拉拉裤", "Pull-Up Pants")),
            ("L 54片|L, 54 count", "XL 44片|XL, 44 count", "M 64片|M, 64 count"),
            (129, 39, 299),
            2.5,
        ),
        _leaf(
            "infant-formula",
            "婴儿奶粉",
            "Infant formula",
            "digestibility solubility baby-acceptance nutrition source-safety value",
            (
                ("婴儿配方奶粉 1段", "Infant Formula Stage 1"),
                ("较大婴儿配方奶粉 2段", "Follow-On Formula Stage 2"),
                ("幼儿配方奶粉 3段", "Toddler Formula Stage 3"),
            ),
            ("800g", "900g"),
            (329, 149, 699),
            2.5,
        ),
        _leaf(
            "baby-wipes",
            "婴儿湿巾",
            "Baby wipes",
            "gentleness moisture sheet-thickness ingredients lid-design value",
            (("婴儿手口湿巾", "Baby Hand & Mouth Wipes"), ("婴儿棉柔巾", "Baby Cotton Tissues")),
            ("80抽×6|6 × 80", "100抽×6|6 × 100"),
            (49, 15, 129),
            1.5,
        ),
        _leaf(
            "baby-skincare",
            "婴儿护肤",
            "Baby skincare",
            "moisturizing gentleness absorption ingredients aroma value",
            (("婴儿润肤乳", "Baby Lotion"), ("婴儿面霜", "Baby Face Cream"), ("婴儿抚触油", "Baby Massage Oil")),
            ("200ml", "50g"),
            (89, 25, 299),
            1.2,
        ),
        _leaf(
            "baby-bottles",
            "奶瓶",
            "Baby bottles",
            "anti-colic baby-acceptance easy-cleaning material-safety durability value",
            (("宽口径奶瓶", "Wide-Neck Bottle"), ("玻璃奶瓶", "Glass Baby Bottle"), ("PPSU奶瓶", "PPSU Baby Bottle")),
            ("160ml", "240ml", "300ml"),
            (129, 39, 359),
            1.0,
        ),
        _leaf(
            "baby-wash",
            "婴儿洗浴",
            "Baby wash",
            "tear-free gentleness cleanliness moisturizing aroma value",
            (("婴儿洗发沐浴二合一", "Baby 2-in-1 Wash"), ("婴儿泡泡浴", "Baby Bubble Bath")),
            ("300ml", "500ml"),
            (69, 19, 199),
            1.0,
        ),
        _leaf(
            "stretch-mark-care",
            "孕妇护肤",
            "Stretch-mark care",
            "prevention-effect absorption gentleness aroma texture value",
            (("妊娠纹霜", "Stretch-Mark Cream"), ("孕妇身体油", "Pregnancy Body Oil")),
            ("150ml", "100ml"),
            (199, 59, 599),
            0.8,
        ),
        _leaf(
            "baby-cereal",
            "婴儿米粉",
            "Baby cereal",
            "nutrition mouthfeel solubility baby-acceptance ingredients value",
            (("高铁米粉", "Iron-Fortified Rice Cereal"), ("有机米粉", "Organic Baby Cereal")),
            ("225g", "500g"),
            (79, 29, 199),
            1.0,
        ),
    ),
)

TAXONOMY: tuple[ParentSpec, ...] = (SKINCARE, MAKEUP, HAIR_CARE, BODY_CARE, ORAL_CARE, FOOD, BEVERAGES, HOME, BABY)

DOMAINS: tuple[str, ...] = ("beauty", "food", "home", "baby")


def leaves() -> list[tuple[ParentSpec, LeafSpec]]:
    """Every leaf with its parent, in tree order (the order their ids are given in)."""
    return [(parent, leaf) for parent in TAXONOMY for leaf in parent.leaves]
