"""Tiny fixture copies of every dataset format, written by the tests themselves (no ../shared).

``write_sources(root)`` lays out one folder per dataset the way the readers expect, each with a few
records and, where noted, one malformed record. ``write_heldout(root, sentences)`` writes a held-out
folder in the EcomGPT layout.
"""
from __future__ import annotations

import json
from pathlib import Path

# One malformed record is planted in each of these datasets.
MALFORMED = {"ecom_ner_zh", "online_shopping_10_cats_zh", "absa_products_zh", "ave_ae110k_oamine_en",
             "product_matching_wdc_en", "review_sentiment_uci_amazon_en", "absa_laptop_acos_aste_en",
             "product_categorization_mwpd_en", "ad_copy_advertisegen_zh"}

LEAK_EN = ("this phone has the best battery life i have ever seen in any phone that i owned before "
           "and i love it")
LEAK_ZH = "这个手机的电池续航时间非常长而且屏幕显示效果也很好我很喜欢"
SHARED_SENTENCE = "The keyboard is great but the battery life is short ."


def _w(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _jsonl(path: Path, rows: list, extra: str = "") -> None:
    _w(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows) + extra)


def _bieos(sentence: list[tuple[str, str]]) -> str:
    return "".join(f"{c}\t{t}\n" for c, t in sentence) + "\n"


def _tag(text: str, spans: dict[str, str]) -> list[tuple[str, str]]:
    """Char tags for ``text`` given {surface: type}."""
    tags = ["O"] * len(text)
    for surface, t in spans.items():
        i = text.find(surface)
        n = len(surface)
        for k in range(n):
            tags[i + k] = ("S" if n == 1 else "B" if k == 0 else "E" if k == n - 1 else "I") + "-" + t
    return list(zip(text, tags))


def write_sources(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    # ecom_ner_zh: char BIOES
    titles = [("飞利浦理发器配件刀座", {"飞利浦": "HP", "理发器": "HC"}),
              ("三只松鼠花草茶茶包", {"三只松鼠": "HP", "花草茶": "HC"}),
              ("欧达可编码开关二排六脚", {"欧达可": "HP", "编码开关": "HC"}),
              ("小米手机充电器快充", {"小米": "HP", "充电器": "HC"}),
              ("耐克运动鞋男款跑步鞋", {"耐克": "HP", "运动鞋": "HC"}),
              ("苹果平板电脑保护套", {"苹果": "HP", "保护套": "HC"}),
              ("华为蓝牙耳机无线", {"华为": "HP", "蓝牙耳机": "HC"})]
    _w(root / "ecom_ner_zh" / "train.txt.bieos", "".join(_bieos(_tag(t, s)) for t, s in titles)
       + "坏\n\n")   # malformed: no tag
    # online_shopping_10_cats_zh
    rows = ["cat,label,review", "书籍,1,这本书写得很好，值得一读。", "手机,0,手机用了三天就坏了，很失望。",
            "平板,1,平板屏幕清晰，运行流畅。", "水果,0,水果不新鲜，有烂的。", "酒店,1,酒店服务很周到。",
            f"手机,1,{LEAK_ZH}", "衣服,2,标签错误的一行"]   # last: malformed label
    _w(root / "online_shopping_10_cats_zh" / "online_shopping_10_cats.csv", "\n".join(rows) + "\n")
    # absa_products_zh: APC (char tokenised)
    _w(root / "absa_products_zh" / "apc" / "phone.train.txt",
       "$T$ 很 好\n屏 幕\nPositive\n屏 幕 很 好 ， $T$ 太 短\n续 航\nNegative\n"
       "$T$ 非 常 清 晰\n拍 照\nPositive\n没有标记的句子\n外观\nPositive\n")   # last: malformed (no $T$)
    # semeval16_absa_zh_phone_camera: XML with opinions
    _w(root / "semeval16_absa_zh_phone_camera" / "mobilephones_train_chinese.xml", """<?xml version="1.0"?>
<Reviews><Review rid="1"><sentences>
<sentence id="1:0"><text>真机重量比上一代轻了很多，</text><Opinions><Opinion category="PHONE#DESIGN_FEATURES" polarity="positive"/></Opinions></sentence>
<sentence id="1:1"><text>屏幕显示效果确实比上一代有进步，</text><Opinions><Opinion category="DISPLAY#QUALITY" polarity="positive"/></Opinions></sentence>
<sentence id="1:2"><text>电池不耐用，</text><Opinions><Opinion category="BATTERY#OPERATION_PERFORMANCE" polarity="negative"/></Opinions></sentence>
<sentence id="1:3"><text>今天拿到了手机，</text></sentence>
<sentence id="1:4"><text>相机拍照很清楚，</text><Opinions><Opinion category="CAMERA#QUALITY" polarity="positive"/></Opinions></sentence>
</sentences></Review></Reviews>""")
    # ad_copy_advertisegen_zh
    _jsonl(root / "ad_copy_advertisegen_zh" / "dev.jsonl", [
        {"instruction": "类型#上衣*材质#牛仔布*颜色#白色*风格#简约", "output": "简约的牛仔外套，白色的衣身十分百搭。"},
        {"instruction": "类型#裙*材质#雪纺*图案#刺绣", "output": "精致的刺绣装饰，选用轻盈的雪纺面料。"},
    ], extra='{"instruction": "没有井号", "output": "坏"}\n')
    # semeval_absa_laptops_en: 2014 terms (xml), 2015 opinions (xml), 2014 test (.seg)
    _w(root / "semeval_absa_laptops_en" / "semeval14" / "Laptop_Train_v2.xml", f"""<?xml version="1.0"?>
<sentences>
<sentence id="1"><text>I charge it at night and skip taking the cord with me because of the good battery life.</text>
<aspectTerms><aspectTerm term="cord" polarity="neutral" from="41" to="45"/><aspectTerm term="battery life" polarity="positive" from="74" to="86"/></aspectTerms></sentence>
<sentence id="2"><text>I bought a HP Pavilion laptop last year.</text></sentence>
<sentence id="3"><text>{SHARED_SENTENCE}</text>
<aspectTerms><aspectTerm term="keyboard" polarity="positive" from="4" to="12"/><aspectTerm term="battery life" polarity="negative" from="31" to="43"/></aspectTerms></sentence>
<sentence id="4"><text>The Retina display is bright.</text>
<aspectTerms><aspectTerm term="Retina display" polarity="positive" from="4" to="18"/></aspectTerms></sentence>
<sentence id="5"><text>The screen is dim and the keys stick.</text>
<aspectTerms><aspectTerm term="screen" polarity="negative" from="4" to="10"/><aspectTerm term="keys" polarity="negative" from="26" to="30"/></aspectTerms></sentence>
</sentences>""")
    _w(root / "semeval_absa_laptops_en" / "semeval15" / "ABSA-15_Laptops_Train_Data.xml", """<?xml version="1.0"?>
<Reviews><Review rid="1"><sentences>
<sentence id="1:0"><text>This computer is absolutely AMAZING!!!</text><Opinions><Opinion category="LAPTOP#GENERAL" polarity="positive"/></Opinions></sentence>
<sentence id="1:1"><text>10 plus hours of battery...</text><Opinions><Opinion category="BATTERY#OPERATION_PERFORMANCE" polarity="positive"/></Opinions></sentence>
<sentence id="1:2"><text>The screen is dim and the keys stick.</text><Opinions><Opinion category="DISPLAY#QUALITY" polarity="negative"/><Opinion category="KEYBOARD#QUALITY" polarity="negative"/></Opinions></sentence>
<sentence id="1:3"><text>I charge it at night and skip taking the cord with me because of the good battery life.</text><Opinions><Opinion category="BATTERY#OPERATION_PERFORMANCE" polarity="positive"/></Opinions></sentence>
<sentence id="1:4"><text>The Retina display is bright.</text><Opinions><Opinion category="DISPLAY#QUALITY" polarity="positive"/></Opinions></sentence>
</sentences></Review></Reviews>""")
    _w(root / "semeval_absa_laptops_en" / "semeval14" / "Laptops_Test_Gold.xml.seg",
       "$T$ is super fast , around 35 seconds .\nBoot time\n1\n$T$ would not fix the problem .\ntech support\n-1\n")
    # absa_laptop_acos_aste_en: ACOS jsonl + ASTE txt (ASTE repeats SHARED_SENTENCE: a cross-source duplicate)
    _jsonl(root / "absa_laptop_acos_aste_en" / "acos" / "laptop_quad_train.jsonl", [
        {"text": "acer wants $ 170 to just look at it .", "labels": [
            {"aspect": "acer", "opinion": "NULL", "polarity": "negative", "category": "COMPANY#PRICE"}]},
        {"text": "the display is beautiful and the keyboard is solid .", "labels": [
            {"aspect": "display", "opinion": "beautiful", "polarity": "positive", "category": "DISPLAY#DESIGN_FEATURES"},
            {"aspect": "keyboard", "opinion": "solid", "polarity": "positive", "category": "KEYBOARD#QUALITY"}]},
        {"text": "this laptop is fast .", "labels": [
            {"aspect": "laptop", "opinion": "fast", "polarity": "positive", "category": "LAPTOP#GENERAL"}]},
    ], extra='{"text": "broken", "labels": [{"aspect": "missing"}]}\n')
    _w(root / "absa_laptop_acos_aste_en" / "aste" / "laptop14_train.txt",
       f"{SHARED_SENTENCE}####[([1], [3], 'POS'), ([6, 7], [9], 'NEG')]\n")
    # absa_tv_tshirt_en: APC .seg
    _w(root / "absa_tv_tshirt_en" / "apc" / "Television_Train.xml.seg",
       "$T$ is really good.\npicture quality\nPositive\nthe $T$ is bad but picture quality is really good.\n"
       "sound\nNegative\nthe sound is bad but $T$ is really good.\npicture quality\nPositive\n")
    # customer_reviews_huliu_en
    _w(root / "customer_reviews_huliu_en" / "Canon_G3.txt",
       "*****\n* header\n*****\n[t]great camera\ncanon powershot g3[+3]##i recently purchased the canon "
       "powershot g3 and am extremely satisfied with the purchase .\nuse[+2]##the camera is very easy to use .\n"
       "##great job canon !\nviewfinder[-2]##* lens visible in optical viewfinder .\ncamera[+2][p]##overall i 'm happy .\n")
    # ave_ae110k_oamine_en and ave_wdc_pave_en
    ae = [{"input": "SEAPESCA Mini Crankbait Fishing Lure 40mm 3.5g YA24a", "category": "Lure",
           "target_scores": {"Brand Name": {"SEAPESCA": 1}, "Model Number": {"YA24a": 1}, "Material": {"n/a": 1}}},
          {"input": "Diesel Men's Exposure High-Top Sneaker", "category": "Shoes",
           "target_scores": {"Brand": {"Diesel": 1}, "Gender": {"Men's": 1}, "Shoe type": {"High-Top Sneaker": 1}}},
          {"input": "Ellie Shoes Women's 8400, Red Patent, 14 M US", "category": "Shoes",
           "target_scores": {"Brand": {"Ellie Shoes": 1}, "Gender": {"Women's": 1}, "Color": {"Red Patent": 1}}}]
    _jsonl(root / "ave_ae110k_oamine_en" / "ae-110k" / "train.jsonl", ae, extra="{not json\n")
    _jsonl(root / "ave_ae110k_oamine_en" / "ae-110k" / "train_0.2.jsonl", ae[:1])   # subset: skipped
    _jsonl(root / "ave_wdc_pave_en" / "wdc_with_all_attributes" / "train_large.jsonl", [
        {"id": 1, "category": "Office Products", "input_title": "Xerox TONER CARTRIDGE - XER106R01409",
         "input_description": "25K PAGE YIELD COLOR: Black",
         "target_scores": {"Page Yield": {"25K": {"pid": [1], "score": 1}}, "Brand": {"Xerox": {"pid": [0], "score": 1}},
                           "Color(s)": {"Black": {"pid": [1], "score": 1}}, "Width": {"n/a": 1}}},
        {"id": 2, "category": "Jewelry", "input_title": "Sterling Silver Angel Charm",
         "input_description": "This little angel charm is just heavenly",
         "target_scores": {"Material": {"Sterling Silver": {"pid": [0], "score": 1}}, "Product Type": {"Charm": {"pid": [0], "score": 1}}}},
    ])
    # product_matching_wdc_en / product_matching_magellan_en: Ditto
    wdc = ['COL title VAL "Nike Tiempo Genio II FG"\tCOL title VAL "Nike Tiempo Genio II Leather FG Black"\t1',
           'COL title VAL "Nike Tiempo Genio II FG"\tCOL title VAL "Puma evoPOWER 4.3 FG Blue"\t0',
           'COL title VAL "Puma evoSPEED 3.5 FG"\tCOL title VAL "Puma evoSPEED 3.5 Leather FG"\t1',
           'bad line without tabs']
    _w(root / "product_matching_wdc_en" / "shoes" / "train.txt.medium", "\n".join(wdc) + "\n")
    mag = ["COL title VAL sony cyber-shot dscw120p camera COL category VAL cameras COL brand VAL sony COL modelno VAL dscw120p COL price VAL 199.0 \t"
           "COL title VAL sony dsc-w120 pink COL category VAL digital cameras COL brand VAL sony COL modelno VAL  COL price VAL 189.0 \t1",
           "COL title VAL sony cyber-shot dscw120p camera COL category VAL cameras COL brand VAL sony COL modelno VAL dscw120p COL price VAL 199.0 \t"
           "COL title VAL canon powershot a590 COL category VAL digital cameras COL brand VAL canon COL modelno VAL  COL price VAL 99.0 \t0",
           "COL title VAL logitech m315 wireless mouse COL category VAL mice COL brand VAL logitech COL modelno VAL m315 COL price VAL 19.0 \t"
           "COL title VAL logitech m315 mouse blue COL category VAL computer mice COL brand VAL logitech COL modelno VAL  COL price VAL 18.0 \t1"]
    _w(root / "product_matching_magellan_en" / "Walmart-Amazon" / "train.txt", "\n".join(mag) + "\n")
    # product_categorization_mwpd_en
    _jsonl(root / "product_categorization_mwpd_en" / "train.json", [
        {"ID": "1", "Name": "Sterling Silver Angel Charm", "Description": "A charm", "lvl1": "64000000_Personal Accessories",
         "lvl2": "64010000_Personal Accessories", "lvl3": "64010100_Jewellery"},
        {"ID": "2", "Name": "HP Pavilion 23xi IPS Monitor", "Description": "Full HD", "lvl1": "65000000_Computing",
         "lvl2": "65010000_Computers/Video Games", "lvl3": "65010700_Computer/Video Game Peripherals"},
        {"ID": "3", "Name": "Mens Cotton T-Shirt", "Description": "", "lvl1": "67000000_Clothing",
         "lvl2": "67010000_Clothing", "lvl3": "67010800_Upper Body Wear/Tops"},
    ], extra='{"ID": "4", "Name": "no levels"}\n')
    # product_qa_cpqa_en
    _w(root / "product_qa_cpqa_en" / "hetPQA" / "answer_generation" / "train.csv",
       "ASIN\tquestion\tcandidate\tanswer\tsource\n"
       "B1\thow do these work on cookware?\tthe kit should not be used on cookware.\tthis should not be used on cookware.\tCQA\n")
    _w(root / "product_qa_cpqa_en" / "hetPQA" / "evidence_ranking" / "dev.csv",
       "qid\tASIN\tqa_pair_id\tquestion\tcandidate\tlabel\tsource\tconfidence\n"
       "1\tB2\t1\tit works with ipad air?\tfits ipad air and ipad 5\t1\tbullet\thigh\n"
       "1\tB2\t2\tit works with ipad air?\tis_electric: false\t0\tattribute\thigh\n")
    _w(root / "product_qa_cpqa_en" / "ePQA" / "dev.csv",
       "qid,question,ASIN,candidate,source,qa_pair_id,title,label,answer\n"
       '18,will this fit a frs20qrb?,B3,"this drawer should fit correctly.",cqa,1,Crisper Pan,2,The drawer will fit.\n'
       '18,will this fit a frs20qrb?,B3,"the color is white.",cqa,2,Crisper Pan,0,\n')
    # subjqa_products_en
    head = ("item_id,domain,nn_mod,nn_asp,query_mod,query_asp,q_review_id,q_reviews_id,question,question_subj_level,"
            "ques_subj_score,is_ques_subjective,review_id,review,human_ans_spans,human_ans_indices,answer_subj_level,"
            "ans_subj_score,is_ans_subjective\n")
    review1 = "The sound is great and the bass is deep. The battery lasts ten hours. ANSWERNOTFOUND"
    review2 = "I use it at the gym every day and it never falls out. ANSWERNOTFOUND"
    _w(root / "subjqa_products_en" / "electronics" / "train.csv", head +
       f'B1,electronics,a,b,c,d,q1,q2,How is the bass?,5,0.5,True,r1,"{review1}",the bass is deep,"(22, 38)",5,0.5,True\n'
       f'B1,electronics,a,b,c,d,q1,q2,How is the price?,1,0.0,False,r2,"{review2}",ANSWERNOTFOUND,"(56, 70)",1,0.0,False\n')
    # review_summ_fewsum_en
    cols = ["cat", "group_id"] + [f"rev{k}" for k in range(1, 9)] + [f"summ{k}" for k in range(1, 4)] + \
           [f"rating{k}" for k in range(1, 9)]
    vals = ["cloth", "B0040EIHQQ"] + [f"Review number {k} says the pendant is pretty." for k in range(1, 9)] + \
           ["A pretty pendant.", "Nice gift.", "Good value."] + ["5.0", "4.0", "1.0", "5.0", "3.0", "2.0", "4.0", "5.0"]
    _w(root / "review_summ_fewsum_en" / "train.csv", "\t".join(cols) + "\n" + "\t".join(vals) + "\n")
    # review_sentiment_uci_amazon_en (one duplicate line, one malformed label)
    _w(root / "review_sentiment_uci_amazon_en" / "amazon_cells_labelled.txt",
       "Good case, Excellent value.\t1\nGood case, Excellent value.\t1\nThe battery died in a week.\t0\n"
       f"{LEAK_EN}\t1\nno label here\tx\n")
    return root


def write_heldout(root: Path, sentences: list[str]) -> Path:
    task = root / "Lenovo" / "tasks" / "EN-Lenovo-NER-NER"
    task.mkdir(parents=True, exist_ok=True)
    (task / "test.json").write_text("".join(json.dumps({"sentences": s, "spans": []}, ensure_ascii=False) + "\n"
                                            for s in sentences), encoding="utf-8")
    (task / "meta-info.json").write_text("{}", encoding="utf-8")
    return root
