"""Static files under gunicorn with no build step: collected and hashed when they can be, the apps' own until then.

The Docker image runs ``collectstatic`` at build time, and WhiteNoise serves the hashed,
compressed copies in ``STATIC_ROOT`` with far-future caching. gunicorn started from a
checkout has no such copies: with WhiteNoise's manifest storage alone, every page that
names a static file (``/admin/``, ``/api/docs/``) would answer 500 until someone ran
``collectstatic``. Until the manifest exists, this storage hands out the files' plain
URLs instead, and ``settings.WHITENOISE_USE_FINDERS`` lets WhiteNoise serve them from
the apps (short caching, no compression). Running ``collectstatic`` and restarting
switches to the hashed files.
"""

from __future__ import annotations

from typing import Any

from whitenoise.storage import CompressedManifestStaticFilesStorage


class CollectedOrAppStaticFilesStorage(CompressedManifestStaticFilesStorage):
    """WhiteNoise's compressed manifest storage, with plain URLs while nothing has been collected."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Read once, like the manifest itself: a process sees one or the other, never a mix.
        self.collected = self.manifest_storage.exists(self.manifest_name)

    def url(self, name: str | None, force: bool = False) -> str:
        """The hashed URL once collected; before that, the plain one that WhiteNoise's finders serve."""
        if self.collected:
            return str(super().url(name, force))
        return str(self._url(lambda clean_name: clean_name, name, force))
