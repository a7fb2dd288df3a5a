"""The conformance kit for provider plugins (a pytest plugin) and a reference memory provider.

Run the whole suite against any installed provider that offers a sandbox::

    python -m pytest --pyargs atlas.testing --atlas-provider=NAME

:mod:`atlas.testing.plugin` is the pytest plugin (the option, the fixtures, the
parametrisation over the sandbox's samples); :mod:`atlas.testing.kit` what each test works
with; :mod:`atlas.testing.suite` the tests; :mod:`atlas.testing.memory` the reference provider.
docs/testing-providers.md describes it all for plugin authors.
"""
