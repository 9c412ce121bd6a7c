"""A package only so that pytest imports tests/conftest.py as ``tests.conftest`` with the project's
root on sys.path. As a plain folder, tests/ itself would go on sys.path, and there ``plugins``
would name tests/plugins (a namespace package) instead of the modules we ship."""
