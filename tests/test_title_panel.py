"""The store panel of a Chinese title (train/data/title_panel.py): the title's own values, the
descriptive values it states, boilerplate it does not state; drawn per title, half of the titles."""
from __future__ import annotations

from ecomlm.train.data import title_panel

TITLE = "2021秋季新款韩版纯棉黑色卫衣女士宽松上衣500g"
BLOCK = {"品牌": "某某", "产品": "卫衣, 上衣"}


def test_descriptive_values_are_the_ones_the_title_states_under_their_attribute_names():
    found = title_panel.descriptive_values(TITLE)
    assert found == {"上市年份季节": "2021秋季", "适用对象": "女士", "风格": "韩版", "颜色": "黑色",
                     "材质": "纯棉", "规格": "500g"}
    # the season inside "2021秋季" is not asked a second time; a title without such words gives none
    assert "适用季节" not in found
    assert title_panel.descriptive_values("多业务光端机以太网光电收发器") == {}


def test_panel_holds_the_block_the_stated_values_and_boilerplate_the_title_leaves_out():
    kinds, sizes = set(), set()
    for i in range(40):
        title = f"{TITLE}{i}号"
        panel = title_panel.panel(title, BLOCK)
        assert panel == title_panel.panel(title, BLOCK)  # drawn per title
        product = [name for name in title_panel.PRODUCT_NAMES if panel.get(name) == BLOCK["产品"]]
        assert len(product) == 1 and panel["品牌"] == "某某"
        kinds.add(product[0])
        stated = title_panel.descriptive_values(title)
        assert all(panel[name] == value for name, value in stated.items())
        boilerplate = {name: v for name, v in panel.items()
                       if name not in stated and name != "品牌" and name != product[0]}
        assert len(boilerplate) <= title_panel.MAX_BOILERPLATE
        assert all(v not in title for v in boilerplate.values())
        assert set(boilerplate) <= {name for name, _ in title_panel.BOILERPLATE}
        sizes.add(len(boilerplate))
    assert len(kinds) > 1  # the product field goes under the names stores give it
    assert min(sizes) >= 1 and max(sizes) > 1


def test_about_half_of_the_titles_get_a_panel():
    share = sum(title_panel.wants_panel(f"{TITLE}{i}") for i in range(1000)) / 1000
    assert abs(share - title_panel.P_PANEL) < 0.05
