"""The conformance kit for provider plugins (a pytest plugin) and a reference memory provider.

Run the whole suite against any installed provider that offers a sandbox::

    python -m pytest --pyargs atlas.testing --atlas-provider=NAME
"""
