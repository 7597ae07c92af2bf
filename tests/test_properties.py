"""Property tests (hypothesis): readers never raise on arbitrary bytes, the cleaner never emits
NUL, lone surrogates or control characters and is idempotent, the date parser never raises."""

from __future__ import annotations

import io
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import NOW
from etl.clean.article import clean_text, to_article
from etl.clean.controls import clean_controls, has_controls
from etl.clean.dates import parse_date, parse_date_info
from etl.fetch.files import parse_stream
from etl.fetch.limits import Limits
from etl.models import Article, ItemError, RawItem, Skipped

# Every code point, surrogates and controls included, weighted towards what attacks use.
ANY_CHAR = st.one_of(st.characters(codec=None), st.integers(0xD800, 0xDFFF).map(chr),  # lone surrogates
                    st.integers(0, 0x1F).map(chr), st.integers(0x7F, 0x9F).map(chr))  # C0, DEL, C1
HOSTILE_CHAR = st.sampled_from(["\x00", "\x1b", "\x07", "\r", "\x85", "\x9b", "\ud800", "\udfff", "\u200c",
                                "\u200d", "\u200e", "\u202b", "\ufeff", "&#0;", "&#55296;", "<p>", "</div>", " ",
                                "\n", "\t", "ي", "ك", "می", "ها", "a"])
TEXT = st.lists(st.one_of(ANY_CHAR, HOSTILE_CHAR), max_size=60).map("".join)
# Bytes that look a little like each format, so parsers get past their first check.
STRUCTURE = st.sampled_from([b"{", b"}", b"[", b"]", b'"', b"\\", b",", b":", b"\n", b"\r\n", b"\xff",
                             b"\xd8\xa7", b"\xd8", b"title", b"body", b'"articles":', b"<rss>", b"<item>",
                             b"\x00", b"1", b" ", b"\xef\xbb\xbf", b'"t"'])
BYTES = st.one_of(st.binary(max_size=300), st.lists(STRUCTURE, max_size=80).map(b"".join))
NAMES = st.sampled_from(["a.jsonl", "a.json", "a.csv", "a.tsv", "a.txt", "a.xml", "noext"])
SMALL = Limits(record_bytes=64, depth=4)
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=BYTES, name=NAMES, small=st.booleans())
def test_readers_never_raise_on_arbitrary_bytes(data, name, small):
    found = list(parse_stream(io.BytesIO(data), name, SMALL if small else Limits()))
    assert all(isinstance(x, (RawItem, ItemError, Skipped)) for x in found)
    assert all(x.location.startswith(name) for x in found)


@settings(max_examples=300, deadline=None)
@given(title=TEXT, body=TEXT, summary=TEXT, url=TEXT, guid=TEXT, extra=TEXT)
def test_cleaner_never_emits_nul_surrogates_or_controls(title, body, summary, url, guid, extra):
    item = RawItem("p.jsonl:1", title=title, body=body, summary=summary, url=url, guid=guid, published=extra,
                   extra={extra: [extra, {"k": extra}]})
    article = to_article(item, NOW)
    out = article if isinstance(article, Article) else None
    fields = [article.location, article.reason, article.excerpt] if out is None else \
        [out.title, out.body, out.summary or "", out.url or "", out.key, repr(out.meta)]
    for value in fields:
        assert not _CONTROL.search(value.replace("\n", "").replace("\t", "")), value
        value.encode("utf-8")  # no lone surrogate survives


@settings(max_examples=300, deadline=None)
@given(text=TEXT)
def test_clean_controls_is_idempotent_and_keeps_zwnj(text):
    once = clean_controls(text)
    assert clean_controls(once) == once and not has_controls(once)
    assert once.count("\u200c") == text.count("\u200c")


@settings(max_examples=300, deadline=None)
@given(text=TEXT)
def test_clean_text_is_idempotent(text):
    once = clean_text(text)
    assert clean_text(once) == once


@settings(max_examples=500, deadline=None)
@given(text=st.one_of(TEXT, st.from_regex(r"\A[0-9۰-۹٠-٩]{1,6}[-/ ][0-9۰-۹]{1,4}[-/ ][0-9۰-۹]{1,4}( [0-9:]{1,8})?\Z")))
def test_date_parser_never_raises(text):
    info = parse_date_info(text)
    assert info is None or info.at.tzinfo is not None
    parse_date(text)
