"""Go's encoding of values, as the chart's templates print them: JSON the way Go writes it, and the checksum
of a deployment item that the chart puts in an annotation."""

from __future__ import annotations

import decimal
import hashlib
import json
from typing import Any, Dict


def checksum(item: Dict[str, Any]) -> str:
    """sha256 of the chart's ``toJson`` of the item: Go's encoding/json of the values as Helm holds them."""
    return hashlib.sha256(go_json(item).encode("utf-8")).hexdigest()


def go_json(value: Any) -> str:
    """JSON as Go's encoding/json writes Helm values: sorted keys, no spaces, ``<``, ``>``, ``&``, U+2028 and
    U+2029 escaped, and every number a float64 (Helm reads values through JSON), so ``1e3`` is ``1000``."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{_go_string(str(k))}:{go_json(value[k])}" for k in sorted(value, key=str)) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(go_json(v) for v in value) + "]"
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return go_number(float(value))
    return _go_string(value if isinstance(value, str) else str(value))


def _go_string(text: str) -> str:
    out = json.dumps(text, ensure_ascii=False)
    for char, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        out = out.replace(char, escaped)
    return out


def go_number(number: float) -> str:
    """strconv.FormatFloat(f, 'f' or 'e', -1, 64) as encoding/json picks it: the shortest digits that
    read back as the same float, positional from 1e-6 to 1e21, else an exponent without a leading zero."""
    if number == 0:
        return "0"
    shortest = decimal.Decimal(repr(number)).normalize()
    if 1e-6 <= abs(number) < 1e21:
        return format(shortest, "f")
    mantissa, _, exponent = format(shortest, "e").partition("e")
    return f"{mantissa}e{'-' if exponent.startswith('-') else '+'}{int(exponent.lstrip('+-'))}"
