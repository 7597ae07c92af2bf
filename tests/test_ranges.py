"""Line-range and archive-member shards (etl/fetch/ranges.py, etl/tasks/backfill.shards_of): the
parts of a file, read one by one, give exactly the items (fields and locations) of the whole file."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import pytest

from conftest import DATA
from etl.fetch.files import iter_paths
from etl.fetch.limits import Limits
from etl.fetch.ranges import Part, split_file
from etl.tasks.backfill import shards_of

FARS = json.loads((DATA / "fars-news" / "fars-news-1.json").read_text(encoding="utf-8"))


def _items(pieces) -> list:
    return list(iter_paths(pieces))


def _whole_and_parts(path: Path, records: int, limits: Limits | None = None):
    parts = split_file(path, records, limits) if limits else split_file(path, records)
    whole = list(iter_paths([path], limits=limits)) if limits else _items([path])
    joined = [i for p in parts for i in (iter_paths([p], limits=limits) if limits else iter_paths([p]))]
    return parts, whole, joined


def _jsonl(tmp_path: Path, lines: list[str], name: str = "dump.jsonl") -> Path:
    path = tmp_path / name
    path.write_bytes("".join(lines).encode("utf-8"))
    return path


def _record(article: dict) -> str:
    return json.dumps({"title": article["title"], "body": "\n".join(article["paragraphs"]),
                       "url": article["link"], "summary": article["abstract"]}, ensure_ascii=False) + "\n"


def test_a_jsonl_dump_cut_into_ranges_reads_as_the_whole_file(tmp_path):
    path = _jsonl(tmp_path, [_record(a) for a in FARS[:95]])
    parts, whole, joined = _whole_and_parts(path, 20)
    assert [p.first_line for p in parts] == [1, 21, 41, 61, 81]
    assert parts[0].start == 0 and parts[-1].stop == path.stat().st_size
    assert all(a.stop == b.start for a, b in zip(parts, parts[1:]))  # no byte read twice, none missed
    assert len(whole) == 95 and joined == whole  # same fields, same `dump.jsonl:N` locations


def test_bad_lines_keep_their_own_line_numbers_in_a_range(tmp_path):
    lines = [_record(a) for a in FARS[:30]]
    lines[24] = '{"title": "broken\n'
    lines[12] = "\n"
    lines.insert(26, "x" * 200_000 + "\n")  # over the cap below
    path = _jsonl(tmp_path, lines)
    limits = Limits(record_bytes=100_000)  # above every real record here
    parts, whole, joined = _whole_and_parts(path, 10, limits)
    assert len(parts) == 3
    assert joined == whole
    errors = {i.location: i.reason for i in joined if not hasattr(i, "title")}
    assert set(errors) == {f"{path}:25", f"{path}:27"}
    assert "exceeds" in errors[f"{path}:27"] and "invalid JSON" in errors[f"{path}:25"]


def test_a_csv_cut_never_falls_inside_a_quoted_field(tmp_path):
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(["title", "body", "url"])
    for a in FARS[:41]:
        writer.writerow([a["title"], "\n".join(a["paragraphs"]), a["link"]])  # bodies hold newlines
    path = tmp_path / "dump.csv"
    path.write_bytes(("\ufeff" + out.getvalue()).encode("utf-8"))  # with a BOM, as spreadsheets save
    parts, whole, joined = _whole_and_parts(path, 10)
    assert len(parts) == 5 and parts[0].header_lines == 1 and parts[0].start == parts[0].header
    assert len(whole) == 41 and joined == whole
    assert [i.location for i in joined[10:11]] == [f"{path}:{parts[1].first_line}"]
    assert parts[1].first_line > 11  # lines, not records: the bodies span several


def test_a_small_file_or_an_unsplittable_format_is_one_piece(tmp_path):
    assert split_file(_jsonl(tmp_path, [_record(a) for a in FARS[:5]]), 5) == []
    assert split_file(DATA / "fars-news" / "fars-news-1.json", 10) == []  # one JSON array: not cut
    bad = tmp_path / "nofields.csv"
    bad.write_text("a,b\n1,2\n3,4\n5,6\n", encoding="utf-8")
    assert split_file(bad, 1) == []  # one piece, so its header is reported once, as a backfill does
    assert [i.reason for i in iter_paths([bad])] == ["CSV header names no known field (title, body, text, url, ...)"]


def test_zip_members_are_parts_and_read_as_the_whole_archive(tmp_path):
    path = tmp_path / "archive.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for k in range(3):
            archive.writestr(f"day{k}.jsonl", "".join(_record(a) for a in FARS[k * 5:k * 5 + 5]))
        archive.writestr("README.md", "not an article")
    parts, whole, joined = _whole_and_parts(path, 100)
    assert [p.member for p in parts] == ["day0.jsonl", "day1.jsonl", "day2.jsonl", "README.md"]
    assert joined == whole and len([i for i in whole if hasattr(i, "title")]) == 15


def test_a_part_travels_as_json(tmp_path):
    part = split_file(_jsonl(tmp_path, [_record(a) for a in FARS[:4]]), 2)[1]
    assert Part.from_json(json.loads(json.dumps(part.to_json()))) == part
    assert str(part).startswith(f"{tmp_path / 'dump.jsonl'}:3+")


def test_shards_cut_large_dumps_group_small_files_and_keep_the_pattern(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    _jsonl(folder, [_record(a) for a in FARS[:25]], "big.jsonl")
    for k in range(3):
        (folder / f"small{k}.txt").write_text("date 2026-01-0{k}\nمتن خبر {k}\n".replace("{k}", str(k + 1)),
                                               encoding="utf-8")
    (folder / "LICENSE").write_text("not an article", encoding="utf-8")
    shards = shards_of([folder], files_per_shard=2, records_per_shard=10)
    kinds = [[p.first_line if isinstance(p, Part) else p.name for p in s] for s in shards]
    assert kinds == [[1], [11], [21], ["small0.txt", "small1.txt"], ["small2.txt"]]
    assert shards_of([folder], records_per_shard=10, pattern="*.txt") == [[folder / f"small{k}.txt"] for k in range(3)]
    assert shards_of([folder]) == [[folder / "big.jsonl"]] + [[folder / f"small{k}.txt"] for k in range(3)]


@pytest.mark.parametrize("records", [1, 7, 1000])
def test_every_record_is_read_once_whatever_the_shard_size(tmp_path, records):
    path = _jsonl(tmp_path, [_record(a) for a in FARS[:50]])
    pieces = [p for s in shards_of([path], records_per_shard=records) for p in s]
    assert [i.location for i in iter_paths(pieces)] == [f"{path}:{n}" for n in range(1, 51)]
