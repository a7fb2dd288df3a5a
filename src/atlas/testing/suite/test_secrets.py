"""No credential in any log record, error, or stored row."""

from __future__ import annotations

import logging
import sqlite3
import traceback
from pathlib import Path

import pytest

from atlas.exceptions import AtlasError, CredentialsError
from atlas.facade import AsyncAtlas
from atlas.model.records import OperationRecord, StepRecord
from atlas.providers.declarations import KindSample
from atlas.store import SQLiteStore
from atlas.testing.kit import SUBJECT, Kit, subject_name

#: More refusals than any provider's retries take: the call must end in an error.
EXHAUSTING = 1000


def _leaks(secret: str, records: list[logging.LogRecord]) -> list[str]:
    """The loggers of the records that carry ``secret`` anywhere."""
    found = []
    for record in records:
        text = [logging.Formatter().format(record), repr(record.args), repr(record.__dict__)]
        if any(secret in t for t in text):
            found.append(record.name)
    return sorted(set(found))


def _error_text(exc: BaseException) -> str:
    notes = getattr(exc, "__notes__", [])
    return "\n".join([repr(exc), *traceback.format_exception(exc), *map(str, notes)])


def test_no_credential_in_logs(
    atlas_kit: Kit, atlas_sample: KindSample, caplog: pytest.LogCaptureFixture
) -> None:
    """Create (in doubt, so the adoption path logs too), read, drift, delete, at DEBUG."""
    secret = atlas_kit.secret
    caplog.set_level(logging.DEBUG)
    atlas_kit.faults.fail_after_apply(atlas_sample.type)
    built = atlas_kit.run(atlas_kit.build(atlas_sample))
    fresh = atlas_kit.run(atlas_kit.provider.read(atlas_kit.owner, built.state))
    assert fresh is not None
    atlas_kit.provider.drift(built.spec, built.spec.resource(SUBJECT), fresh)
    atlas_kit.run(atlas_kit.provider.delete(atlas_kit.owner, built.state))
    assert caplog.records, "nothing was logged at DEBUG: the check would prove nothing"
    assert _leaks(secret, caplog.records) == [], "the credential is in log records"
    assert secret not in repr(atlas_kit.provider)


def test_no_credential_in_an_error(atlas_kit: Kit, caplog: pytest.LogCaptureFixture) -> None:
    """A call refused until the provider gives up: the error and what was logged."""
    secret = atlas_kit.secret
    caplog.set_level(logging.DEBUG)
    atlas_kit.faults.throttle(times=EXHAUSTING)
    with pytest.raises(AtlasError) as info:
        atlas_kit.run(atlas_kit.provider.discover(atlas_kit.owner))
    assert secret not in _error_text(info.value), "the credential is in an error"
    assert _leaks(secret, caplog.records) == [], "the credential is in log records"


def test_no_credential_in_stored_rows(atlas_kit: Kit, tmp_path: Path) -> None:
    """An apply that completes, then one that fails at the provider (its error is stored),
    on a store in a file: neither the rows nor the file hold the credential."""
    secret = atlas_kit.secret
    samples = atlas_kit.sandbox.samples
    subjects = [(subject_name(s.type), s, s.specifications) for s in samples]
    doc = atlas_kit.document(subjects)
    extra = subject_name(samples[0].type) + "-more"
    more = atlas_kit.document([*subjects, (extra, samples[0], samples[0].specifications)])
    path = tmp_path / "state.db"

    armed: list[bool] = []
    errors: list[str] = []

    def refuse_from_now_on(_op: OperationRecord, step: StepRecord | None) -> None:
        # Armed as the step starts, so that the operation itself is what fails.
        if step is not None and step.resource == extra and not armed:
            armed.append(True)
            atlas_kit.faults.throttle(times=EXHAUSTING)

    async def apply_twice() -> None:
        store = SQLiteStore(path)
        async with AsyncAtlas(
            store=store,
            registry=atlas_kit.target.registry,
            workspace=atlas_kit.owner.workspace,
            providers={atlas_kit.target.name: atlas_kit.provider},
        ) as atlas:
            op = await atlas.apply(doc)
            assert op.status == "completed", op.error
            failed = await atlas.apply(more, on_progress=refuse_from_now_on)
            assert failed.status != "completed"
            assert failed.error
            errors.append(failed.error)
        store.close()

    atlas_kit.run(apply_twice())
    with sqlite3.connect(path) as conn:
        dump = "\n".join(conn.iterdump())
    conn.close()
    assert doc["name"] in dump, "the dump holds none of the operations"
    assert errors[0][:40].replace("'", "''") in dump, "the failed operation's error is not stored"
    assert secret not in dump, "the credential is in a stored row"
    for file in tmp_path.iterdir():
        assert secret.encode() not in file.read_bytes(), f"the credential is in {file.name}"


def test_no_credential_is_refused_before_anything_is_recorded(
    atlas_kit: Kit, atlas_sample: KindSample
) -> None:
    """Built by the plugin's own factory with nothing to find its credential in: ``connect``
    (which the core calls before an operation writes anything) raises ``CredentialsError``,
    and an apply records nothing and asks the cloud nothing."""
    registry = atlas_kit.target.registry
    if registry.get(atlas_kit.target.name).factory is None:
        pytest.skip("the provider has no factory of its own")
    bare = registry.build(atlas_kit.target.name, env={})
    doc = atlas_kit.document([(SUBJECT, atlas_sample, atlas_sample.specifications)])
    store = SQLiteStore(":memory:")
    asked = atlas_kit.sandbox.requests()

    async def attempt() -> None:
        with pytest.raises(CredentialsError) as raised:
            await bare.connect()
        assert raised.value.sources_tried, "the error names no source it tried"
        atlas = AsyncAtlas(
            store=store,
            registry=registry,
            workspace=atlas_kit.owner.workspace,
            providers={atlas_kit.target.name: bare},
        )
        async with atlas:
            with pytest.raises(CredentialsError):
                await atlas.apply(doc)

    atlas_kit.run(attempt())
    assert store.list_infrastructures(atlas_kit.owner.workspace) == []
    assert atlas_kit.sandbox.requests() == asked
    assert atlas_kit.sandbox.is_empty()
