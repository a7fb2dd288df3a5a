"""The conformance suite: run with ``python -m pytest --pyargs atlas.testing
--atlas-provider=NAME``. docs/testing-providers.md says what each module checks."""
