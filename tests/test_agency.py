"""Agency attribution: one canonical name per agency, the provincial centre apart, no false agencies.

Real text: the hand-labelled sample of tests/data/agency_labels.tsv (100 Fars News articles and every
distinct non-Fars attribution phrase of the dump), the seed article, and the fixture pages.
"""

from __future__ import annotations

import json

import pytest

from conftest import DATA, NOW
from etl.clean import lead_agency as exported_lead_agency
from etl.clean.agency import agency_table, build_table, find_attribution, lead_agency
from etl.clean.article import clean_text, to_article
from etl.cli import main
from etl.config import ConfigError, parse_config
from etl.fetch.records import record_to_item
from etl.models import RawItem

# Phrases naming outlets the table does not list (a website, a newspaper, Fars's student club).
NOT_IN_TABLE = {"وبگاه خبری «قدس»", "دیلی‌میل", "توانا"}


@pytest.mark.parametrize("text, agency, centre", [
    # IRIB in the spellings the old reader stored as five different "agencies", and its centres
    ("به گزارش خبرگزاری صدا و سیما، وزیر", "صدا و سیما", None),
    ("به گزارش صدا، وزیر", "صدا و سیما", None),
    ("به گزارش صداوسیما، وزیر", "صدا و سیما", None),
    ("به گزارش صداوسیمای مرکز اصفهان، استاندار", "صدا و سیما", "اصفهان"),
    ("به گزارش صداو سیمای مرکز فارس، استاندار", "صدا و سیما", "فارس"),  # فارس the province, not Fars News
    ("به گزارش صداوسیم، وزیر", "صدا و سیما", None),
    ("به گزارش خبرگزاری صدا و سیمای مرکز خراسان رضوی، مدیر", "صدا و سیما", "خراسان رضوی"),
    ("به گزارش صدا و سیمای سیستان و بلوچستان، مدیر", "صدا و سیما", "سیستان و بلوچستان"),
    # typos of the outlet, long names, Arabic letters, ZWNJ in the lead-in
    ("به گزارش تابتاک، وزیر", "تابناک", None),
    ("به گزارش داشجو، وزیر", "دانشجو", None),
    ("به گزارش خبرگزاری جمهوری اسلامی (ایرنا)، وزیر", "ایرنا", None),
    ("به گزارش خبرگزاري دانشجويان ايران، وزیر", "ایسنا", None),
    ("به‌گزارش خبر آنلاین، وزیر", "خبرآنلاین", None),
    ("به گزارش باشگاه خبرنگاران جوان، وزیر", "باشگاه خبرنگاران جوان", None),
    ("به گزارش اقتصاد آنلاین، وزیر", "اقتصادآنلاین", None),
    ("به گزارش خبرنگار اقتصادی مهر، وزیر", "مهر", None),
    ("تهران - ایرنا - وزیر امور خارجه", "ایرنا", None),
    # not agencies: a country, a person, a press office, the province of Fars
    ("به گزارش عربستان، وزیر", None, None),
    ("به گزارش سمیر غضبان افزود، وزیر", None, None),
    ("به گزارش روابط عمومی استانداری فارس، وزیر", None, None),
    ("به گزارش روابط عمومی وزارت نیرو، مدیر", None, None),
])
def test_canonical_agency_and_centre(text, agency, centre):
    found = find_attribution(clean_text(text))
    assert found is not None
    assert (found.agency, found.centre) == (agency, centre)


def test_a_phrase_that_names_no_agency_is_kept_as_the_attribution_only():
    article = to_article(RawItem("x", title="t", body="به گزارش عربستان، وزیر نفت گفت تولید ثابت می‌ماند."), NOW)
    assert "agency" not in article.meta and article.meta["attribution"] == "عربستان"


# Real leads (tests/data/agency_leads.tsv: Varzesh3 and Fars News), one behaviour each.
@pytest.mark.parametrize("text, agency, kind", [
    # The reporting outlet may be a website, a newspaper or a broadcaster, not only an agency.
    ('به گزارش "ورزش سه"، استقلال در مرحله یک چهارم', "ورزش سه", "website"),
    ("به گزارش «تابناک»، تیم", "تابناک", "website"),
    ("به گزارش گل، او به این نکته اشاره کرد", "گل", "website"),
    ("به گزارش بی بی سی، وزیر", "بی‌بی‌سی", "broadcaster"),
    ("به گزارش خبرگزاری فرانسه از لندن، وزیر", "خبرگزاری فرانسه", "agency"),
    # The attribution names the outlet that reports, whatever it quotes after it.
    ('به گزارش "ورزش سه" و به نقل از فارس، تیم ملی والیبال', "ورزش سه", "website"),
    ('به گزارش "ورزش سه" از ایسنا، پرویز سیار', "ورزش سه", "website"),
    # Spellings read in the leads: curly quotes, no space, ZWNJ, a doubled letter, a typo'd به.
    ("به گزارش “ورزش سه”، صلاح", "ورزش سه", "website"),
    ('به گزارش"ورزش سه"، تیم ملی کره جنوبی', "ورزش سه", "website"),
    ('به گزارش "ورزش\u200cسه"، تیم', "ورزش سه", "website"),
    ('به گزارش "وررزش سه" و به نقل از فارس، تیم', "ورزش سه", "website"),
    ('یه گزارش "ورزش سه"، بهادر عبدی', "ورزش سه", "website"),
    ("به نقل فارس، علیاری در این دیدار", "فارس", "agency"),
    ("به گزارش صدا وسیما، وزیر", "صدا و سیما", "agency"),        # issue 23's leads
    ("به گزارش صدا و سیم ا، وزیر", "صدا و سیما", "agency"),
    # No comma after the name: only the first words are read.
    ('به گزارش "ورزش سه" کنفدراسیون فوتبال آسیا برنامه', "ورزش سه", "website"),
    ("به گزارش فارس خوزه از ساعت 8 صبح در ورزشگاه", "فارس", "agency"),
    ("خبرگزاری فارس،گروه اندیشه ـ محسن سلگی: گروهی در مباحثی", "فارس", "agency"),
])
def test_the_reporting_outlet_and_its_kind(text, agency, kind):
    found = find_attribution(clean_text(text))
    assert (found.agency, found.kind) == (agency, kind)
    meta = to_article(RawItem("x", title="t", body=text), NOW).meta
    assert (meta["agency"], meta["agency_kind"]) == (agency, kind)


@pytest.mark.parametrize("body, agency", [
    # The attribution decides: no name later in the lead replaces it, not even when it names none.
    ("به گزارش ایلنا، رئیس کانون گفت خبرگزاری میزان را تکذیب کرد.", "ایلنا"),
    ("به گزارش روابط عمومی باشگاه، قرارداد امضا شد.\nبه گزارش میزان، وزیر گفت.", None),
    ("به نقل از سایت باشگاه پرسپولیس، بازیکن گفت.\nدر گفت‌وگو با خبرنگار فارس گفت.", None),
    # An interview counts only when no attribution opens a line: the outlet that asked.
    ("مجتبی رمضان‌بیگی در گفت و گو با فارس، اظهار داشت: مهندس", "فارس"),
    ('رضا شاهرودی در گفتگو با "ورزش سه" در مورد آخرین شرایط تیم امید گفت', "ورزش سه"),
    ("محمد ترکاشوند به خبرنگار تسنیم اظهار داشت: فشار", "تسنیم"),
    ("کوهکن در گفت‌و‌گو با خبرنگار حوزه احزاب خبرگزاری فارس، از تغییر", "فارس"),  # حوزه, the beat
    ("او در گفتگو با سایت اختصاصی باشگاه بایرن گفت", None),                      # a club's site
    ("کلاه کج در گفت‌وگو با فارس اعلام کرده بود این تیم جباری را نمی‌خواهد.", None),  # an earlier interview
    # A sentence opening with an agency's name is no attribution; the one after it is.
    ('خبرگزاری Le10Sport مدعی شد که سرجیو آگوئرو، مهاجم\nبه گزارش "ورزش سه"، آگوئرو', "ورزش سه"),
])
def test_the_first_attribution_decides(body, agency):
    assert lead_agency(clean_text(body)) == agency


def _leads() -> list[list[str]]:
    lines = (DATA / "agency_leads.tsv").read_text(encoding="utf-8").splitlines()
    return [line.split("\t") for line in lines if line and not line.startswith("#")]


def test_the_unseen_leads_store_the_outlet_their_attribution_names():
    docs = {"varzesh3": json.loads((DATA / "varzesh3" / "varzesh3-1.json").read_text(encoding="utf-8")), "fars": []}
    for name in ("fars-news-1.json", "fars-news-2.json"):
        docs["fars"] += json.loads((DATA / "fars-news" / name).read_text(encoding="utf-8"))
    misses = []
    for kind, index, link, label, _ in _leads():
        agency = to_article(record_to_item(docs[kind][int(index)], link), NOW).meta.get("agency")
        if agency != (None if label == "-" else label):
            misses.append((kind, index, agency))
    # One lead names Fars in a sentence, not in an attribution phrase (its own podcast): none stored.
    assert misses == [("fars", "231", None)]


def test_the_centre_goes_to_its_own_key():
    article = to_article(RawItem("x", title="t", body="به گزارش صدا و سیمای مرکز فارس، استاندار گفت."), NOW)
    assert (article.meta["agency"], article.meta["agency_centre"]) == ("صدا و سیما", "فارس")


def test_the_attribution_after_the_lead_is_found():
    # A page's body now opens with its lead; the attribution opens the next paragraph.
    body = "وزیر نیرو از تکمیل سد خبر داد.\nبه گزارش ایسنا، وزیر نیرو امروز گفت سد تکمیل شد."
    assert lead_agency(body) == "ایسنا"


def _labels() -> list[list[str]]:
    lines = (DATA / "agency_labels.tsv").read_text(encoding="utf-8").splitlines()
    return [line.split("\t") for line in lines if line and not line.startswith("#")]


def test_the_labelled_fars_articles_are_attributed_to_fars():
    dump = {}
    for name in ("fars-news-1.json", "fars-news-2.json"):
        dump.update({a["link"]: a for a in json.loads((DATA / "fars-news" / name).read_text(encoding="utf-8"))})
    rows = [r for r in _labels() if r[0] == "article"]
    assert len(rows) == 100
    for _, link, _, label, _ in rows:
        article = to_article(record_to_item(dump[link], link), NOW)
        assert article.meta.get("agency") == label, link


def test_the_labelled_attribution_phrases():
    rows = [r for r in _labels() if r[0] == "phrase"]
    assert len(rows) > 60
    for _, _, phrase, label, _ in rows:
        if phrase in NOT_IN_TABLE:
            continue
        assert lead_agency(clean_text(f"به گزارش {phrase}، متن.")) == (None if label == "-" else label), phrase


def test_lead_agency_on_the_seed_article():
    # The seed is "date YYYY-MM-DD" then the body, which opens with the Mehr attribution.
    seed = next((DATA / "seed").glob("*.txt")).read_text(encoding="utf-8")
    body = seed.split(None, 2)[2]
    assert lead_agency(clean_text(body)) == "مهر"
    assert exported_lead_agency is lead_agency  # etl.clean still exports it


def test_the_table_is_extended_from_the_sources_file():
    data = {"agencies": {"خبرگزاری محلی": ["محلی نیوز"], "ایرنا": ["ایرتا"]},
            "sources": [{"name": "a", "kind": "files", "path": "x"}]}
    config = parse_config(data, "sources.toml")
    table = agency_table(config.agencies)
    assert lead_agency("به گزارش محلی نیوز، شهردار گفت", table) == "خبرگزاری محلی"
    assert lead_agency("به گزارش ایرتا، شهردار گفت", table) == "ایرنا"  # a typo added to a known agency
    assert lead_agency("به گزارش ایرنا، شهردار گفت", table) == "ایرنا"  # its own spellings stay
    assert lead_agency("به گزارش ایرتا، شهردار گفت") is None  # the bundled table alone


@pytest.mark.parametrize("agencies, message", [
    (["ایرنا"], "'agencies' must be a table"),
    ({"ایرنا": "ایرنا"}, "key 'ایرنا': must be a list of non-empty spellings"),
    ({"ایرنا": ["", "x"]}, "must be a list of non-empty spellings"),
])
def test_a_bad_agencies_table_is_one_clear_error(agencies, message):
    with pytest.raises(ConfigError, match=message):
        parse_config({"agencies": agencies}, "sources.toml")


def test_a_later_table_entry_wins_a_shared_spelling():
    table = build_table({"الف": ["مشترک"], "ب": ["مشترک"]})
    assert lead_agency("به گزارش مشترک، متن", table) == "ب"


def test_agency_in_show_search_and_export(db_url, tmp_path, capsys):
    dump = tmp_path / "dump.jsonl"
    records = [{"title": "استاندار فارس از پروژه‌های آبرسانی بازدید کرد", "url": "https://example.ir/news/1",
                "body": "به گزارش صدا و سیمای مرکز فارس، استاندار فارس امروز از پروژه‌های آبرسانی شیراز بازدید کرد."},
               {"title": "شهردار از طرح تازه گفت", "url": "https://example.ir/news/2",
                "body": "به گزارش محلی نیوز، شهردار امروز از طرح تازه آبرسانی شهر گفت."}]
    dump.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records), encoding="utf-8")
    config = tmp_path / "sources.toml"
    config.write_text('[agencies]\n"خبرگزاری محلی" = ["محلی نیوز"]\n\n[[sources]]\nname = "dump"\nkind = "files"\n'
                      f'path = "{dump}"\n', encoding="utf-8")
    cli = ["--database-url", db_url, "--config", str(config)]
    assert main([*cli, "backfill", str(dump), "--source", "dump", "--json"]) == 0
    capsys.readouterr()
    assert main([*cli, "search", "آبرسانی", "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert sorted(h["agency"] for h in hits) == ["خبرگزاری محلی", "صدا و سیما"]
    irib = next(h["id"] for h in hits if h["agency"] == "صدا و سیما")
    assert main([*cli, "show", str(irib)]) == 0
    assert "agency: صدا و سیما (centre: فارس)" in capsys.readouterr().out
    out = tmp_path / "out.jsonl"
    assert main([*cli, "export", "--format", "jsonl", "--output", str(out)]) == 0
    exported = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert sorted(e["agency"] for e in exported) == ["خبرگزاری محلی", "صدا و سیما"]
