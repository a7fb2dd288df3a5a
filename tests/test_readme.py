"""README's commands and .ci/run stay in step: CI runs exactly README's test command."""

from __future__ import annotations

import re

from tests.conftest import REPO


def readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    return re.findall(r"```sh\n(.+?)\n```", text)


def test_readme_gives_the_two_newcomer_commands() -> None:
    commands = readme_commands()
    assert len(commands) == 2
    main_job, tests = commands
    assert "atlas " in main_job
    assert "pytest" in tests


def test_ci_runs_exactly_readme_test_command() -> None:
    ci = (REPO / ".ci" / "run").read_text().splitlines()
    assert readme_commands()[1] in ci


def test_readme_example_files_exist() -> None:
    for name in re.findall(r"examples/[\w.-]+", (REPO / "README.md").read_text()):
        assert (REPO / name).exists(), name
