"""The text catalogue (dashboard/domain/text.py) holds every word gridwatch shows: each in
Chinese and English, each used, none missing, no Chinese left in an English entry, and no
Chinese literal left in the layouts, callbacks and views outside it."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from dashboard.domain import catalog, text
from dashboard.domain.case_query import BASES
from dashboard.domain.hierarchy import LEVEL_EN, LEVEL_ZH
from dashboard.domain.metrics import METRICS, WALL_MAP
from dashboard.domain.ranking import SUB_SCORES
from dashboard.domain.states import EVENT_EN, EVENT_ZH, STATE_EN, STATE_ZH, Event, State
from dashboard.domain.walls import Refusal
from dashboard.views import audit_trail
from dashboard.views import case as case_view
from dashboard.views import kpi as kpi_view
from dashboard.views import region as region_view
from dashboard.views.url_state import PERIODS
from layouts import case as case_layout
from layouts import kpi as kpi_layout
from layouts import region as region_layout
from layouts import status as status_layout
from layouts import wall as wall_layout
from layouts.wall_panels import PANELS

ROOT = Path(__file__).resolve().parents[1]
CATALOGUE = ROOT / "dashboard" / "domain" / "text.py"
PYTHON = sorted(p for d in ("dashboard", "callbacks", "layouts") for p in (ROOT / d).rglob("*.py")
                if p != CATALOGUE)
SCRIPTS = sorted((ROOT / "assets").glob("*.js"))
# What asks for words: the code, and the catalogue's own helpers (time_left), not its entries.
SOURCE = "\n".join([*(p.read_text(encoding="utf-8") for p in PYTHON + SCRIPTS),
                    CATALOGUE.read_text(encoding="utf-8").split("\ndef problems(", 1)[1]])
# Ideographs and CJK / full-width punctuation (，。：；（）「」、).
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
PREFIXES = ("wall", "page", "kpi", "region", "case", "status", "error", "common", "auth",
            "admin", "audit")

# Keys the code builds from a name (f"wall.panel.{p.key}"), from the code's own lists where
# it has one, listed here where the list is written inline.
DYNAMIC = {
    "wall.panel": [p.key for p in PANELS],
    "wall.kpi": [*wall_layout.KPI_KEYS, *WALL_MAP],
    "wall.ticker": ["time", "no", "place", "category", "step", "left"],   # layouts/wall.py
    "wall.mix": ["source", "category"],                                   # wall_parts.mix_lists
    "wall.ranking": ["rank", "change", "name", "score", "lost", "on_time", "sat", "overdue"],
    "wall.lost": list(SUB_SCORES),
    "wall.badge": ["red", "yellow", "over"],                              # wall_parts.overdue_list
    "wall.source": ["database", "redis", "stream"],                       # wall_parts.freshness
    "wall.status": ["up", "live", "down", "lagging", "empty", "starting"],  # sources' states
    "wall.unit": ["day", "hour", "minute"],                               # text.duration
    "wall.hourly": ["y_in", "y_out", "t_in", "t_out"],                    # wall_charts.hourly_figure
    "page.period": list(PERIODS),
    "kpi.trend": list(kpi_layout.TRENDS),
    "kpi.head": [c for c in kpi_view.RANKING_COLUMNS if c not in kpi_view.POINTS.values()],
    "kpi.board": ["red", "black"],
    "region.sort": list(region_layout.SORT_LABELS.values()),
    "region.filter": ["state", "category", "source", "urgency"],          # layouts/region.py
    "region.col": ["id", *region_view.CASE_COLUMNS],
    "region.breakdown": list(region_view.BREAKDOWNS),
    "region.intake_by": list(region_view.BREAKDOWNS),
    "case.col": list(case_layout.EVENT_COLUMNS),
    "case.personal": list(case_view.PERSONAL_FIELDS),
    "case.field": ["category", "source", "urgency", "state", "reported_at", "sign_deadline",
                   "deadline", "time_status", "closed_at", "handler_level", "resolution_level",
                   "supervision", "rating", "counts"],                   # views/case.build
    "status.kpi": list(status_layout.KPI_CARDS),
    "status.state": list(status_layout.STATES),
    "status.skip": list(status_layout.SKIP_REASONS),
    "status.col": list(status_layout.STATUS_COLUMNS),
    "status.source": ["database", "redis", "stream", "skipped"],          # layouts/status.py
    "auth.account": ["username", "name", "role", "regions", "totp"],       # layouts/auth_pages.py
    "wall.disabled": [r.value for r in Refusal],                          # layouts/wall_notice.py
    "admin.col": ["username", "name", "role", "regions", "state", "password", "totp"],
    "audit.col": list(audit_trail.COLUMNS),
    "audit": ["newest", "newer", "older"],                                # audit_pages.pager
}
DYNAMIC_KEYS = {f"{prefix}.{name}" for prefix, names in DYNAMIC.items() for name in names}
# `error.<code>`: the message of a BadInput raised with that code.
BAD_INPUT_CODES = set(re.findall(r'BadInput\(\s*"([\w-]+)"', SOURCE))

# A Chinese literal in the layouts, callbacks or views outside the catalogue, and why it
# must stay. (Place-name suffixes and the urgency the screens mark live in the domain.)
ALLOWED_CJK: dict[tuple[str, str], str] = {}


def test_every_key_has_a_word_in_both_languages():
    assert text.problems(text.ENTRIES) == []
    assert set(text.TEXT["zh"]) == set(text.TEXT["en"]) == set(text.ENTRIES)
    assert all(key.split(".", 1)[0] in PREFIXES for key in text.ENTRIES)
    # The check the module runs on import catches a missing or empty word.
    assert text.problems({"x.a": ("字", ""), "x.b": ("字",), "x.c": ("字", "word")}) == [
        "x.a: a language has no word", "x.b: expected a (zh, en) pair"]


def test_every_key_is_used():
    def used(key: str) -> bool:
        if key in DYNAMIC_KEYS or f'"{key}"' in SOURCE or f"'{key}'" in SOURCE:
            return True
        return key.startswith("error.") and key.removeprefix("error.") in BAD_INPUT_CODES
    assert [key for key in text.ENTRIES if not used(key)] == []


def test_every_key_the_code_asks_for_exists():
    literal = re.compile(r"""["']((?:%s)\.[\w.\-]+)["']""" % "|".join(PREFIXES))
    asked = set(literal.findall(SOURCE)) | DYNAMIC_KEYS | {f"error.{c}" for c in BAD_INPUT_CODES}
    # Strings of that shape that are not catalogue keys (a column name, a dotted attribute).
    asked = {k for k in asked if not k.endswith(".") and not k.endswith(".py")}
    assert sorted(asked - set(text.ENTRIES)) == []
    assert BAD_INPUT_CODES >= {"bad-region", "unknown-region", "bad-date", "unknown-case"}


def test_english_entries_hold_no_chinese():
    # Place names reach an English screen through placeholders ({region}, {name}), never
    # through the catalogue.
    chinese = {key: en for key, (_zh, en) in text.ENTRIES.items() if CJK.search(en)}
    assert chinese == {}


def test_vocabularies_name_every_value_in_english():
    """The vocabularies that are data keep their words where they are defined, each
    value with an English name, none of which is Chinese."""
    assert set(STATE_EN) == set(STATE_ZH) == set(State)
    assert set(EVENT_EN) == set(EVENT_ZH) == set(Event)
    assert set(LEVEL_EN) == set(LEVEL_ZH)
    values = {
        "category": [*catalog.CATEGORIES, *(s for subs in catalog.CATEGORIES.values() for s in subs)],
        "source": list(catalog.SOURCES), "urgency": list(catalog.URGENCIES),
        "resolution level": list(catalog.RESOLUTION_LEVELS), "rating": list(catalog.RATINGS),
        "supervision": list(catalog.SUPERVISION_LEVELS),
        "time status": [*catalog.TIME_STATUS, *catalog.SETTLED_STATUS],
    }
    tables = {"category": catalog.CATEGORY_EN, "source": catalog.SOURCE_EN,
              "urgency": catalog.URGENCY_EN, "resolution level": catalog.RESOLUTION_LEVEL_EN,
              "rating": catalog.RATING_EN, "supervision": catalog.SUPERVISION_EN,
              "time status": catalog.TIME_STATUS_EN}
    for name, vocabulary in values.items():
        assert set(tables[name]) == set(vocabulary), name
    english = [*STATE_EN.values(), *EVENT_EN.values(), *LEVEL_EN.values(),
               *(w for table in tables.values() for w in table.values()),
               *(m.en for m in METRICS), *(en for _zh, en in SUB_SCORES.values()),
               *(en for _zh, en in BASES.values())]
    assert all(w.strip() and not CJK.search(w) for w in english)
    assert all(m.zh and m.en for m in METRICS)


def _chinese_literals(path: Path) -> list[tuple[int, str]]:
    """String constants with Chinese in a module, docstrings and comments aside."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in docstrings and CJK.search(node.value)]


@pytest.mark.parametrize("folder", ["layouts", "callbacks", "dashboard/views"])
def test_no_chinese_literal_outside_the_catalogue(folder):
    found = [f"{path.relative_to(ROOT)}:{line}: {value!r}"
             for path in sorted((ROOT / folder).rglob("*.py"))
             for line, value in _chinese_literals(path)
             if (str(path.relative_to(ROOT)), value) not in ALLOWED_CJK]
    assert found == []


def test_no_chinese_in_the_wall_script():
    # assets/wall.js reads its words from the page (layouts/wall.SCRIPT_WORDS).
    assert [p.name for p in SCRIPTS if CJK.search(p.read_text(encoding="utf-8"))] == []
    assert set(wall_layout.SCRIPT_WORDS) <= set(text.ENTRIES)


def test_t_fills_in_and_falls_back():
    assert text.t("wall.kpi.rated", "zh", n="1,234") == "评价 1,234 件"
    assert text.t("wall.kpi.rated", "en", n="1,234") == "1,234 rated"
    assert text.t("wall.title", "fr") == text.t("wall.title", "zh")  # a language we lack
    assert text.t("no.such.key", "en") == "no.such.key"              # shows itself, no crash
    assert text.t("error.unknown-region", "zh", code="330100", root_name="江苏省",
                  root_code="320000") == "未找到区划 330100，或它不在本系统（江苏省）的范围内"
