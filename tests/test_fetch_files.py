"""The files fetcher: every format, folders, archives and broken input, on real bytes."""

from __future__ import annotations

import io
import json
import tarfile
import zipfile
from pathlib import Path

from conftest import DATA
from etl.fetch.files import iter_paths, parse_stream
from etl.models import ItemError, RawItem, Skipped

SEED = DATA / "seed" / "000_3b436877025587a2.txt"
FARS1 = DATA / "fars-news" / "fars-news-1.json"
FORMATS = DATA / "files" / "formats"
MIXED = DATA / "files" / "mixed"


def items(*paths: Path, pattern: str | None = None) -> list:
    return list(iter_paths(list(paths), pattern))


def only(kind, found: list) -> list:
    return [x for x in found if isinstance(x, kind)]


def test_seed_text_file_has_date_and_whole_body():
    [item] = items(SEED)
    assert item.published == "2025-08-22"
    assert item.title is None  # the cleaner derives it
    raw = SEED.read_text(encoding="utf-8")
    assert item.body == raw.strip().removeprefix("date 2025-08-22").strip()
    assert item.body.startswith("به گزارش خبرگزاری مهر")


def test_fars_dump_loads_as_it_is():
    found = items(FARS1)
    assert len(found) == 300 and all(isinstance(x, RawItem) for x in found)
    first = found[0]
    source = json.loads(FARS1.read_text(encoding="utf-8"))[0]
    assert first.title == source["title"]
    assert first.summary == source["abstract"]
    assert first.body == "\n".join(source["paragraphs"])
    assert first.url == source["link"]
    assert first.location == f"{FARS1}#1"
    assert found[-1].location == f"{FARS1}#300"


def test_extra_fields_kept_and_empty_ones_dropped():
    found = items(DATA / "fars-news" / "fars-news-2.json")
    assert found[0].extra == {"cat": "culture"}  # subcat "" and tags [] are dropped


def test_csv_maps_common_field_names():
    found = items(FORMATS / "fars.csv")
    assert len(found) == 3
    assert all(x.published == "1387/07/06" for x in found)
    # The header is line 1; quoted bodies span several lines, so records start further down.
    assert [x.location.rsplit(":", 1)[1] for x in found] == ["2", "11", "15"]
    assert "\n" in found[0].body and found[0].summary and found[0].url.startswith("https://www.farsnews.ir/news/")


def test_json_object_wrapping_an_array():
    [item] = items(FORMATS / "wrapped.json")
    assert item.title and item.published == "2008-09-27T10:00:00Z"
    assert item.body.count("\n") >= 1  # "content" was a list of paragraphs


def test_windows_1256_text_is_decoded():
    [item] = items(FORMATS / "cp1256_article.txt")
    assert item.published == "2008-09-27"
    assert "\ufffd" not in item.body and "فارس" in item.body


def test_saved_rss_and_atom():
    rss = items(FORMATS / "fars_saved.rss")
    assert len(rss) == 3 and all(x.guid.startswith("fars-") for x in rss)
    assert rss[0].published == "Sat, 27 Sep 2008 00:15:00 +0330"
    assert rss[0].url.endswith("?utm_source=rss")  # canonicalized by the cleaner, not here
    [atom] = items(FORMATS / "fars_saved.atom")
    assert "<p>" in atom.body and atom.summary and atom.published == "2008-09-27T08:00:00Z"


def test_mixed_folder_yields_good_items_and_located_failures():
    found = items(MIXED)
    good, bad = only(RawItem, found), only(ItemError, found)
    assert len(good) == 5  # 3 jsonl lines + 2 json records
    reasons = {Path(e.location).name: e.reason for e in bad}
    assert reasons == {
        "empty.txt": "empty file",
        "fars_with_broken_line.jsonl:2": reasons["fars_with_broken_line.jsonl:2"],
        "garbage.json": "binary data, not a text, JSON, CSV or feed file",
    }
    assert reasons["fars_with_broken_line.jsonl:2"].startswith("invalid JSON")


def test_folder_walk_skips_other_files_and_applies_pattern(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.txt").write_bytes(SEED.read_bytes())
    (tmp_path / "LICENSE").write_text("MIT")
    (tmp_path / ".hidden.txt").write_text("date 2025-01-01 x")
    found = items(tmp_path)
    assert len(only(RawItem, found)) == 1
    assert [s.location for s in only(Skipped, found)] == [str(tmp_path / "LICENSE")]
    assert items(tmp_path, pattern="*.json") == [Skipped(str(tmp_path / "LICENSE"), "not an article file type")]


def test_zip_and_tar_gz_archives(tmp_path):
    zpath = tmp_path / "bundle.zip"
    with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(SEED, "articles/seed.txt")
        z.write(MIXED / "fars_with_broken_line.jsonl", "articles/dump.jsonl")
        z.writestr("__MACOSX/articles/._seed.txt", b"\x00\x05junk")
    tpath = tmp_path / "bundle.tar.gz"
    with tarfile.open(tpath, "w:gz") as t:
        t.add(SEED, "x/seed.txt")
        t.add(FARS1, "x/fars.json")
    zipped = items(zpath)
    assert len(only(RawItem, zipped)) == 4
    assert [e.location for e in only(ItemError, zipped)] == [f"{zpath}!articles/dump.jsonl:2"]
    tarred = items(tpath)
    assert len(only(RawItem, tarred)) == 301 and not only(ItemError, tarred)
    assert tarred[-1].location == f"{tpath}!x/fars.json#300"


def test_broken_archives_are_errors_not_crashes(tmp_path):
    bad_zip = tmp_path / "bad.zip"
    bad_zip.write_bytes(b"PK\x03\x04 not really")
    bad_tar = tmp_path / "bad.tar.gz"
    bad_tar.write_bytes(b"\x1f\x8b\x08\x00garbage")
    errors = items(bad_zip, bad_tar)
    assert [type(e) for e in errors] == [ItemError, ItemError]
    assert "zip" in errors[0].reason and "tar" in errors[1].reason


def test_json_array_truncated_midway_keeps_earlier_records():
    data = FARS1.read_bytes()[:20000]
    found = list(parse_stream(io.BytesIO(data), "cut.json"))
    assert only(RawItem, found) and isinstance(found[-1], ItemError)
    assert found[-1].location == f"cut.json#{len(found)}" and "invalid JSON" in found[-1].reason


def test_jsonl_non_object_line_is_an_error():
    data = b'{"title": "t", "body": "b"}\n[1, 2]\n"x"\n'
    found = list(parse_stream(io.BytesIO(data), "d.jsonl"))
    assert isinstance(found[0], RawItem)
    assert [e.location for e in found[1:]] == ["d.jsonl:2", "d.jsonl:3"]


def test_content_sniffing_without_extension():
    assert isinstance(next(parse_stream(io.BytesIO(SEED.read_bytes()), "noext")), RawItem)
    jsonl = b'{"title": "a", "text": "x"}\n{"title": "b", "text": "y"}\n'
    assert [x.title for x in parse_stream(io.BytesIO(jsonl), "dump.json")] == ["a", "b"]


def test_missing_path_is_an_error(tmp_path):
    [error] = items(tmp_path / "nope.json")
    assert error.reason == "no such file or directory"


def test_epoch_dates_and_nested_values():
    data = json.dumps([{"title": "t", "body": {"text": "b"}, "date": 1735689600}]).encode()
    [item] = parse_stream(io.BytesIO(data), "e.json")
    assert item.published == "2025-01-01T00:00:00+00:00" and item.body == "b"
