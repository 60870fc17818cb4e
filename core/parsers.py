"""The API's JSON parser: DRF's, refusing bodies nested deeper than ``JSON_MAX_DEPTH``.

Python's ``json`` parses nested arrays and objects recursively: about 1,000 levels of
``[`` (2 KB) raise ``RecursionError``, which DRF does not catch, so the request ended
in a 500 with a traceback. The depth is measured first, without recursion, and a body
over the cap is a 400 ``parse_error`` like any malformed JSON. No request of this API
needs more than a few levels (a workout plan has six).
"""

from __future__ import annotations

import io
import re
from itertools import accumulate
from typing import IO, Any

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError

# A JSON string, or an unterminated one up to the end: once a quote opens a match, the match
# never fails, so the scan stays linear whatever the body (no retry from each escaped quote).
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_DEPTH_CHANGE = {"[": 1, "{": 1, "]": -1, "}": -1}


def json_depth(text: str) -> int:
    """How deeply ``text`` nests arrays and objects (brackets inside strings do not count)."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(map(_DEPTH_CHANGE.__getitem__, brackets)), default=0)


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser behind a nesting cap (``JSON_MAX_DEPTH``, 400 ``parse_error`` above it)."""

    def parse(self, stream: IO[Any], media_type: str | None = None, parser_context: Any = None) -> Any:
        raw = stream.read()  # already bounded: DRF reads the body through DATA_UPLOAD_MAX_MEMORY_SIZE
        # Text codecs only: DRF refuses a charset such as bz2_codec that would decompress the body.
        encoding = parsers.get_encoding(parser_context or {})  # type: ignore[attr-defined]
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        cap = settings.JSON_MAX_DEPTH
        # Fewer opening brackets than the cap cannot nest deeper than it: most bodies skip the scan.
        if text.count("[") + text.count("{") > cap and json_depth(text) > cap:
            raise ParseError(f"JSON parse error - the body is nested more than {cap} levels deep.")
        return super().parse(io.BytesIO(raw), media_type, parser_context)
