"""Keep the documentation honest: hooks, resource fields, examples, catalog figures, shown
command output, Python examples, lifecycle commands and their options, environment variables,
timeouts, event names and replacement rules must match the code."""

from __future__ import annotations

import argparse
import ast
import inspect
import io
import re
import shlex
import subprocess
import sys
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

import atlas_digitalocean.plugin
from atlas.cli import main
from atlas.cli.lifecycle import add_lifecycle_commands
from atlas.cost import PriceLookup
from atlas.events import EVENT_TYPES, webhook
from atlas.model import field_info
from atlas.plugins import get_plugin_manager, hookspecs
from atlas.providers import ProviderRegistry
from atlas_digitalocean.emulator.cli import _parser as emulator_parser

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


#: Put on the line before a fenced block whose output differs from run to run (ids, addresses):
#: its commands are compared with those masked (below), not character for character.
VARIES = "<!-- output varies"
_VARYING_BLOCK = re.compile(
    r"^" + re.escape(VARIES) + r"[^\n]*-->\n```[^\n]*\n(.*?)^```", re.M | re.S
)


def _shown_commands(*, varying: bool = False) -> list[tuple[str, str, str]]:
    """Each ``$ atlas ... examples/...`` line shown, with the output shown under it: outside the
    blocks marked as varying, or (``varying``) inside them only."""
    found = []
    for page in sorted(DOCS.glob("*.md")):
        text = page.read_text(encoding="utf-8")
        blocks = [m.group(1) for m in _VARYING_BLOCK.finditer(text)]
        if not varying:
            blocks = [_VARYING_BLOCK.sub("", text)]
        for block in blocks:
            for m in _COMMAND.finditer(block):
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


# -- output that varies: compared with ids, addresses and counts masked --------------------------

_MASKS = (
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<uuid>"),
    (re.compile(r"\b\d+\.\d+\.\d+\.\d+\b"), "<ip>"),
    (re.compile(r"\b\d{6,}\b"), "<id>"),
    (re.compile(r"\b\d+ API calls\b"), "<n> API calls"),
    # How long each step took, on the progress lines ("done in 0.4s").
    (re.compile(r"(?<= in )(?:\d+h)?(?:\d+m)?\d+(?:\.\d+)?s\b"), "<t>"),
)


def _masked(text: str) -> str:
    for pattern, placeholder in _MASKS:
        text = pattern.sub(placeholder, text)
    return text


def test_the_sandbox_tour_is_shown() -> None:
    assert any("apply --sandbox" in args for _, args, _ in _shown_commands(varying=True))


@pytest.mark.parametrize(
    ("page", "args", "shown"),
    _shown_commands(varying=True),
    ids=lambda v: v if "\n" not in v else "",
)
def test_varying_output_is_real_once_masked(
    page: str, args: str, shown: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    out, err = io.StringIO(), io.StringIO()
    main(shlex.split(args), out=out, err=err)
    assert _masked(out.getvalue() + err.getvalue()) == _masked(shown), (
        f"{page}: output of `atlas {args}` changed"
    )


# -- Python examples with their output -----------------------------------------------------------

_FENCE = re.compile(r"^```(?P<lang>[\w-]*)\n(?P<body>.*?)^```\n", re.M | re.S)
_OUTPUT = re.compile(r"\nOutput[^\n]*:\n\n```text\n(?P<output>.*?)^```", re.M | re.S)


def _examples() -> list[tuple[str, int, str, str]]:
    """Each ``python`` block followed by a paragraph starting ``Output`` and a ``text`` block."""
    found = []
    for name in ("quickstart.md", "lifecycle.md", "digitalocean.md"):
        text = _page(name)
        for m in _FENCE.finditer(text):
            after = _OUTPUT.match(text, m.end())
            if m.group("lang") == "python" and after is not None:
                found.append((name, len(found), m.group("body"), after.group("output")))
    return found


def test_some_python_examples_are_run() -> None:
    assert len([e for e in _examples() if e[0] == "lifecycle.md"]) >= 2
    assert len([e for e in _examples() if e[0] == "quickstart.md"]) >= 2


def _quickstart_files() -> dict[str, str]:
    """The files the quickstart writes out for its reader (``broken.yaml``), by name."""
    text = _page("quickstart.md")
    return {
        m.group(1): m.group(2)
        for m in re.finditer(r"^`([\w.-]+\.yaml)`:\n\n```yaml\n(.*?)^```", text, re.M | re.S)
    }


def test_the_quickstart_files_are_found() -> None:
    assert "broken.yaml" in _quickstart_files()


@pytest.mark.parametrize(("page", "index", "code", "shown"), _examples(), ids=lambda v: str(v)[:20])
def test_python_example_output_is_real(
    page: str, index: int, code: str, shown: str, tmp_path: Path
) -> None:
    """Run from the root of a checkout (for the quickstart: one with the files it shows, such
    as ``broken.yaml``), standard error merged into standard output (log lines come first:
    standard output is flushed when the example ends)."""
    cwd = REPO
    if page == "quickstart.md":
        cwd = tmp_path
        (tmp_path / "examples").symlink_to(REPO / "examples")
        for name, body in _quickstart_files().items():
            (tmp_path / name).write_text(body, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout
    assert result.stdout == shown, f"{page}: example {index} prints something else"


# -- the lifecycle commands and their options ----------------------------------------------------


def _lifecycle_parsers() -> dict[str, argparse.ArgumentParser]:
    parser = argparse.ArgumentParser(prog="atlas")
    sub = parser.add_subparsers()
    add_lifecycle_commands(sub)
    return dict(sub.choices)


LIFECYCLE = _lifecycle_parsers()


def _options(parser: argparse.ArgumentParser) -> list[str]:
    return [
        option
        for action in parser._actions
        for option in action.option_strings
        if option.startswith("--") and option != "--help"
    ]


def test_the_lifecycle_commands_are_found() -> None:
    assert {"plan", "apply", "destroy", "status", "reconcile", "graph"} <= set(LIFECYCLE)


@pytest.mark.parametrize("command", sorted(LIFECYCLE), ids=str)
def test_every_lifecycle_command_has_a_section_naming_its_options(command: str) -> None:
    section = _section(_page("lifecycle.md"), f"### `atlas {command}`")
    assert section, f"lifecycle.md has no '### `atlas {command}`' section"
    for option in _options(LIFECYCLE[command]):
        assert f"`{option}`" in section, f"lifecycle.md: `atlas {command}` does not say {option}"


def test_every_emulator_option_is_documented() -> None:
    section = _section(_page("digitalocean.md"), "### On loopback: `atlas emulator`")
    options = _options(emulator_parser("atlas emulator"))
    assert "--latency-scale" in options
    for option in options:
        assert f"| `{option}` |" in section, f"digitalocean.md does not describe {option}"


# -- environment variables -----------------------------------------------------------------------


def _env_reads(tree: ast.AST) -> Iterator[str]:
    """Names read with ``environ.get("X")`` / ``env.get("X")`` / ``getenv("X")``, and the
    values of module constants named ``*_ENV`` or ``*_ENV_NAMES``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            owner = func.value if isinstance(func, ast.Attribute) else None
            owner_name = getattr(owner, "attr", None) or getattr(owner, "id", "")
            reads_env = (name == "get" and "env" in str(owner_name).lower()) or name == "getenv"
            if reads_env and isinstance(node.args[0].value, str):
                yield node.args[0].value
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            if isinstance(target, ast.Name) and re.search(r"_ENV(_NAMES)?$", target.id):
                value = node.value  # type: ignore[union-attr]
                for const in ast.walk(value) if value is not None else ():
                    if isinstance(const, ast.Constant) and isinstance(const.value, str):
                        yield const.value


#: Read only by the HTTP API (``atlas serve``), which documents its own settings.
HTTP_API = ("src/atlas/server/", "src/atlas/cli/serve.py")


def _environment_variables() -> dict[str, set[str]]:
    """Each environment variable the code reads, with the files that read it."""
    readers: dict[str, set[str]] = {}
    for path in sorted((REPO / "src").rglob("*.py")):
        where = path.relative_to(REPO).as_posix()
        for name in _env_reads(ast.parse(path.read_text(encoding="utf-8"))):
            if re.fullmatch(r"[A-Z][A-Z0-9_]+", name):
                readers.setdefault(name, set()).add(where)
    return readers


ENVIRONMENT = _environment_variables()
#: The variables of the lifecycle and the providers (the HTTP API's excluded).
LIFECYCLE_ENVIRONMENT = sorted(
    name for name, files in ENVIRONMENT.items() if not all(f.startswith(HTTP_API) for f in files)
)


def test_the_environment_variables_are_found() -> None:
    assert {
        "ATLAS_STATE",
        "ATLAS_WEBHOOK_URL",
        "ATLAS_WEBHOOK_SECRET",
        "DIGITALOCEAN_TOKEN",
        "DIGITALOCEAN_API_URL",
        "DIGITALOCEAN_POLL_INTERVAL",
    } <= set(LIFECYCLE_ENVIRONMENT)


@pytest.mark.parametrize("name", sorted(ENVIRONMENT))
def test_every_environment_variable_is_documented(name: str) -> None:
    pages = " ".join(p.read_text(encoding="utf-8") for p in sorted(DOCS.glob("*.md")))
    assert f"`{name}`" in pages, f"no page documents the environment variable {name}"


@pytest.mark.parametrize("name", LIFECYCLE_ENVIRONMENT, ids=str)
def test_every_environment_variable_is_in_the_lifecycle_table(name: str) -> None:
    assert f"`{name}`" in _section(_page("lifecycle.md"), "### Environment")


# -- figures and names the lifecycle page states -------------------------------------------------


READY_TIMEOUTS = REGISTRY.get("digitalocean").ready_timeouts


@pytest.mark.parametrize("kind", sorted(READY_TIMEOUTS), ids=str)
def test_every_default_timeout_is_documented(kind: str) -> None:
    assert f"| `{kind}` | {READY_TIMEOUTS[kind]:g} |" in _page("lifecycle.md")


@pytest.mark.parametrize("event_type", EVENT_TYPES, ids=str)
def test_every_event_type_is_documented(event_type: str) -> None:
    assert f"| `{event_type}` |" in _section(_page("lifecycle.md"), "### Names")


def test_every_webhook_header_is_documented() -> None:
    headers = set(re.findall(r'"(X-Atlas-[A-Za-z]+)"', inspect.getsource(webhook)))
    assert len(headers) == 4
    section = _section(_page("lifecycle.md"), "### The webhook")
    for header in headers:
        assert f"{header}: " in section, header


@pytest.mark.parametrize("kind", sorted(DO_KINDS), ids=str)
def test_replacement_rules_are_documented(kind: str) -> None:
    section = _section(_page("lifecycle.md"), "### How replacements are decided")
    rows = {
        m.group(1): m.group(2) for m in re.finditer(r"^\| `(\w+)` \| ([^|]+) \|", section, re.M)
    }
    assert kind in rows, f"lifecycle.md has no replacement row for {kind}"
    for field in DO_KINDS[kind].replace_on:
        assert f"`{field}`" in rows[kind], f"lifecycle.md: {kind} is replaced when {field} changes"


def test_every_page_is_in_the_nav() -> None:
    nav = (REPO / "mkdocs.yml").read_text(encoding="utf-8")
    for page in sorted(DOCS.glob("*.md")):
        assert f": {page.name}" in nav, f"mkdocs.yml's nav lacks {page.name}"


# -- portable kinds in portable.md ---------------------------------------------------------------


def _portable_classes() -> list[type]:
    from atlas.portable.kinds import PORTABLE_KINDS

    seen: list[type] = []
    todo = [kind.spec_class for kind in PORTABLE_KINDS.values()]
    while todo:
        cls = todo.pop(0)
        if cls in seen:
            continue
        seen.append(cls)
        hints = typing.get_type_hints(cls)
        for field in attrs.fields(cls):
            todo.extend(_nested_classes(hints[field.name]))
    return seen


@pytest.mark.parametrize(
    "kind", ["server", "volume", "database", "load_balancer", "firewall", "network"]
)
def test_every_portable_kind_has_a_section(kind: str) -> None:
    assert f"### `{kind}`" in _page("portable.md").splitlines()


@pytest.mark.parametrize("cls", _portable_classes(), ids=lambda c: c.__name__)
def test_every_portable_field_is_documented(cls: type) -> None:
    section = _section(_page("portable.md"), f"#### {cls.__name__}")
    assert section, f"portable.md has no '#### {cls.__name__}' table"
    rows = _rows(section)
    assert sorted(rows) == sorted(a.name for a in attrs.fields(cls)), cls.__name__
    for info in field_info(cls):
        row = rows[info.name]
        assert info.doc in row, f"{cls.__name__}.{info.name}: the doc text differs"
        cells = [c.strip() for c in row.strip("|").split("|")]
        required = "estimate, create" if info.required else "create" if info.create_only else "—"
        assert cells[3] == required, f"{cls.__name__}.{info.name}: 'Required for' is wrong"
        if info.ref is not None:
            assert f"Reference to `{info.ref}`" in row
