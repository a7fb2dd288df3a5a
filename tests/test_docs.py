"""Keep the documentation honest: hooks, resource fields, examples, catalog figures and shown
command output must match the code."""

from __future__ import annotations

import inspect
import io
import re
import shlex
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

import atlas_digitalocean.plugin
from atlas.cli import main
from atlas.cost import PriceLookup
from atlas.model import field_info
from atlas.plugins import get_plugin_manager, hookspecs
from atlas.providers import ProviderRegistry

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
EXAMPLES = REPO / "examples"

REGISTRY = ProviderRegistry.from_plugin_manager(
    get_plugin_manager(plugins=[atlas_digitalocean.plugin], autoload=False)
)
DO_KINDS = REGISTRY.kinds("digitalocean")


def _page(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def _section(text: str, heading: str) -> str:
    """The text under ``heading`` (a whole line) up to the next heading of the same or a higher
    level; empty when the heading is absent."""
    level = len(heading) - len(heading.lstrip("#"))
    lines = text.splitlines()
    if heading not in lines:
        return ""
    start = lines.index(heading) + 1
    end = len(lines)
    for i in range(start, len(lines)):
        match = re.match(r"(#+) ", lines[i])
        if match and len(match.group(1)) <= level:
            end = i
            break
    return "\n".join(lines[start:end])


# -- hooks ---------------------------------------------------------------------------------------


def _hooks() -> list[Callable[..., Any]]:
    return [
        fn
        for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
        if name.startswith("atlas_") and fn.__module__ == hookspecs.__name__
    ]


HOOKS = _hooks()


def _signature_line(fn: Callable[..., Any]) -> str:
    """The ``def`` line as written in the source, on one line, without the colon."""
    source = inspect.getsource(fn)
    match = re.search(r"^def \w+\(.*?\)\s*->\s*[^\n]+?(?=:\s*$)", source, re.S | re.M)
    assert match is not None, f"cannot find the def line of {fn.__name__}"
    line = re.sub(r"\(\s+", "(", match.group(0))
    line = re.sub(r",?\s*\)", ")", line)
    return re.sub(r"\s+", " ", line)


def test_hookspecs_are_found() -> None:
    assert len(HOOKS) >= 4


@pytest.mark.parametrize("hook", HOOKS, ids=lambda fn: fn.__name__)
def test_hook_signature_is_documented(hook: Callable[..., Any]) -> None:
    page = _page("hooks.md")
    assert f"## {hook.__name__}" in page.splitlines(), f"no section for {hook.__name__}"
    assert _signature_line(hook) in page, f"hooks.md lacks: {_signature_line(hook)}"


@pytest.mark.parametrize("hook", HOOKS, ids=lambda fn: fn.__name__)
def test_hook_firstresult_is_documented(hook: Callable[..., Any]) -> None:
    options = getattr(hook, f"{hookspecs.PROJECT}_spec")
    section = _section(_page("hooks.md"), f"## {hook.__name__}")
    expected = "yes" if options["firstresult"] else "no"
    assert f"**firstresult:** {expected}" in section


@pytest.mark.parametrize("hook", HOOKS, ids=lambda fn: fn.__name__)
def test_hook_docstring_documents_parameters_and_return(hook: Callable[..., Any]) -> None:
    doc = inspect.getdoc(hook) or ""
    for name in inspect.signature(hook).parameters:
        assert f":param {name}:" in doc, f"{hook.__name__} does not document {name}"
    assert ":return:" in doc, f"{hook.__name__} does not document its return value"


def test_hooks_page_names_no_missing_hook() -> None:
    known = {fn.__name__ for fn in HOOKS}
    named = set(re.findall(r"\b(atlas_[a-z_]+)\(", _page("hooks.md")))
    assert named <= known, f"hooks.md names hooks that do not exist: {named - known}"


# -- resource fields -----------------------------------------------------------------------------


def _nested_classes(t: Any) -> Iterator[type]:
    if isinstance(t, type) and attrs.has(t):
        yield t
    for arg in typing.get_args(t):
        yield from _nested_classes(arg)


def _spec_classes() -> list[type]:
    """Every specification class of every DigitalOcean kind, nested ones included, once."""
    seen: list[type] = []
    todo = [kind.spec_class for kind in DO_KINDS.values()]
    while todo:
        cls = todo.pop(0)
        if cls in seen:
            continue
        seen.append(cls)
        hints = typing.get_type_hints(cls)
        for field in attrs.fields(cls):
            todo.extend(_nested_classes(hints[field.name]))
    return seen


SPEC_CLASSES = _spec_classes()


def _rows(section: str) -> dict[str, str]:
    return {
        m.group(1): line for line in section.splitlines() if (m := re.match(r"\| `(\w+)` \|", line))
    }


@pytest.mark.parametrize("kind", sorted(DO_KINDS), ids=str)
def test_every_kind_has_a_section(kind: str) -> None:
    assert f"### `{kind}`" in _page("spec-format.md").splitlines()


@pytest.mark.parametrize("cls", SPEC_CLASSES, ids=lambda c: c.__name__)
def test_every_field_is_documented(cls: type) -> None:
    section = _section(_page("spec-format.md"), f"#### {cls.__name__}")
    assert section, f"spec-format.md has no '#### {cls.__name__}' table"
    rows = _rows(section)
    names = [a.name for a in attrs.fields(cls)]
    assert {a.name for a in attrs.fields(cls)} == {f.name for f in field_info(cls)}
    assert sorted(rows) == sorted(names), f"{cls.__name__}: table rows differ from the fields"
    for info in field_info(cls):
        row = rows[info.name]
        assert info.doc, f"{cls.__name__}.{info.name} has no doc"
        assert info.doc in row, f"{cls.__name__}.{info.name}: the doc text differs"
        cells = [c.strip() for c in row.strip("|").split("|")]
        required = "estimate, create" if info.required else "create" if info.create_only else "—"
        assert cells[3] == required, f"{cls.__name__}.{info.name}: 'Required for' is wrong"
        if info.ref is not None:
            assert f"Reference to `{info.ref}`" in row


def test_nested_classes_are_walked() -> None:
    names = {cls.__name__ for cls in SPEC_CLASSES}
    assert {"ForwardingRule", "HealthCheck", "StickySessions", "Endpoints"} <= names


# -- examples and shown output -------------------------------------------------------------------


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.iterdir()), ids=str)
def test_every_example_is_mentioned(example: str) -> None:
    text = _page("quickstart.md") + _page("spec-format.md")
    assert f"examples/{example}" in text


_COMMAND = re.compile(
    r"^\$ atlas (?P<args>[^\n]*examples/[^\n]*)\n(?P<output>(?:(?!\$ |```).*\n)*)", re.M
)


def _shown_commands() -> list[tuple[str, str, str]]:
    found = []
    for page in sorted(DOCS.glob("*.md")):
        for m in _COMMAND.finditer(page.read_text(encoding="utf-8")):
            found.append((page.name, m.group("args"), m.group("output")))
    return found


def test_some_commands_are_shown() -> None:
    assert len(_shown_commands()) >= 4


@pytest.mark.parametrize(
    ("page", "args", "shown"), _shown_commands(), ids=lambda v: v if "\n" not in v else ""
)
def test_shown_command_output_is_real(
    page: str, args: str, shown: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    out, err = io.StringIO(), io.StringIO()
    main(shlex.split(args), out=out, err=err)
    assert out.getvalue() + err.getvalue() == shown, f"{page}: output of `atlas {args}` changed"


# -- the DigitalOcean catalog in costs.md --------------------------------------------------------


def test_catalog_header_is_documented() -> None:
    catalog = REGISTRY.catalog("digitalocean")
    assert catalog is not None
    page = " ".join(_page("costs.md").split())
    assert f"effective date {catalog.effective_date}" in page
    assert f"{catalog.hours_per_month} hours per month" in page


def test_every_catalog_figure_is_documented() -> None:
    catalog = REGISTRY.catalog("digitalocean")
    assert catalog is not None
    lookup = PriceLookup(catalog.provider, catalog)
    page = _page("costs.md")
    for sku, price in catalog.prices.items():
        line = lookup.line("", sku)
        assert line.hourly is not None
        hourly = str(line.hourly.amount) + (" (derived)" if price.hourly_derived else "")
        row = f"| `{sku}` | {price.unit} | {price.monthly.amount} | {hourly} | `{price.source}` |"
        assert row in page, f"costs.md lacks or misstates {sku}: {row}"
    for sku, rate in catalog.rates.items():
        assert f"| `{sku}` | {rate.fraction} | `{rate.source}` |" in page, sku
    for key in catalog.sources:
        assert f"| `{key}` |" in page, f"costs.md does not describe source {key}"
