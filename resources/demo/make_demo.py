"""Write the demo catalogue, members and loyalty rules (deterministic: fixed seed, stdlib only).

Run ``python resources/demo/make_demo.py`` to regenerate catalogue.json, members.json and
loyalty.json beside this file; ``tests/unit/domain/test_demo_data.py`` checks that the files
are exactly what this script writes and that every record is valid.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

SEED = 20240101
HERE = Path(__file__).resolve().parent

# (name_zh, name_en, price_fen) per category; weighed items are priced per kg.
_EACH: dict[str, list[tuple[str, str, int]]] = {
    "drinks": [
        ("农夫山泉饮用天然水 550ml", "Nongfu Spring Water 550ml", 200),
        ("农夫山泉饮用天然水 1.5L", "Nongfu Spring Water 1.5L", 400),
        ("农夫山泉饮用天然水 4L", "Nongfu Spring Water 4L", 800),
        ("怡宝纯净水 555ml", "C'estbon Purified Water 555ml", 200),
        ("冰露纯净水 550ml", "Ice Dew Purified Water 550ml", 150),
        ("可口可乐 330ml 罐装", "Coca-Cola 330ml Can", 300),
        ("可口可乐 500ml", "Coca-Cola 500ml", 350),
        ("可口可乐 2L", "Coca-Cola 2L", 750),
        ("零度可口可乐 500ml", "Coca-Cola Zero 500ml", 350),
        ("百事可乐 500ml", "Pepsi 500ml", 350),
        ("雪碧 500ml", "Sprite 500ml", 350),
        ("芬达橙味汽水 500ml", "Fanta Orange 500ml", 350),
        ("康师傅冰红茶 500ml", "Master Kong Iced Black Tea 500ml", 300),
        ("康师傅绿茶 500ml", "Master Kong Green Tea 500ml", 300),
        ("统一冰红茶 500ml", "Uni-President Iced Black Tea 500ml", 300),
        ("统一阿萨姆奶茶 500ml", "Uni-President Assam Milk Tea 500ml", 400),
        ("王老吉凉茶 310ml", "Wong Lo Kat Herbal Tea 310ml", 350),
        ("加多宝凉茶 310ml", "JDB Herbal Tea 310ml", 350),
        ("红牛维生素功能饮料 250ml", "Red Bull Energy Drink 250ml", 600),
        ("东鹏特饮 500ml", "Eastroc Super Drink 500ml", 500),
        ("元气森林苏打气泡水 白桃味 480ml", "Genki Forest Sparkling Water White Peach 480ml", 550),
        ("元气森林苏打气泡水 青瓜味 480ml", "Genki Forest Sparkling Water Cucumber 480ml", 550),
        ("脉动维生素饮料 青柠味 600ml", "Mizone Vitamin Drink Lime 600ml", 500),
        ("美汁源果粒橙 420ml", "Minute Maid Pulpy Orange 420ml", 400),
        ("东方树叶茉莉花茶 500ml", "Oriental Leaf Jasmine Tea 500ml", 500),
        ("三得利乌龙茶 500ml", "Suntory Oolong Tea 500ml", 550),
        ("雀巢咖啡丝滑拿铁 268ml", "Nescafe Smooth Latte 268ml", 600),
        ("星巴克星冰乐 281ml", "Starbucks Frappuccino 281ml", 1100),
        ("维他柠檬茶 250ml", "Vita Lemon Tea 250ml", 350),
        ("椰树椰汁 245ml", "Coconut Palm Coconut Juice 245ml", 450),
        ("六个核桃 240ml", "Six Walnuts Walnut Drink 240ml", 400),
        ("农夫果园混合果汁 500ml", "Nongfu Orchard Mixed Juice 500ml", 550),
        ("百岁山矿泉水 570ml", "Ganten Mineral Water 570ml", 300),
        ("娃哈哈营养快线 500ml", "Wahaha Nutri-Express 500ml", 500),
        ("康师傅茉莉蜜茶 500ml", "Master Kong Jasmine Honey Tea 500ml", 300),
        ("农夫山泉茶π 柠檬红茶 500ml", "Nongfu Tea Pi Lemon Black Tea 500ml", 500),
        ("外星人电解质水 500ml", "Alienergy Electrolyte Water 500ml", 600),
    ],
    "dairy": [
        ("伊利纯牛奶 250ml", "Yili Pure Milk 250ml", 350),
        ("蒙牛纯牛奶 250ml", "Mengniu Pure Milk 250ml", 350),
        ("特仑苏纯牛奶 250ml", "Telunsu Premium Milk 250ml", 600),
        ("伊利安慕希希腊酸奶 205g", "Yili Ambrosial Greek Yogurt 205g", 650),
        ("蒙牛真果粒 250g", "Mengniu Fruit Milk Drink 250g", 450),
        ("光明莫斯利安酸奶 200g", "Bright Mosilian Yogurt 200g", 600),
        ("养乐多 100ml×5", "Yakult 100ml x5", 1050),
        ("旺仔牛奶 245ml", "Want Want Milk 245ml", 500),
        ("娃哈哈AD钙奶 220g×4", "Wahaha AD Calcium Milk 220g x4", 1000),
        ("君乐宝简醇酸奶 150g", "Junlebao Simply Yogurt 150g", 550),
        ("光明鲜牛奶 950ml", "Bright Fresh Milk 950ml", 1490),
    ],
    "instant_food": [
        ("康师傅红烧牛肉面 桶装", "Master Kong Braised Beef Noodles Cup", 500),
        ("康师傅红烧牛肉面 袋装", "Master Kong Braised Beef Noodles Bag", 300),
        ("康师傅香辣牛肉面 桶装", "Master Kong Spicy Beef Noodles Cup", 500),
        ("统一老坛酸菜牛肉面 桶装", "Uni-President Pickled Cabbage Beef Noodles Cup", 500),
        ("今麦郎一菜一面", "Jinmailang Veg & Noodles", 450),
        ("白象汤好喝老母鸡汤面", "Baixiang Hen Soup Noodles", 550),
        ("合味道海鲜风味杯面", "Cup Noodle Seafood", 600),
        ("汤达人日式豚骨拉面", "Tangdaren Tonkotsu Ramen", 650),
        ("螺霸王螺蛳粉 280g", "Luobawang River Snail Rice Noodles 280g", 1390),
        ("自嗨锅麻辣牛肉自热火锅", "Zihaiguo Spicy Beef Self-heating Hotpot", 2990),
        ("双汇王中王火腿肠 40g", "Shuanghui Ham Sausage 40g", 150),
        ("金锣火腿肠 10支装", "Jinluo Ham Sausage 10 pcs", 1200),
        ("梅林午餐肉 340g", "Maling Luncheon Meat 340g", 1650),
        ("乌江榨菜 80g", "Wujiang Pickled Mustard 80g", 250),
        ("八宝粥 360g", "Wahaha Eight-Treasure Porridge 360g", 450),
    ],
    "frozen": [
        ("三全水饺 猪肉白菜 500g", "Sanquan Dumplings Pork & Cabbage 500g", 1590),
        ("思念黑芝麻汤圆 400g", "Synear Black Sesame Tangyuan 400g", 1290),
        ("湾仔码头玉米猪肉水饺 720g", "Wanchai Ferry Corn & Pork Dumplings 720g", 2590),
        ("伊利巧乐兹雪糕", "Yili Qiaolezi Ice Cream Bar", 500),
        ("和路雪可爱多甜筒", "Wall's Cornetto", 600),
        ("钟薛高丝绒可可", "Chicecream Velvet Cocoa", 1800),
    ],
    "condiments": [
        ("老干妈风味豆豉油辣椒 280g", "Lao Gan Ma Chili Crisp 280g", 1050),
        ("海天金标生抽 500ml", "Haitian Gold Label Soy Sauce 500ml", 990),
        ("李锦记旧庄蚝油 510g", "Lee Kum Kee Oyster Sauce 510g", 1290),
        ("恒顺镇江香醋 500ml", "Hengshun Zhenjiang Vinegar 500ml", 690),
        ("太太乐鸡精 200g", "Totole Chicken Powder 200g", 890),
        ("金龙鱼调和油 1.8L", "Arawana Blended Oil 1.8L", 2990),
        ("鲁花花生油 1L", "Luhua Peanut Oil 1L", 3290),
        ("福临门东北大米 5kg", "Fortune Northeast Rice 5kg", 3990),
        ("加碘精制盐 400g", "Iodized Table Salt 400g", 250),
        ("白砂糖 500g", "White Sugar 500g", 590),
        ("王守义十三香 45g", "Wangshouyi Thirteen Spices 45g", 450),
    ],
    "snacks": [
        ("乐事原味薯片 70g", "Lay's Classic Chips 70g", 750),
        ("乐事黄瓜味薯片 70g", "Lay's Cucumber Chips 70g", 750),
        ("乐事番茄味薯片 70g", "Lay's Tomato Chips 70g", 750),
        ("品客原味薯片 110g", "Pringles Original 110g", 1290),
        ("好丽友巧克力派 6枚", "Orion Choco Pie 6 pcs", 1290),
        ("奥利奥夹心饼干 116g", "Oreo Cookies 116g", 790),
        ("旺旺雪饼 84g", "Want Want Rice Crackers 84g", 650),
        ("旺旺仙贝 52g", "Want Want Senbei 52g", 550),
        ("卫龙大面筋 102g", "Weilong Spicy Gluten Strips 102g", 550),
        ("卫龙魔芋爽 香辣味", "Weilong Spicy Konjac", 650),
        ("三只松鼠每日坚果 175g", "Three Squirrels Daily Nuts 175g", 1990),
        ("良品铺子猪肉脯 100g", "Bestore Pork Jerky 100g", 2290),
        ("洽洽香瓜子 260g", "ChaCha Sunflower Seeds 260g", 990),
        ("徐福记沙琪玛 469g", "Hsu Fu Chi Sachima 469g", 1290),
        ("达利园蛋黄派 300g", "Daliyuan Egg Yolk Pie 300g", 1290),
        ("友臣肉松饼 208g", "Youchen Pork Floss Cake 208g", 1690),
        ("上好佳鲜虾片 40g", "Oishi Prawn Crackers 40g", 450),
        ("可比克薯片 45g", "Copico Potato Chips 45g", 450),
        ("浪味仙 田园蔬菜味 70g", "Lonely God Veggie Puffs 70g", 550),
        ("周黑鸭鸭脖 200g", "Zhou Hei Ya Duck Neck 200g", 2590),
        ("有友泡椒凤爪 100g", "Youyou Pickled Pepper Chicken Feet 100g", 590),
        ("康师傅3+2苏打夹心饼干", "Master Kong 3+2 Soda Crackers", 690),
        ("百草味芒果干 120g", "Be&Cheery Dried Mango 120g", 1590),
        ("口水娃兰花豆 228g", "Koushuiwa Broad Beans 228g", 890),
        ("盐津铺子鹌鹑蛋 20枚", "Yanjin Quail Eggs 20 pcs", 1290),
        ("乐事大波浪薯片 烤肉味 70g", "Lay's Wavy Chips BBQ 70g", 800),
        ("奇多粟米棒 90g", "Cheetos Corn Sticks 90g", 650),
        ("米老头青稞米饼 150g", "Milaotou Barley Rice Cakes 150g", 890),
        ("亲亲虾条 40g", "QinQin Shrimp Sticks 40g", 350),
        ("旺仔小馒头 100g", "Want Want Baby Buns 100g", 650),
    ],
    "bakery": [
        ("桃李醇熟面包 180g", "Taoli Soft White Bread 180g", 590),
        ("曼可顿全麦面包 400g", "Mankattan Whole Wheat Bread 400g", 990),
        ("盼盼法式小面包 200g", "Panpan French Bread Rolls 200g", 1590),
        ("宾堡吐司 400g", "Bimbo Toast 400g", 1190),
        ("港荣蒸蛋糕 480g", "Gangrong Steamed Cake 480g", 1990),
    ],
    "confectionery": [
        ("德芙丝滑牛奶巧克力 43g", "Dove Silky Milk Chocolate 43g", 990),
        ("士力架花生夹心巧克力 51g", "Snickers 51g", 650),
        ("益达木糖醇口香糖 40粒", "Extra Xylitol Gum 40 pcs", 1190),
        ("绿箭口香糖 5片", "Doublemint Gum 5 sticks", 350),
        ("大白兔奶糖 227g", "White Rabbit Creamy Candy 227g", 1990),
        ("阿尔卑斯棒棒糖", "Alpenliebe Lollipop", 100),
        ("旺仔QQ糖 70g", "Want Want QQ Gummies 70g", 350),
        ("费列罗榛果威化巧克力 3粒", "Ferrero Rocher 3 pcs", 1590),
        ("彩虹糖 40g", "Skittles 40g", 450),
        ("曼妥思薄荷糖 37.5g", "Mentos Mint 37.5g", 350),
    ],
    "alcohol": [
        ("青岛啤酒经典 500ml", "Tsingtao Classic Beer 500ml", 600),
        ("雪花勇闯天涯 500ml", "Snow Beer Brave the World 500ml", 500),
        ("百威啤酒 500ml", "Budweiser 500ml", 700),
        ("哈尔滨啤酒 500ml", "Harbin Beer 500ml", 500),
        ("燕京啤酒 500ml", "Yanjing Beer 500ml", 450),
        ("红星二锅头 500ml", "Red Star Erguotou 500ml", 1600),
        ("牛栏山陈酿二锅头 500ml", "Niulanshan Aged Erguotou 500ml", 1500),
        ("江小白 100ml", "Jiang Xiao Bai Baijiu 100ml", 2200),
        ("RIO微醺鸡尾酒 330ml", "RIO Cocktail 330ml", 650),
        ("长城干红葡萄酒 750ml", "Great Wall Dry Red Wine 750ml", 6800),
    ],
    "household": [
        ("维达抽纸 3层100抽", "Vinda Facial Tissue 3-ply 100 pulls", 590),
        ("清风卷纸 10卷", "Breeze Toilet Rolls 10 pcs", 2990),
        ("心相印手帕纸 10包", "Hearttex Pocket Tissues 10 packs", 690),
        ("蓝月亮深层洁净洗衣液 1kg", "Bluemoon Deep Clean Laundry Liquid 1kg", 2990),
        ("立白洗洁精 1.1kg", "Liby Dishwashing Liquid 1.1kg", 1290),
        ("威露士消毒液 1L", "Walch Disinfectant 1L", 2590),
        ("雕牌洗衣粉 1.5kg", "Diaopai Laundry Powder 1.5kg", 1590),
        ("加厚垃圾袋 50只", "Heavy Duty Garbage Bags 50 pcs", 690),
        ("一次性筷子 50双", "Disposable Chopsticks 50 pairs", 590),
        ("南孚5号电池 2粒", "Nanfu AA Batteries 2 pcs", 990),
        ("打火机", "Lighter", 200),
        ("三折晴雨伞", "Folding Umbrella", 2990),
        ("保鲜膜 30m", "Cling Film 30m", 1190),
        ("湿巾 80片", "Wet Wipes 80 pcs", 990),
        ("蚊香 10盘", "Mosquito Coils 10 pcs", 890),
        ("环保购物袋", "Shopping Bag", 30),
    ],
    "personal_care": [
        ("高露洁防蛀牙膏 120g", "Colgate Cavity Protection Toothpaste 120g", 1290),
        ("云南白药牙膏 150g", "Yunnan Baiyao Toothpaste 150g", 2990),
        ("佳洁士软毛牙刷", "Crest Soft Toothbrush", 890),
        ("海飞丝去屑洗发水 200ml", "Head & Shoulders Shampoo 200ml", 3290),
        ("飘柔洗发水 200ml", "Rejoice Shampoo 200ml", 2490),
        ("舒肤佳香皂 108g", "Safeguard Bar Soap 108g", 490),
        ("六神花露水 195ml", "Liushen Floral Water 195ml", 1390),
        ("妮维雅男士洁面乳 100g", "Nivea Men Face Wash 100g", 3990),
        ("苏菲日用卫生巾 10片", "Sofy Day Pads 10 pcs", 1590),
        ("杜蕾斯安全套 3只", "Durex Condoms 3 pcs", 2990),
        ("邦迪创可贴 20片", "Band-Aid Bandages 20 pcs", 790),
        ("一次性医用口罩 10只", "Disposable Face Masks 10 pcs", 990),
        ("曼秀雷敦润唇膏 3.5g", "Mentholatum Lip Balm 3.5g", 2190),
        ("黑人牙膏 140g", "Darlie Toothpaste 140g", 1390),
        ("隆力奇蛇油护手霜 50g", "Longrich Snake Oil Hand Cream 50g", 590),
    ],
    "stationery": [
        ("晨光中性笔 0.5mm", "M&G Gel Pen 0.5mm", 200),
        ("得力笔记本 A5", "Deli Notebook A5", 590),
        ("透明胶带", "Clear Tape", 350),
    ],
    "ready_meals": [
        ("茶叶蛋", "Tea Egg", 200),
        ("鲜肉包", "Pork Bun", 250),
        ("金枪鱼饭团", "Tuna Rice Ball", 650),
        ("火腿鸡蛋三明治", "Ham & Egg Sandwich", 890),
        ("照烧鸡腿便当", "Teriyaki Chicken Bento", 1800),
        ("台式烤肠", "Grilled Sausage", 400),
        ("关东煮 萝卜", "Oden Radish", 200),
        ("热狗", "Hot Dog", 600),
        ("卤蛋", "Braised Egg", 300),
    ],
    "tobacco": [
        ("中华(硬)", "Chunghwa Hard Pack", 4500),
        ("中华(软)", "Chunghwa Soft Pack", 6500),
        ("玉溪(软)", "Yuxi Soft Pack", 2300),
        ("黄鹤楼(软蓝)", "Huanghelou Soft Blue", 1900),
        ("云烟(紫)", "Yunyan Purple", 1100),
        ("芙蓉王(硬)", "Furongwang Hard Pack", 2500),
        ("利群(新版)", "Liqun New", 1500),
        ("南京(红)", "Nanjing Red", 1200),
        ("红塔山(经典)", "Hongtashan Classic", 1000),
        ("七匹狼(白)", "Septwolves White", 1500),
    ],
    "gift_card": [
        ("便利店礼品卡 ¥50", "Store Gift Card ¥50", 5000),
        ("便利店礼品卡 ¥100", "Store Gift Card ¥100", 10000),
        ("便利店礼品卡 ¥200", "Store Gift Card ¥200", 20000),
        ("交通卡充值 ¥50", "Transit Card Top-up ¥50", 5000),
    ],
}

_WEIGHED: list[tuple[str, str, int]] = [
    ("红富士苹果(散装)", "Fuji Apples (loose)", 1298),
    ("香蕉(散装)", "Bananas (loose)", 698),
    ("砂糖橘(散装)", "Sugar Mandarins (loose)", 998),
    ("巨峰葡萄(散装)", "Kyoho Grapes (loose)", 1598),
    ("麒麟西瓜(散装)", "Watermelon (loose)", 398),
    ("糖炒栗子(散装)", "Roasted Chestnuts (loose)", 3990),
    ("五香瓜子(散装)", "Spiced Sunflower Seeds (loose)", 2990),
    ("土鸡蛋(散装)", "Free-range Eggs (loose)", 1196),
]

POINTS_EXCLUDED_CATEGORIES = ("tobacco", "gift_card")

LOYALTY = {
    "points_per_yuan": 1,
    "level_multiplier_pct": {"SILVER": 100, "GOLD": 150, "PLATINUM": 200},
    "excluded_categories": list(POINTS_EXCLUDED_CATEGORIES),
    "redeem_points_per_yuan": 100,
    "redeem_cap_pct": 50,
    "redeem_min_balance": 100,
    "redeem_step_points": 100,
}

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈"
_GIVEN = ["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
          "超", "秀兰", "霞", "平", "刚", "桂英", "建华", "文", "华", "红", "志强", "晓明", "婷", "雪", "鹏",
          "浩然", "子涵", "欣怡", "梓轩", "一诺", "思远", "雨桐", "宇航"]
_LEVELS = (("SILVER", 25, 0, 3000), ("GOLD", 15, 500, 12000), ("PLATINUM", 10, 3000, 60000))


def gtin_check_digit(body: str) -> int:
    """GS1 mod-10 check digit (weights 3,1,... from the right)."""
    total = sum(int(c) * (3 if i % 2 == 0 else 1) for i, c in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def make_catalogue(rng: random.Random) -> list[dict[str, object]]:
    """About 200 items: Chinese GS1 codes (690-699) and a few weighed in-store items (prefix 23)."""
    items: list[dict[str, object]] = []
    used: set[str] = set()
    sku = 0
    for category, products in _EACH.items():
        # one manufacturer-like block of codes per category keeps codes realistic (same company prefix)
        company = f"69{rng.randint(0, 9)}{rng.randint(0, 9999):04d}"
        for name_zh, name_en, price in products:
            while True:
                body = company + f"{rng.randint(0, 99999):05d}"
                code = body + str(gtin_check_digit(body))
                if code not in used:
                    break
            used.add(code)
            sku += 1
            items.append({
                "code": code, "name_zh": name_zh, "name_en": name_en, "price_fen": price, "unit": "each",
                "category": category, "points_excluded": category in POINTS_EXCLUDED_CATEGORIES,
                "sku": f"SKU{sku:05d}",
            })
    for number, (name_zh, name_en, price) in enumerate(_WEIGHED, start=101):
        body = f"23{number:05d}00000"
        sku += 1
        items.append({
            "code": body + str(gtin_check_digit(body)), "name_zh": name_zh, "name_en": name_en,
            "price_fen": price, "unit": "kg", "category": "fresh", "points_excluded": False,
            "sku": f"SKU{sku:05d}",
        })
    return items


def make_members(rng: random.Random) -> list[dict[str, object]]:
    """50 members across SILVER/GOLD/PLATINUM with 8800... card numbers and mobile numbers."""
    members: list[dict[str, object]] = []
    cards: set[str] = set()
    phones: set[str] = set()
    for level, count, low, high in _LEVELS:
        for _ in range(count):
            card = "8800" + f"{rng.randint(0, 10**12 - 1):012d}"
            phone = "1" + rng.choice("3456789") + f"{rng.randint(0, 10**9 - 1):09d}"
            if card in cards or phone in phones:  # pragma: no cover - astronomically unlikely
                raise RuntimeError("duplicate demo card or phone; change the seed")
            cards.add(card)
            phones.add(phone)
            points = rng.randint(low // 10, high // 10) * 10
            members.append({
                "card_no": card, "name": rng.choice(_SURNAMES) + rng.choice(_GIVEN), "phone": phone,
                "level": level, "points": points,
            })
    members[0]["points"] = 0  # one member with nothing to redeem
    return members


def write_json(path: Path, data: object) -> None:
    """UTF-8 JSON, stable formatting, trailing newline."""
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def main(out_dir: Path = HERE) -> None:
    """Write the three files into ``out_dir``."""
    rng = random.Random(SEED)
    write_json(out_dir / "catalogue.json", make_catalogue(rng))
    write_json(out_dir / "members.json", make_members(rng))
    write_json(out_dir / "loyalty.json", LOYALTY)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
