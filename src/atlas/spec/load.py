"""Reading a spec document from a mapping, JSON or YAML text or bytes, or a file.

Every byte input goes through :func:`decode_bytes`: UTF-8 only, strictly. One UTF-8 byte order
mark at the very start is accepted and dropped (everywhere: files of either syntax, standard
input, HTTP bodies, text handed to the library); UTF-16 and UTF-32 text, other encodings and
binary files are refused with a :class:`SpecError` that says where the first bad byte is.

A key given twice in one mapping is an error in JSON and in YAML alike (both parsers would
silently keep the last one): :class:`SpecValidationError`, one problem per duplicate, at the
path of the key, naming the line of each occurrence.
"""

from __future__ import annotations

import codecs
import json
import os
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from atlas.exceptions import Problem, SpecError, SpecValidationError

__all__ = ["Syntax", "decode_bytes", "json_document", "load_document", "parse_text"]

Syntax = Literal["json", "yaml"]

#: Byte order marks of encodings a spec may not be in, longest first (UTF-32 LE starts like
#: UTF-16 LE).
_FOREIGN_MARKS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)
_BOM = "\ufeff"
_HINT = "save it as UTF-8"


def load_document(source: object, *, origin: str | None = None) -> Any:
    """Read a spec document: a mapping as is, JSON or YAML text or bytes, or a file.

    A file is JSON when its name ends in ``.json``, YAML otherwise; text and bytes are JSON when
    they start with ``{`` or ``[`` (after blanks and a byte order mark), YAML otherwise.
    ``origin`` names the input in messages (default: the file's path, else ``spec``).
    """
    if isinstance(source, Mapping):
        return source
    if isinstance(source, os.PathLike):
        path = Path(source)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise SpecError(f"cannot read spec file {path}: {exc.strerror or exc}") from exc
        text = decode_bytes(data, origin=origin or str(path))
        return parse_text(text, "json" if path.suffix.lower() == ".json" else "yaml")
    if isinstance(source, bytes | bytearray | memoryview):
        source = decode_bytes(bytes(source), origin=origin or "spec")
    if isinstance(source, str):
        return parse_text(source)
    return source  # any other value: validation says what a spec must be


def decode_bytes(data: bytes, *, origin: str) -> str:
    """The text of a spec given as bytes: strict UTF-8, a leading byte order mark dropped.

    :raises SpecError: naming ``origin`` and, for bytes that are not UTF-8, the offset (and
        line) of the first one.
    """
    for mark, encoding in _FOREIGN_MARKS:
        if data.startswith(mark):
            raise SpecError(
                f"{origin} is {encoding} text (it starts with a {encoding} byte order mark); "
                f"atlas reads UTF-8 only: {_HINT}"
            )
    nul = data.find(b"\x00")
    if nul >= 0:
        raise SpecError(
            f"{origin} is not a text file (a NUL byte at offset {nul}); "
            "a spec is JSON or YAML text in UTF-8"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = data[exc.start]
        line = data.count(b"\n", 0, exc.start) + 1
        raise SpecError(
            f"{origin} is not UTF-8 text: byte 0x{bad:02x} at offset {exc.start} "
            f"(line {line}) cannot be decoded ({exc.reason}); {_HINT}"
        ) from None
    return text.removeprefix(_BOM)


def parse_text(text: str, syntax: Syntax | None = None) -> Any:
    """Parse a spec's text as ``syntax`` (by default: JSON if it starts with ``{`` or ``[``).

    :raises SpecValidationError: the text does not parse, or a mapping has a key twice.
    """
    text = text.removeprefix(_BOM)
    if syntax is None:
        syntax = "json" if text.lstrip().startswith(("{", "[")) else "yaml"
    if syntax == "json":
        try:
            return json_document(text)
        except json.JSONDecodeError as exc:
            where = f"line {exc.lineno}, column {exc.colno}"
            raise SpecValidationError(
                [Problem("", f"not valid JSON ({where}): {exc.msg}")]
            ) from exc
        except RecursionError:
            raise SpecValidationError([Problem("", "not valid JSON: nested too deeply")]) from None
    return _yaml_document(text)


# -- JSON ----------------------------------------------------------------------------------------


def json_document(text: str, *, parse_constant: Callable[[str], Any] | None = None) -> Any:
    """``json.loads`` that refuses a key given twice in one object.

    :raises json.JSONDecodeError: the text is not JSON.
    :raises SpecValidationError: an object has a key twice (every such key, with both lines).
    """
    twice = False

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal twice
        out = dict(items)
        twice = twice or len(out) != len(items)
        return out

    kwargs: dict[str, Any] = {"object_pairs_hook": pairs}
    if parse_constant is not None:
        kwargs["parse_constant"] = parse_constant
    doc = json.loads(text, **kwargs)
    if twice:  # rare: only then is the text scanned again for where the keys are
        raise SpecValidationError(_by_line(_json_duplicates(text)))
    return doc


#: The tokens that give a JSON text its structure; numbers, literals and blanks are skipped.
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]:,\n]', re.S)


class _Frame:
    """An object or array being scanned: its path, and where it is within."""

    __slots__ = ("index", "is_object", "key", "keys", "path", "want_key")

    def __init__(self, path: str, *, is_object: bool) -> None:
        self.path = path
        self.is_object = is_object
        self.keys: dict[str, int] = {}  # key -> line it first appears on
        self.key = ""  # the object's current key
        self.index = 0  # the array's current index
        self.want_key = is_object

    def child(self) -> str:
        if self.is_object:
            return _join(self.path, self.key)
        return f"{self.path}[{self.index}]"


def _json_duplicates(text: str) -> Iterator[tuple[int, Problem]]:
    """Every key given twice in one object of a JSON text known to be valid."""
    stack: list[_Frame] = []
    line = 1
    for match in _JSON_TOKEN.finditer(text):
        lexeme = match.group()
        top = stack[-1] if stack else None
        if lexeme == "\n":
            line += 1
        elif lexeme in ("{", "["):
            path = top.child() if top else ""
            stack.append(_Frame(path, is_object=lexeme == "{"))
        elif lexeme in ("}", "]"):
            stack.pop()
        elif top is None:
            continue  # a lone string as the whole document
        elif lexeme == ",":
            top.want_key = top.is_object
            top.index += 1
        elif lexeme == ":":
            top.want_key = False
        elif top.want_key:  # a key (valid JSON holds no raw line break inside a string)
            top.key = json.loads(lexeme)
            if top.key in top.keys:
                yield line, _duplicate(_join(top.path, top.key), top.key, line, top.keys[top.key])
            else:
                top.keys[top.key] = line
            top.want_key = False


# -- YAML ----------------------------------------------------------------------------------------


def _yaml_document(text: str) -> Any:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        problems = _by_line(_yaml_duplicates(loader, node))
        if problems:
            raise SpecValidationError(problems)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        reason = getattr(exc, "problem", None) or str(exc)
        raise SpecValidationError([Problem("", f"not valid YAML{where}: {reason}")]) from exc
    except RecursionError:
        raise SpecValidationError([Problem("", "not valid YAML: nested too deeply")]) from None
    finally:
        loader.dispose()


_MERGE = "tag:yaml.org,2002:merge"


def _yaml_duplicates(loader: yaml.SafeLoader, root: Node) -> Iterator[tuple[int, Problem]]:
    """Every key given twice in one mapping of a composed YAML document, keys compared as the
    values they load as (``yes`` and ``true`` are one key). A merge (``<<``) may be overridden:
    that is what it is for. A node reached again through an alias is checked once."""
    seen: set[int] = set()
    todo: list[tuple[Node, str]] = [(root, "")]
    while todo:
        node, path = todo.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        children: list[tuple[Node, str]] = []
        if isinstance(node, MappingNode):
            first: dict[Any, int] = {}
            for key_node, value_node in node.value:
                if key_node.tag == _MERGE:
                    continue
                key = _yaml_key(loader, key_node)
                if key is None:
                    continue
                line = key_node.start_mark.line + 1
                name = str(key_node.value)  # as written: `yes` and `true` are one key
                if key in first:
                    yield line, _duplicate(_join(path, name), name, line, first[key])
                else:
                    first[key] = line
                children.append((value_node, _join(path, name)))
        elif isinstance(node, SequenceNode):
            children = [(item, f"{path}[{i}]") for i, item in enumerate(node.value)]
        todo.extend(reversed(children))


def _yaml_key(loader: yaml.SafeLoader, node: Node) -> Any:
    """A scalar key as the value it loads as; ``None`` for keys that cannot be compared."""
    if not isinstance(node, ScalarNode):
        return None
    try:
        key = loader.construct_object(node)
        hash(key)
    except (yaml.YAMLError, TypeError):
        return None  # construction reports it, with its line
    return key


# -- both ----------------------------------------------------------------------------------------


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _by_line(found: Iterator[tuple[int, Problem]]) -> list[Problem]:
    return [problem for _, problem in sorted(found, key=lambda pair: pair[0])]


def _duplicate(path: str, key: str, line: int, first: int) -> Problem:
    return Problem(path, f"duplicate key {key!r} at line {line} (first at line {first})")
