"""The password hasher: Django's default (PBKDF2-SHA256), computed off the event loop under a gevent worker.

A password hash is a few hundred milliseconds of CPU by design. Under gthread it blocks only its
own thread (``hashlib.pbkdf2_hmac`` releases the GIL). Under gunicorn's gevent worker every request of
the process runs on one thread and switches only on I/O, so a login or a registration would stall every
other request of that worker (chat turns, open streams, ``/health``) for the whole hash: 212 ms on
``/health`` measured during logins, against 12 ms under gthread. Run on gevent's thread pool, the hash
takes a real thread, the GIL is released while it computes, and the other greenlets go on.
"""

from __future__ import annotations

import sys
from typing import Any

from django.contrib.auth.hashers import PBKDF2PasswordHasher


def _gevent_patched() -> bool:
    """True in a process whose standard library gevent has patched (gunicorn's gevent worker)."""
    if "gevent" not in sys.modules:  # never imported: not a gevent worker (and importing it here would cost)
        return False
    from gevent import monkey

    return bool(monkey.is_module_patched("socket"))


class CooperativePBKDF2PasswordHasher(PBKDF2PasswordHasher):
    """``pbkdf2_sha256``, the same algorithm, iterations and encoded form; on gevent's thread pool when patched.

    ``verify`` and ``harden_runtime`` go through ``encode``, so logins, registrations, password checks and
    the dummy hash Django runs for an unknown account all leave the event loop.
    """

    def encode(self, password: str, salt: str, iterations: int | None = None) -> str:
        if not _gevent_patched():
            return super().encode(password, salt, iterations)
        import gevent

        encode = super().encode
        result: Any = gevent.get_hub().threadpool.apply(encode, (password, salt, iterations))
        return str(result)
