"""The path and query string in the exact form S3 re-derives when it checks a signature.

awscrt, configured for S3 (no double encoding, no path normalisation), signs the path and query it is given
verbatim. S3 rebuilds them from the wire. The two agree only if what goes on the wire is already canonical, so the
function returns canonical values and signs those same strings.

S3's rules (S3 API reference, "Create a canonical request"):
- "URI-encode each byte except the unreserved characters: 'A'-'Z', 'a'-'z', '0'-'9', '-', '.', '_', and '~'";
  "the space character is %20"; "letters in the hexadecimal value must be uppercase".
- For the path, "/" stays as is; S3 does not normalise: "." and ".." segments and "//" are part of the key.
- The wire path is decoded once; so "%2F" means "/" and "%41" means "A". A raw "+" is a literal plus: S3 would read
  it as a space (a legacy form rule), so it must go out as "%2B".
- Query: "Sort the parameter names by character code point in ascending order", each "name=value" with both
  encoded the same way ("/" becomes %2F), and "name=" when the value is empty.
"""
from __future__ import annotations

import re
from typing import Collection, List, Tuple
from urllib.parse import unquote_to_bytes

from .errors import BadRequest

__all__ = ["canonical_uri", "canonical_query_string"]

# Already canonical, the common case, answered without building bytes: unreserved characters, and upper-case escapes
# of bytes that must stay escaped. That is how browsers send a non-ASCII key (UTF-8, upper-case hex). An escape of an
# unreserved byte (hex 2D 2E 30-39 41-5A 5F 61-7A 7E), or in a path of "/" (2F), decodes to a character that S3's
# form writes raw, so it takes the slow path.
_KEPT_ESCAPE = r"%(?:[89A-F][0-9A-F]|(?!2[DE]|3[0-9]|4[1-9A-F]|5[0-9AF]|6[1-9A-F]|7[0-9AE])[0-7][0-9A-F])"
# Written as "run (escape run)*", where an escape cannot begin a run, so that a string matches in exactly one way:
# "(?:run+|escape)*" would try every split of every run before failing, exponential in the length of the string.
_CANONICAL_PATH = re.compile(rf"[A-Za-z0-9\-._~/]*(?:(?!%2F){_KEPT_ESCAPE}[A-Za-z0-9\-._~/]*)*")
_CANONICAL_COMPONENT = re.compile(rf"[A-Za-z0-9\-._~]*(?:{_KEPT_ESCAPE}[A-Za-z0-9\-._~]*)*")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
# Escaping by table, one byte (decoded as one Latin-1 character) at a time inside str.translate: the result is
# urllib's quote(), but without its per-byte Python lookups, which made a key with a few non-ASCII characters cost a
# third of a signature.
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_COMPONENT_TABLE = [chr(byte) if byte in _UNRESERVED else f"%{byte:02X}" for byte in range(256)]
_PATH_TABLE = [chr(byte) if byte in _UNRESERVED or byte == ord("/") else f"%{byte:02X}" for byte in range(256)]


def _decode_once(text: str, part: str) -> bytes:
    try:
        if "%" not in text:  # raw unicode, say: nothing to decode
            return text.encode("utf-8")
        match = _BAD_ESCAPE.search(text)
        if match:
            raise BadRequest(part=part, reason=f"malformed percent-escape at offset {match.start()}")
        return unquote_to_bytes(text)
    except UnicodeEncodeError:
        raise BadRequest(part=part, reason="not valid Unicode (a lone surrogate)") from None


def canonical_uri(path: str) -> str:
    """The path decoded once and re-encoded with S3's unreserved set; a canonical path comes back unchanged."""
    if _CANONICAL_PATH.fullmatch(path):
        return path
    return _decode_once(path, "path").decode("latin-1").translate(_PATH_TABLE)


def _canonical_component(text: str) -> str:
    """A query value decoded once and re-encoded with the unreserved set ("/" becomes %2F)."""
    if _CANONICAL_COMPONENT.fullmatch(text):
        return text
    return _decode_once(text, "query string").decode("latin-1").translate(_COMPONENT_TABLE)


def _allowed_params(querystring: str, allowlist: Collection[str]) -> List[Tuple[str, str]]:
    # Allow-listed names are made of unreserved characters (config.py checks), so a name that decodes to one of
    # them is already in canonical form once decoded.
    kept = []
    for piece in querystring.split("&"):
        raw_name, _, raw_value = piece.partition("=")
        name = raw_name if "%" not in raw_name else _decode_once(raw_name, "query string").decode("utf-8", "replace")
        if name in allowlist:
            kept.append((name, _canonical_component(raw_value)))
    return kept


def canonical_query_string(querystring: str, allowlist: Collection[str]) -> str:
    """The allow-listed parameters, canonically encoded and sorted; every other parameter is dropped."""
    if not querystring:
        return ""
    return "&".join(f"{name}={value}" for name, value in sorted(_allowed_params(querystring, allowlist)))
