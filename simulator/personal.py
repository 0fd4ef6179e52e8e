"""Synthetic personal information for simulated cases: who reported it, their mobile, the
address, a description that fits the subcategory, and a point near the grid. *(model)*

None of it is real: names are drawn from weighted surname lists (复姓 included) and common
given-name characters, mobiles are 1[3-9]x-xxxx-xxxx from random digits, addresses are
built from the grid's real ancestors in the region tree ("…市…区…街道…社区…路12号3栋402室";
a village's "…村3组27号") with invented roads. DOMAIN.md's 重复投诉 needs people and
places that come back: a resident reporter is one seen recently in the same community at
REPEAT_REPORTER, and the address one reported recently there at REPEAT_ADDRESS; a grid
worker's patrol reports all carry that worker's name.

Seeding speed (issue 12 goal 7) is the seeder's own Python: a batch draws its random
numbers in a few numpy calls, and each case is then put together from precomputed
strings by indexing and concatenation, with no per-case formatting. Its own generator
(seeded from the simulator's seed) leaves the cases' other draws as they were.
"""
from __future__ import annotations

import bisect
import itertools
import zlib

import numpy as np

# Resident reports that come from a person who reported in the same community before, and
# that name an address reported there before (by someone else: neighbours complaining
# about the same thing). A community remembers its last RECENT people and addresses.
REPEAT_REPORTER = 0.08
REPEAT_ADDRESS = 0.06
RECENT = 24
# Sources whose cases have no person behind them (a camera, a sensor), and the one whose
# reporter is the grid's own worker on patrol.
NO_REPORTER = frozenset({"视频AI/物联感知"})
PATROL = "网格员巡查上报"
# Hotline and app reports that spell a call-back number in the description, and identity
# or social-insurance matters that quote an identity number in it.
PHONE_IN_TEXT = 0.12
ID_IN_TEXT = 0.25
ID_SUBCATEGORIES = frozenset({"证件办理", "社保服务"})
POINT_SIGMA = 0.002    # degrees (~200 m) around the grid's location

# Surnames with weights ~ their share of China's population (%, 2020 公安部 list,
# rounded); the 复姓 somewhat above their real ~0.1% in all so a demo shows some.
SURNAMES = {
    "王": 7.1, "李": 7.0, "张": 6.5, "刘": 5.4, "陈": 4.6, "杨": 3.1, "黄": 2.5, "赵": 2.2,
    "吴": 2.1, "周": 2.0, "徐": 1.7, "孙": 1.5, "马": 1.5, "朱": 1.3, "胡": 1.3, "郭": 1.2,
    "何": 1.2, "林": 1.1, "高": 1.1, "罗": 1.0, "郑": 0.9, "梁": 0.9, "谢": 0.8, "宋": 0.8,
    "唐": 0.8, "许": 0.7, "韩": 0.7, "冯": 0.7, "邓": 0.7, "曹": 0.7, "彭": 0.6, "曾": 0.6,
    "肖": 0.6, "田": 0.6, "董": 0.6, "袁": 0.5, "潘": 0.5, "于": 0.5, "蒋": 0.5, "蔡": 0.5,
    "余": 0.5, "杜": 0.5, "叶": 0.5, "程": 0.5, "苏": 0.4, "魏": 0.4, "吕": 0.4, "丁": 0.4,
    "任": 0.4, "沈": 0.4, "姚": 0.4, "卢": 0.4, "姜": 0.4, "崔": 0.4, "钟": 0.4, "谭": 0.3,
    "陆": 0.3, "汪": 0.3, "范": 0.3, "金": 0.3, "石": 0.3, "廖": 0.3, "贾": 0.3, "夏": 0.3,
    "韦": 0.3, "付": 0.3, "方": 0.3, "白": 0.3, "邹": 0.3, "孟": 0.3, "熊": 0.3, "秦": 0.3,
    "邱": 0.3, "江": 0.3, "尹": 0.3, "薛": 0.2, "闫": 0.2, "段": 0.2, "雷": 0.2, "侯": 0.2,
    "龙": 0.2, "史": 0.2, "陶": 0.2, "黎": 0.2, "贺": 0.2, "顾": 0.2, "毛": 0.2, "郝": 0.2,
    "龚": 0.2, "邵": 0.2, "万": 0.2, "钱": 0.2, "严": 0.2, "武": 0.2, "戴": 0.2, "孔": 0.2,
    "欧阳": 0.08, "司马": 0.03, "上官": 0.03, "诸葛": 0.03, "东方": 0.02, "皇甫": 0.02,
    "夏侯": 0.02, "慕容": 0.01, "公孙": 0.01, "令狐": 0.01, "尉迟": 0.01, "长孙": 0.01,
}
_MALE = "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆旭宁龙林阳建国峰亮成志海东文博晨昊轩睿泽"
_FEMALE = "芳娜敏静丽艳秀英霞燕玲桂兰萍红娟婷雪琳慧颖倩洁欣怡佳梦雅晶璐丹莉瑶琪萱涵"
# One given-name character for about a quarter of people, two for the rest.
SINGLE_GIVEN = 0.25
_GIVEN_ONE = tuple(_MALE + _FEMALE)
_GIVEN_TWO = tuple(a + b for chars in (_MALE, _FEMALE)
                   for a, b in itertools.product(chars, repeat=2) if a != b)
_MOBILE_HEADS = tuple(f"1{d}{e}" for d in "3456789" for e in "0123456789"
                      if (d, e) not in {("4", "0"), ("4", "1"), ("4", "2"), ("4", "3"),
                                        ("4", "4"), ("4", "8"), ("4", "9"), ("6", "0")})
_FOUR = tuple(f"{i:04d}" for i in range(10_000))
_ROAD_HEADS = ("中山", "人民", "解放", "建设", "和平", "长江", "黄河", "新华", "文化", "青年",
               "胜利", "友谊", "健康", "光明", "朝阳", "东风", "红旗", "迎宾", "学府", "体育",
               "工农", "滨河", "环城", "幸福", "振兴", "民主", "育才", "科技", "金山", "银河")
_ROAD_TAILS = ("路", "路", "路", "街", "大道", "东路", "西路", "南路", "北路", "巷")
ROADS_PER_COMMUNITY = 4
_HOUSE = tuple(f"{n}号" for n in range(1, 200))
_BUILDING = tuple(f"{n}栋" for n in range(1, 40))
_ROOM = tuple(f"{f}{r:02d}室" for f in range(1, 33) for r in range(1, 7))
_GROUP = tuple(f"{n}组" for n in range(1, 16))
_ID_CHECK = "10X98765432"
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)

# Descriptions by subcategory: (before, after) the place ("中山路12号附近", "东王庄村3组").
_TEXT = {
    "婚姻家庭邻里纠纷": [("", "一处楼道邻里因堆放杂物发生争执，双方情绪激动，请求调解。"),
                 ("家住", "的一户夫妻因家庭琐事多次争吵，邻居担心发生意外，请求网格员上门了解。")],
    "劳资纠纷": [("", "一小型装修公司拖欠十余名工人工资三个月，工人聚集讨薪，请求协调。")],
    "物业管理": [("", "小区物业长期不维修损坏的单元门禁，电梯频繁故障，业主意见较大。"),
             ("", "小区物业收费不公示，地下车库积水无人处理。")],
    "征地拆迁": [("", "部分拆迁户对补偿标准有异议，要求有关部门解释政策。")],
    "土地山林权属": [("", "两户村民因承包地边界不清发生纠纷，请求村委会协调。")],
    "医患纠纷": [("", "一名患者家属对社区卫生服务站诊疗结果不满，在站内吵闹。")],
    "村务管理": [("", "村民反映村务公开栏长期未更新，要求公开集体资金使用情况。")],
    "盗窃": [("", "夜间多辆电动自行车电瓶被盗，居民要求加强巡逻并调取监控。")],
    "赌博": [("", "一处棋牌室疑似聚众赌博，夜间人员进出频繁。")],
    "公共安全": [("", "一处窨井盖缺失，存在行人跌落隐患，已临时设置警示。"),
             ("", "路口护栏损坏，车辆行人混行，存在安全隐患。")],
    "消防安全": [("", "楼道内电动自行车充电、杂物堵塞消防通道，存在火灾隐患。"),
             ("", "沿街商铺私拉电线，灭火器过期。")],
    "安全生产": [("", "一家小作坊无证生产，现场堆放易燃物品。")],
    "食品卫生": [("", "一家早餐店卫生条件差，无健康证人员操作，群众投诉。")],
    "私搭乱建": [("", "一楼住户在公共绿地上违规搭建彩钢板房。"),
             ("", "楼顶违规加盖简易房，影响房屋安全。")],
    "暴露垃圾": [("", "垃圾桶满溢未及时清运，周边异味明显。"),
             ("", "路边堆放大量装修垃圾，无人清理。")],
    "占道经营": [("", "早晚有流动摊贩占道经营，影响车辆和行人通行。"),
             ("", "沿街店铺将商品摆放至人行道，占道经营。")],
    "道路不洁": [("", "路面油污、泥土较多，雨后泥泞难行。")],
    "机动车乱停放": [("", "机动车长期占用消防通道和人行道停放。")],
    "路面塌陷": [("", "路面出现约一平方米塌陷，已影响车辆通行，请尽快处置。")],
    "环境污染": [("", "附近河道水体发黑发臭，疑有污水直排。"),
             ("", "一家汽修店露天喷漆，废气刺鼻。")],
    "噪声扰民": [("", "夜间施工噪声扰民，影响周边居民休息。"),
             ("", "广场舞音响音量过大，持续至晚上十点后。")],
    "工地扬尘": [("", "建筑工地未覆盖裸土，大风天扬尘严重。")],
    "社保服务": [("家住", "的居民咨询单位社保断缴后如何补缴，以及医保报销比例。")],
    "医疗服务": [("", "社区卫生服务站就诊排队时间长，慢性病配药不便。")],
    "就业服务": [("家住", "的失业人员咨询就业培训和创业补贴申领条件。")],
    "住房服务": [("", "公租房申请进度查询，住户反映房屋漏水未维修。")],
    "证件办理": [("家住", "的居民咨询身份证补办和居住证办理所需材料。")],
    "公共事业": [("", "小区停水超过十二小时，未提前通知。"),
             ("", "路灯损坏多日不亮，夜间出行不便。")],
    "刑释人员": [("", "一名刑满释放人员返回居住地，网格员登记并开展帮扶。")],
    "社区矫正": [("", "社区矫正对象按期报到，网格员走访了解近况。")],
    "吸毒人员": [("", "网格员走访社区戒毒康复人员，了解就业和生活情况。")],
    "严重精神障碍患者": [("", "一名严重精神障碍患者近期未按时服药，家属请求协助送医。")],
    "重点青少年": [("", "一名辍学青少年长期在网吧逗留，家长请求帮助教育。")],
    "信访诉求": [("", "群众反映历史遗留的房屋产权问题，要求有关部门答复。")],
    "社情民意": [("", "沿线居民建议增设公交站点和公共停车位。"),
             ("", "群众建议在小区周边增设健身设施。")],
    "政策咨询": [("家住", "的居民咨询老年人高龄津贴申领政策。")],
    "突发事件报告": [("", "一处民房起火，已拨打119，现场有群众围观，请求支援。"),
               ("", "暴雨导致低洼处积水较深，车辆被困。")],
    "其他": [("", "群众反映其他事项，请求有关部门核实处理。")],
}
_FALLBACK_TEXT = _TEXT["其他"]


class _Place:
    """What a community's cases are built from: its address prefix and its roads (or its
    village's groups), and its recent people and addresses (shared by its grids). Slots:
    a province's first day makes ~20k of them, read on every case."""
    __slots__ = ("prefix", "village", "spots", "county_code", "people", "addresses")

    def __init__(self, prefix: str, village: bool, spots: tuple[str, ...], county_code: str):
        self.prefix = prefix                # "南京市玄武区梅园新村街道幸福苑社区"
        self.village = village
        self.spots = spots                  # roads (urban) or groups (village)
        self.county_code = county_code
        self.people: list = []              # recent (name, phone, address)
        self.addresses: list = []


class Batch:
    """One batch's random numbers (numpy), read case by case as Python lists."""

    def __init__(self, rng: np.random.Generator, n: int):
        u = rng.random((6, n)).tolist()
        self.u_person, self.u_address, self.u_pick, self.u_spot, self.u_text, self.u_id = u
        self.surname = rng.choice(len(_SURNAME_LIST), size=n, p=_SURNAME_P).tolist()
        self.given = (rng.random(n)).tolist()
        self.digits = rng.integers(0, 10_000, size=(3, n)).tolist()
        self.house = rng.integers(0, (len(_HOUSE), len(_BUILDING), len(_ROOM)),
                                  size=(n, 3)).T.tolist()
        self.jitter = (rng.standard_normal((2, n)) * POINT_SIGMA).tolist()


_SURNAME_LIST = tuple(SURNAMES)
_SURNAME_P = np.array(list(SURNAMES.values())) / sum(SURNAMES.values())
_SURNAME_CUM = np.cumsum(_SURNAME_P)[:-1].tolist()


def new_name(surname: int, u: float) -> str:
    if u < SINGLE_GIVEN:
        return _SURNAME_LIST[surname] + _GIVEN_ONE[int(u / SINGLE_GIVEN * len(_GIVEN_ONE))]
    u = (u - SINGLE_GIVEN) / (1 - SINGLE_GIVEN)
    return _SURNAME_LIST[surname] + _GIVEN_TWO[int(u * len(_GIVEN_TWO))]


def identity_number(county_code: str, u: float) -> str:
    """A well-formed 18-digit resident identity number (its check digit right) of someone
    born in that county between 1940 and 2005. Rare (a few identity matters), so built
    with formatting."""
    k = int(u * 66 * 365)
    year, day = 1940 + k // 365, k % 365
    month, mday = 1 + day // 31 % 12, 1 + day % 28
    body = f"{county_code[:6]}{year}{month:02d}{mday:02d}{k % 997:03d}"
    check = _ID_CHECK[sum(int(d) * w for d, w in zip(body, _ID_WEIGHTS)) % 11]
    return body + check


class PersonalData:
    """Fills the personal columns of new case rows, deterministically under `seed`."""

    def __init__(self, seed: int | None):
        self.seed = 0 if seed is None else seed
        # Apart from the cases' own generators: adding personal data moved no other draw.
        self.rng = np.random.default_rng(None if seed is None else [seed, 0x9E15])
        self._salt = zlib.crc32(f"gridwatch-personal:{self.seed}".encode())
        self._grids: dict[str, tuple] = {}              # (community's place, lon, lat)
        self._communities: dict[str, _Place] = {}
        self._workers: dict[str, tuple[str, str]] = {}
        self._names: dict[str, str] = {}     # the regions' names, by code

    def batch(self, n: int) -> Batch:
        return Batch(self.rng, n)

    def fill(self, row: dict, tree, b: Batch, i: int) -> None:
        """Set row's description, address, reporter, phone and point from draw i of b."""
        grid = self._grids.get(row["grid_code"])
        if grid is None:
            grid = self._grid(tree, row)
        place, lon, lat = grid
        source = row["source"]
        spot = place.spots[int(b.u_spot[i] * len(place.spots))]
        name = phone = address = None
        resident = source != PATROL and source not in NO_REPORTER
        if source == PATROL:
            name, phone = self._worker(row["grid_code"])
        elif resident and place.people and b.u_person[i] < REPEAT_REPORTER:
            name, phone, address = place.people[int(b.u_pick[i] * len(place.people))]
            resident = False    # already remembered
        elif resident:
            name = new_name(b.surname[i], b.given[i])
            d = b.digits
            phone = _MOBILE_HEADS[d[0][i] % len(_MOBILE_HEADS)] + _FOUR[d[1][i]] + _FOUR[d[2][i]]
        if address is None:
            if place.addresses and b.u_address[i] < REPEAT_ADDRESS:
                address = place.addresses[int(b.u_pick[i] * len(place.addresses))]
            else:
                h = b.house
                address = place.prefix + spot + _HOUSE[h[0][i]]
                if source != PATROL and name is not None and not place.village:  # a home
                    address = address + _BUILDING[h[1][i]] + _ROOM[h[2][i]]
                addresses = place.addresses
                addresses.append(address)
                if len(addresses) > RECENT:
                    del addresses[0]
        if resident:
            people = place.people
            people.append((name, phone, address))
            if len(people) > RECENT:
                del people[0]
        texts = _TEXT.get(row["subcategory"], _FALLBACK_TEXT)
        before, after = texts[int(b.u_text[i] * len(texts))]
        text = before + spot + after
        u = b.u_id[i]
        if source != PATROL and phone is not None and u < PHONE_IN_TEXT:
            text = text + "来电人要求回电，联系电话" + phone + "。"
        elif row["subcategory"] in ID_SUBCATEGORIES and u < ID_IN_TEXT:
            text = text + "身份证号" + identity_number(place.county_code, u / ID_IN_TEXT) + "。"
        row["description"] = text
        row["address"] = address
        row["reporter_name"] = name
        row["reporter_phone"] = phone
        if lon is not None:
            row["lon"] = lon + b.jitter[0][i]
            row["lat"] = lat + b.jitter[1][i]

    def _grid(self, tree, row: dict) -> tuple:
        """(its community's place, lon, lat) of the row's grid, met for the first time:
        a backfill of a province's first day meets ~26k grids in 30k cases, so this is
        kept to lookups and a few joins."""
        community_code = row["community_code"]
        place = self._communities.get(community_code)
        if place is None:
            place = self._community(tree, row)
        lon, lat = tree.point(row["grid_code"])
        grid = self._grids[row["grid_code"]] = (place, lon, lat)
        return grid

    def _community(self, tree, row: dict) -> _Place:
        community_code = row["community_code"]
        h = self._hash(community_code)
        names = [self._name(tree, code)   # a county-level city is its own county
                 for code in dict.fromkeys((row["city_code"], row["county_code"],
                                            row["township_code"], community_code))]
        if names[-1].endswith("村"):
            # "东王庄村3组": the description names the village with its group, so the
            # address prefix stops above it.
            place = _Place("".join(names[:-1]), True, tuple(
                names[-1] + g for g in _GROUP[:4 + h % (len(_GROUP) - 4)]), row["county_code"])
        else:
            place = _Place("".join(names), False, tuple(dict.fromkeys(
                _ROAD_HEADS[(h >> 5 * k) % len(_ROAD_HEADS)]
                + _ROAD_TAILS[(h >> 3 * k + 11) % len(_ROAD_TAILS)]
                for k in range(ROADS_PER_COMMUNITY))), row["county_code"])
        self._communities[community_code] = place
        return place

    def _worker(self, grid_code: str) -> tuple[str, str]:
        """The grid's worker (name, mobile): from a hash of its code, not a generator, so
        that a grid has the same worker in the backfill and in the live simulation."""
        worker = self._workers.get(grid_code)
        if worker is None:
            a = _spread(self._hash(grid_code))
            b = _spread(a)
            worker = self._workers[grid_code] = (
                new_name(bisect.bisect(_SURNAME_CUM, (a >> 32) / 2**32), (b >> 32) / 2**32),
                _MOBILE_HEADS[a % len(_MOBILE_HEADS)] + _FOUR[(a >> 8) % 10_000]
                + _FOUR[b % 10_000])
        return worker

    def _name(self, tree, code: str) -> str:
        name = self._names.get(code)
        if name is None:
            region = tree.get(code)
            name = self._names[code] = region.name if region is not None else ""
        return name

    def _hash(self, code: str) -> int:
        """A stable 32-bit number from a code (never Python's salted hash())."""
        return zlib.crc32(code.encode(), self._salt)


def _spread(x: int) -> int:
    """64 well-mixed bits from a number (splitmix64's finaliser): one hash of a grid's
    code gives its worker's surname, given name and mobile."""
    x = (x + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return x ^ (x >> 31)
