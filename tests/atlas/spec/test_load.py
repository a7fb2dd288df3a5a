"""Reading a spec's bytes: UTF-8 only (a BOM is dropped), and a key given twice is an error."""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import pytest

from atlas import Problem, SpecError, SpecValidationError
from atlas.spec.load import decode_bytes, json_document, load_document

YAML_TEXT = "name: café\nregion: mem-1\n"
JSON_TEXT = '{"name": "café", "region": "mem-1"}'
EXPECTED = {"name": "café", "region": "mem-1"}


def duplicates(source: object) -> list[Problem]:
    with pytest.raises(SpecValidationError) as info:
        load_document(source)
    return list(info.value.problems)


# -- encodings -----------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_latin_1_is_refused_with_the_offset_of_the_first_bad_byte(
    tmp_path: Path, suffix: str
) -> None:
    text = YAML_TEXT if suffix == ".yaml" else JSON_TEXT
    path = tmp_path / f"spec{suffix}"
    path.write_bytes(text.encode("latin-1"))
    offset = text.encode("latin-1").index(b"\xe9")
    with pytest.raises(SpecError) as info:
        load_document(path)
    assert not isinstance(info.value, SpecValidationError)
    message = str(info.value)
    assert message.startswith(f"{path} is not UTF-8 text: byte 0xe9 at offset {offset} (line 1)")
    assert message.endswith("save it as UTF-8")


def test_the_line_of_a_bad_byte_is_counted() -> None:
    data = b"name: app\nregion: mem-1\ntags: {owner: Jos\xe9}\n"
    with pytest.raises(SpecError, match=r"byte 0xe9 at offset 41 \(line 3\)"):
        decode_bytes(data, origin="x.yaml")


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",  # a PNG: a bad start byte, then NULs
        b"\x7fELF\x02\x01\x01\x00",
        "name: app\n".encode("utf-16-le"),  # valid UTF-8 byte by byte, but NULs throughout
    ],
)
def test_a_binary_file_is_refused(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "spec.yaml"
    path.write_bytes(data)
    offset = data.index(b"\x00")
    with pytest.raises(SpecError, match=rf"is not a text file \(a NUL byte at offset {offset}\)"):
        load_document(path)


@pytest.mark.parametrize(
    ("encoding", "name"), [("utf-16", "UTF-16"), ("utf-32", "UTF-32"), ("utf-16-be", "UTF-16")]
)
def test_utf_16_and_32_with_a_byte_order_mark_are_named(encoding: str, name: str) -> None:
    data = YAML_TEXT.encode(encoding)
    if not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE)):
        data = codecs.BOM_UTF16_BE + data
    with pytest.raises(SpecError, match=f"spec is {name} text .*save it as UTF-8"):
        load_document(data)


@pytest.mark.parametrize(("suffix", "text"), [(".yaml", YAML_TEXT), (".json", JSON_TEXT)])
def test_a_utf_8_byte_order_mark_is_accepted_in_both_syntaxes(
    tmp_path: Path, suffix: str, text: str
) -> None:
    path = tmp_path / f"spec{suffix}"
    path.write_bytes(codecs.BOM_UTF8 + text.encode())
    assert load_document(path) == EXPECTED
    assert load_document(codecs.BOM_UTF8 + text.encode()) == EXPECTED
    assert load_document("\ufeff" + text) == EXPECTED


def test_only_one_leading_byte_order_mark_is_dropped() -> None:
    with pytest.raises(SpecValidationError, match="not valid JSON"):
        load_document(codecs.BOM_UTF8 + b"  {" + codecs.BOM_UTF8 + b'"a": 1}')


def test_an_unreadable_file_names_itself(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"cannot read spec file .*missing\.yaml"):
        load_document(tmp_path / "missing.yaml")


def test_bytes_are_named_by_origin() -> None:
    with pytest.raises(SpecError, match=r"^<stdin> is not UTF-8 text"):
        load_document(b"a: \xff", origin="<stdin>")


# -- duplicate keys ------------------------------------------------------------------------------

JSON_TWICE = """{
  "name": "app",
  "region": "mem-1",
  "resources": [
    {"type": "server", "name": "a", "specifications": {"size": "small"}},
    {
      "type": "server",
      "name": "b",
      "specifications": {
        "size": "small",
        "size": "large"
      }
    }
  ],
  "region": "mem-2"
}
"""

YAML_TWICE = """\
name: app
region: mem-1
resources:
  - type: server
    name: a
    specifications: {size: small}
  - type: server
    name: b
    specifications:
      size: small
      size: large
region: mem-2
"""


@pytest.mark.parametrize(
    ("text", "lines"),
    [(JSON_TWICE, ((11, 10), (15, 3))), (YAML_TWICE, ((11, 10), (12, 2)))],
    ids=["json", "yaml"],
)
def test_a_key_given_twice_names_its_path_and_both_lines(
    text: str, lines: tuple[tuple[int, int], ...]
) -> None:
    (size_at, size_first), (region_at, region_first) = lines
    assert duplicates(text) == [
        Problem(
            "resources[1].specifications.size",
            f"duplicate key 'size' at line {size_at} (first at line {size_first})",
        ),
        Problem(
            "region", f"duplicate key 'region' at line {region_at} (first at line {region_first})"
        ),
    ]


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_a_file_with_a_key_twice_is_refused(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"spec{suffix}"
    path.write_text(JSON_TWICE if suffix == ".json" else YAML_TWICE, encoding="utf-8")
    assert [p.path for p in duplicates(path)] == ["resources[1].specifications.size", "region"]


def test_json_keys_on_one_line_and_escaped_keys() -> None:
    assert duplicates('{"a": {"b": 1, "\\u0062": 2}}') == [
        Problem("a.b", "duplicate key 'b' at line 1 (first at line 1)")
    ]


def test_json_strings_that_look_like_structure_do_not_confuse_the_paths() -> None:
    text = '[{"x": "{[,:\\"]}"}, {"y": ":", "y": ","}]'
    assert [p.path for p in duplicates(text)] == ["[1].y"]


def test_the_same_key_in_different_objects_is_fine() -> None:
    doc = {"a": {"k": 1}, "b": [{"k": 1}, {"k": 2}], "k": 3}
    assert load_document(json.dumps(doc, indent=2)) == doc


def test_yaml_keys_compare_as_the_values_they_load_as() -> None:
    # `yes` and `true` both load as True: one key, written two ways; 1 and "1" differ.
    assert duplicates("flag:\n  yes: 1\n  true: 2\n") == [
        Problem("flag.true", "duplicate key 'true' at line 3 (first at line 2)")
    ]
    assert load_document("1: a\n'1': b\n") == {1: "a", "1": "b"}


def test_a_yaml_merge_may_be_overridden_and_aliases_are_checked_once() -> None:
    text = "base: &b {size: small, image: x}\nweb:\n  <<: *b\n  size: large\nalso: *b\n"
    assert load_document(text) == {
        "base": {"size": "small", "image": "x"},
        "web": {"size": "large", "image": "x"},
        "also": {"size": "small", "image": "x"},
    }
    twice = "base: &b {size: small, size: large}\nweb: *b\n"
    assert [p.path for p in duplicates(twice)] == ["base.size"]


def test_json_document_keeps_parse_errors_as_they_are() -> None:
    with pytest.raises(json.JSONDecodeError):
        json_document('{"a": ')
    with pytest.raises(SpecValidationError):
        json_document('{"a": 1, "a": 1}')


@pytest.mark.parametrize("text", ["[" * 100_000, "a: " + "[" * 100_000])
def test_absurd_nesting_is_a_problem_not_a_crash(text: str) -> None:
    with pytest.raises(SpecValidationError, match="nested too deeply"):
        load_document(text)
