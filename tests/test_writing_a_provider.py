"""docs/writing-a-provider.md is a working plugin: the files it shows are written out as a
package (installed the way pip would, with its entry point), its Python examples run in order
as one session, and every output it shows is what the code prints.

The page's conventions, which these tests rely on:

- a fenced block right after a line that is only a backticked path and a colon
  (`` `src/atlas_nimbus/api.py`: ``) is that file, in full;
- every other ``python`` block is an example, run with top-level ``await`` (as in
  ``python -m asyncio``) in one namespace with the examples before it; the ``text`` block after
  a paragraph starting "Output" is what it prints (as in tests/test_docs.py), and an example
  with no such block prints nothing;
- ``console`` blocks hold ``$ command`` lines, each followed by what it prints.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import NamedTuple

import pytest

import atlas
from tests.test_docs import _FENCE, _OUTPUT, DOCS

PAGE = DOCS / "writing-a-provider.md"
#: What the text before a block ends with when the block is a file.
_FILE_LABEL = re.compile(r"^`(?P<path>[\w./-]+)`:\n\n\Z", re.M)
_COMMAND = re.compile(r"^\$ (?P<command>[^\n]*)\n(?P<output>(?:(?!\$ ).*\n)*)", re.M)
#: The conformance kit's command: run by its own test, its output depends on the kit.
KIT = "python -m pytest --pyargs atlas.testing --atlas-provider=nimbus"
#: Parts of shown output that differ from run to run.
_VARYING = (
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<uuid>"),
    (re.compile(r" in \d+\.\d+s\b"), " in <seconds>s"),
)
#: Printed by the session runner after each example.
_END = "\x00"
_SESSION = f"""
import ast, asyncio, json, sys

async def main(examples):
    namespace = {{"__name__": "__main__"}}
    for index, code in enumerate(examples):
        flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
        result = eval(compile(code, f"<example {{index}}>", "exec", flags=flags), namespace)
        if result is not None:
            await result
        print({_END!r}, end="", flush=True)

asyncio.run(main(json.load(sys.stdin)))
"""


class Block(NamedTuple):
    lang: str
    body: str
    #: The file it is, or ``None`` for an example or a command.
    path: str | None
    #: What an example prints, as the page shows it.
    output: str | None


def _blocks(text: str) -> list[Block]:
    blocks = []
    for m in _FENCE.finditer(text):
        label = _FILE_LABEL.search(text, 0, m.start())
        after = _OUTPUT.match(text, m.end())
        blocks.append(
            Block(
                m.group("lang"),
                m.group("body"),
                label.group("path") if label else None,
                after.group("output") if after else None,
            )
        )
    return blocks


BLOCKS = _blocks(PAGE.read_text(encoding="utf-8"))
FILES = {b.path: b.body for b in BLOCKS if b.path is not None}
EXAMPLES = [b for b in BLOCKS if b.lang == "python" and b.path is None]
COMMANDS = [
    (m.group("command"), m.group("output"))
    for b in BLOCKS
    if b.lang == "console"
    for m in _COMMAND.finditer(b.body)
]
SHOWN = [(command, output) for command, output in COMMANDS if command != KIT]


def _masked(text: str) -> str:
    for pattern, placeholder in _VARYING:
        text = pattern.sub(placeholder, text)
    return text


def install(root: Path, files: dict[str, str]) -> Path:
    """Write ``files`` into ``root`` and install the package as ``pip install -e .`` would: its
    ``src`` on the path, with the distribution's metadata and entry points beside it."""
    for path, body in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(body, encoding="utf-8")
    package = root / "src" / "atlas_nimbus"
    for empty in (package, package / "data"):  # the page says they are empty
        (empty / "__init__.py").touch()
    project = tomllib.loads(files["pyproject.toml"])["project"]
    info = root / "src" / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n",
        encoding="utf-8",
    )
    points = [f"{name} = {target}" for name, target in project["entry-points"]["atlas"].items()]
    (info / "entry_points.txt").write_text("[atlas]\n" + "\n".join(points) + "\n")
    _checkout_plugins(root / "src")
    return root


def _checkout_plugins(site: Path) -> None:
    """The checkout's own plugins by entry point, as ``pip install -e .`` of this checkout
    would declare them: an environment installed before a plugin was added lacks its entry
    point (pluggy loads one plugin per name, so an installed one wins)."""
    declared = tomllib.loads((DOCS.parent / "pyproject.toml").read_text(encoding="utf-8"))
    wanted = declared["project"]["entry-points"]["atlas"]
    present = {ep.name for ep in importlib.metadata.entry_points(group="atlas")}
    missing = [f"{name} = {target}" for name, target in wanted.items() if name not in present]
    if missing:
        info = site / "atlas_checkout_plugins-0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            "Metadata-Version: 2.1\nName: atlas-checkout-plugins\nVersion: 0\n", encoding="utf-8"
        )
        (info / "entry_points.txt").write_text("[atlas]\n" + "\n".join(missing) + "\n")


@pytest.fixture(scope="module")
def plugin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The plugin's checkout, installed."""
    return install(tmp_path_factory.mktemp("atlas-nimbus"), FILES)


def _environment(root: Path, assignments: dict[str, str] | None = None) -> dict[str, str]:
    # The atlas under test (a worktree's, say) stays first on the path after the plugin.
    here = Path(atlas.__file__).resolve().parents[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ATLAS_", "NIMBUS_"))}
    env.update(
        PYTHONPATH=os.pathsep.join([str(root / "src"), str(here)]),
        MYPYPATH=os.pathsep.join([str(root / "src"), str(here)]),
        COLUMNS="80",
    )
    env.update(assignments or {})
    return env


def _run(
    root: Path, command: str, *, timeout: float = 300, **env: str
) -> subprocess.CompletedProcess[str]:
    """``command`` as the page shows it, from the plugin's checkout, stderr merged in."""
    words = shlex.split(command)
    assignments = dict(env)
    while "=" in words[0]:
        name, value = words.pop(0).split("=", 1)
        assignments[name] = value
    program = {"atlas": [sys.executable, "-m", "atlas"], "python": [sys.executable]}
    assert words[0] in program, f"the page runs {words[0]!r}, which this test cannot"
    return subprocess.run(
        program[words[0]] + words[1:],
        cwd=root,
        env=_environment(root, assignments),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        check=False,
    )


def run_examples(root: Path, examples: list[str]) -> list[str]:
    """What each example prints, run in order in one session from ``root``."""
    result = subprocess.run(
        [sys.executable, "-c", _SESSION],
        input=json.dumps(examples),
        cwd=root,
        env=_environment(root),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.split(_END)[:-1]


def test_the_page_shows_every_file_of_the_plugin() -> None:
    [layout] = [b.body for b in BLOCKS if b.body.startswith("atlas-nimbus/")]
    for path in FILES:
        assert path.rsplit("/", 1)[-1] in layout, f"the layout does not show {path}"
    python = {p for p, b in FILES.items() if p.endswith(".py")}
    assert python == {b.path for b in BLOCKS if b.lang == "python" and b.path is not None}
    assert {"src/atlas_nimbus/plugin.py", "pyproject.toml", "tests/test_plugin.py"} <= set(FILES)
    assert len(EXAMPLES) >= 8


def test_the_examples_print_what_the_page_shows(plugin: Path) -> None:
    printed = run_examples(plugin, [b.body for b in EXAMPLES])
    assert len(printed) == len(EXAMPLES)
    for index, (example, out) in enumerate(zip(EXAMPLES, printed, strict=True)):
        first = example.body.splitlines()[0]
        assert out == (example.output or ""), f"example {index} ({first}) prints something else"


@pytest.mark.parametrize(("command", "shown"), SHOWN, ids=[c for c, _ in SHOWN])
def test_shown_command_output_is_real(plugin: Path, command: str, shown: str) -> None:
    # The plugin's own tests need no pytest plugin, and those installed here (schemathesis,
    # pytest-asyncio) take seconds to load and warn about settings the plugin does not have.
    out = _run(plugin, command, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1").stdout
    assert _masked(out) == _masked(shown), f"`{command}` prints something else"


def test_the_plugin_passes_mypy_strict(plugin: Path) -> None:
    pytest.importorskip("mypy", reason="mypy comes with the lint extra")
    result = _run(
        plugin,
        "python -m mypy --strict --cache-dir .mypy_cache src/atlas_nimbus tests/test_plugin.py",
    )
    assert result.returncode == 0, result.stdout


def test_the_conformance_kit_passes(plugin: Path) -> None:
    assert KIT in [c for c, _ in COMMANDS], "the page no longer shows how to run the kit"
    result = _run(plugin, f"{KIT} -q -p no:cacheprovider", timeout=900)
    assert result.returncode == 0, result.stdout
    passed = re.search(r"(\d+) passed", result.stdout)
    assert passed is not None, result.stdout
    assert int(passed[1]) >= 30, result.stdout
