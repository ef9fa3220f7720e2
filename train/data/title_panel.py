"""A shop's attribute panel for a Chinese title: the block a title writer is given on a real store.

The Chinese titles of the corpus (ecom_ner_zh) carry only their brand and product entities, so the
model learned to write a title from one or two values and, given a store's full attribute panel,
copies every value into the title (item numbers, "否", after-sales terms). A panel built here holds
(in shuffled order):

- the title's own brand and product (the product under one of the names stores give it);
- the descriptive values the title states, found by the patterns of ``DESCRIPTIVE`` (year and
  season, season, who it is for, style, colour, material, size), under their usual attribute names;
- one to ``MAX_BOILERPLATE`` fields a title never repeats (``BOILERPLATE``: item number, origin,
  after-sales, yes/no fields, "see picture" colour), none of whose values is in the title.

So the title is written from the values it states, and the boilerplate is what it learns to leave out.
The panel is drawn with its own generator, seeded by the title, so that no other draft changes.
"""
from __future__ import annotations

import random
import re
import string
import zlib
from typing import Dict, List, Tuple

#: the share of Chinese title-writing instances whose block is a panel instead of brand + product
P_PANEL = 0.5
#: most boilerplate fields added to one panel
MAX_BOILERPLATE = 4
#: names a store gives the product-type field
PRODUCT_NAMES = ("产品", "品名", "类型", "款式")

#: (attribute name, pattern): a descriptive value a title states; group 0 is the value
DESCRIPTIVE: Tuple[Tuple[str, re.Pattern[str]], ...] = (
    ("上市年份季节", re.compile(r"20[0-3]\d年?(?:春|夏|秋|冬)季?")),
    ("适用季节", re.compile(r"春夏|秋冬|春秋|四季|(?<![0-9年])(?:春|夏|秋|冬)季")),
    ("适用对象", re.compile(r"男士|女士|男款|女款|儿童|宝宝|婴儿|学生|中老年|情侣|孕妇")),
    ("风格", re.compile(r"韩版|复古|简约|休闲|百搭|日系|欧美|中国风|新中式|北欧|轻奢|商务|国潮")),
    ("颜色", re.compile(r"[红橙黄绿青蓝紫黑白灰粉棕咖米金银]色")),
    ("材质", re.compile(r"纯棉|棉麻|真皮|牛皮|羊毛|羊绒|不锈钢|实木|陶瓷|玻璃|硅胶|亚麻|雪纺|蕾丝|铝合金")),
    ("规格", re.compile(r"(?<![0-9.])\d+(?:\.\d+)?(?:ml|mL|ML|kg|KG|g|L|cm|mm|W|w|V|v|GB|mAh|寸|米|片|只|支|瓶)")),
)

#: (attribute name, values): fields of a store panel that a title does not repeat
BOILERPLATE: Tuple[Tuple[str, Tuple[str, ...]], ...] = (
    ("产地", ("中国大陆", "浙江省", "广东省", "江苏省", "福建省", "山东省")),
    ("售后服务", ("店铺三包", "全国联保", "商家保修", "无")),
    ("是否商场同款", ("是", "否")),
    ("是否进口", ("是", "否")),
    ("颜色分类", ("图片色", "如图", "默认", "其他")),
    ("包装方式", ("包装", "散装", "其他")),
    ("货号", ()),
)


#: salt of the draw that decides whether a title gets a panel, apart from the panel's own draws
CHOICE_SALT = 0x5EED


def _title_rng(title: str, salt: int = 0) -> random.Random:
    """A generator seeded by the title alone (and ``salt``), so a title draws alike in every build."""
    return random.Random(zlib.crc32(title.encode("utf-8")) ^ salt)


def _item_number(rng: random.Random) -> str:
    """A store's item number: two or three capital letters and three to five digits."""
    letters = "".join(rng.choice(string.ascii_uppercase) for _ in range(rng.randint(2, 3)))
    return letters + "".join(rng.choice(string.digits) for _ in range(rng.randint(3, 5)))


def descriptive_values(title: str) -> Dict[str, str]:
    """The values of ``DESCRIPTIVE`` that ``title`` states, one per attribute (the first found),
    skipping a value another attribute already holds or contains."""
    found: Dict[str, str] = {}
    for name, pattern in DESCRIPTIVE:
        m = pattern.search(title)
        if m and not any(m.group(0) in v for v in found.values()):
            found[name] = m.group(0)
    return found


def panel(title: str, specs: Dict[str, str]) -> Dict[str, str]:
    """The store panel of ``title``, whose brand/product block is ``specs`` (see the module text)."""
    rng = _title_rng(title)
    fields: List[Tuple[str, str]] = [(rng.choice(PRODUCT_NAMES) if name == "产品" else name, value)
                                     for name, value in specs.items()]
    fields += descriptive_values(title).items()
    taken = {name for name, _ in fields}
    options = [(name, values) for name, values in BOILERPLATE if name not in taken]
    for name, values in rng.sample(options, min(len(options), rng.randint(1, MAX_BOILERPLATE))):
        value = rng.choice(values) if values else _item_number(rng)
        if value not in title:
            fields.append((name, value))
    rng.shuffle(fields)
    return dict(fields)


def wants_panel(title: str) -> bool:
    """Whether this title's writing instance gets a panel (``P_PANEL`` of them, fixed per title)."""
    return _title_rng(title, CHOICE_SALT).random() < P_PANEL
