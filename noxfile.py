"""Development sessions: ``nox -s tests``, ``lint``, ``typing``, ``docs`` (and, asked for by
name, ``record_cassettes``, ``record_aws_cassettes``, ``bench``, ``image``).

Each session installs the project from its own files into a fresh virtualenv.
"""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "typing", "tests", "docs"]
nox.options.reuse_existing_virtualenvs = True

PYTHONS = ["3.11", "3.12"]


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The test suite (cassettes replayed, emulator in-process, no network)."""
    session.install("-e", ".[test]")
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: lint and formatting."""
    session.install("-e", ".[lint]")
    session.run("ruff", "check", "src", "tests", "noxfile.py")
    session.run("ruff", "format", "--check", "src", "tests", "noxfile.py")


@nox.session
def typing(session: nox.Session) -> None:
    """mypy --strict over both packages."""
    session.install("-e", ".[lint,test]")
    session.run("mypy", "--strict", "src")


@nox.session
def docs(session: nox.Session) -> None:
    """The documentation, built with warnings as errors."""
    session.install("-e", ".[docs]")
    session.run("mkdocs", "build", "--strict", "--site-dir", "build/site")


@nox.session(default=False)
def record_cassettes(session: nox.Session) -> None:
    """Re-record the DigitalOcean cassettes: against the emulator on loopback, or with
    ``nox -s record_cassettes -- --real`` against the real API ($DIGITALOCEAN_TOKEN; costs
    money). See docs/cassettes.md."""
    session.install("-e", ".[test]")
    session.run("python", "-m", "tests.atlas_digitalocean.recording", *session.posargs)


@nox.session(default=False)
def record_aws_cassettes(session: nox.Session) -> None:
    """Re-record the AWS cassettes: against an emulator of the session's own on loopback (the
    default), one already running (``-- --endpoint http://127.0.0.1:5000``), or AWS itself
    (``-- --real``, with the credential of the environment; costs money; scrubbed before
    anything is written). See docs/cassettes.md."""
    session.install("-e", ".[test]")
    session.run("python", "-m", "tests.atlas_aws.recording", *session.posargs)


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """The benchmarks, printed as tables (see benchmarks/README.md): ``nox -s bench`` for the
    full run (about 25 minutes), ``nox -s bench -- --quick`` to try it in a minute or two.
    Installs the libraries atlas is compared with (extra "bench"); nothing leaves 127.0.0.1."""
    session.install("-e", ".[bench]")
    session.run("python", "-m", "benchmarks", *session.posargs)


@nox.session(python=False, default=False)
def image(session: nox.Session) -> None:
    """Build the container image (Dockerfile) on a local stand-in for python:3.11-slim and
    check it from inside: ``atlas --version``, a user that is not root, ``/api/v1/health``
    answered by the entry point, the HEALTHCHECK, and a refusal to start without
    authentication. Needs root and buildah (the base script installs it); 1-3 minutes the
    first time. See scripts/image-check."""
    session.run("bash", "scripts/image-check", external=True)
