"""The onboarding app's unit tests use the suite's shared fixtures (``tests/conftest.py``)."""

from tests.conftest import _block_network, _fresh_cache, answers, make_user, user  # noqa: F401
