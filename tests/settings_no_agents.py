"""The test settings without the ``agents`` app: the form flow must work on its own.

Used by ``make test``'s second pytest run (``--ds=tests.settings_no_agents``) over
the form-flow and admin tests; the operations' rollback of the agent columns relies on it.
"""

from tests.settings import *  # noqa: F403
from tests.settings import INSTALLED_APPS

INSTALLED_APPS = [app for app in INSTALLED_APPS if app != "agents"]
