"""Function signatures (contract v1.1): parameter and return types for typed languages.

A signature is {"params": [type, ...], "returns": type}; a type is a scalar
(int, long, float, bool, string) or an array of one, one or two levels deep
(`int[]`, `string[][]`). Checked on the host before anything runs: every
test's arguments and expected output must be values of those types.
"""
from dataclasses import dataclass

SCALARS = ("int", "long", "float", "bool", "string")
INT_RANGE = {"int": (-2 ** 31, 2 ** 31 - 1), "long": (-2 ** 63, 2 ** 63 - 1)}
MAX_PARAMS = 16


@dataclass(frozen=True)
class Type:
    scalar: str
    depth: int  # 0 scalar, 1 T[], 2 T[][]

    def __str__(self):
        return self.scalar + "[]" * self.depth


@dataclass(frozen=True)
class Signature:
    params: tuple
    returns: Type


def parse_type(text):
    """A Type from its name, or ValueError."""
    if not isinstance(text, str):
        raise ValueError("a type must be a string")
    depth = 0
    base = text.strip()
    while base.endswith("[]"):
        base, depth = base[:-2], depth + 1
    if base not in SCALARS or depth > 2:
        raise ValueError("unknown type %r (scalars: %s; arrays T[] and T[][])" % (text[:40], ", ".join(SCALARS)))
    return Type(base, depth)


def parse(raw):
    """A Signature from the job's `signature` field, or ValueError saying what is wrong."""
    if not isinstance(raw, dict):
        raise ValueError("signature must be an object {params, returns}")
    params = raw.get("params")
    if not isinstance(params, list) or len(params) > MAX_PARAMS:
        raise ValueError("signature.params must be a list of at most %d types" % MAX_PARAMS)
    if "returns" not in raw:
        raise ValueError("signature.returns is required")
    unknown = set(raw) - {"params", "returns"}
    if unknown:
        raise ValueError("signature has unknown fields: %s" % ", ".join(sorted(unknown)))
    return Signature(tuple(parse_type(p) for p in params), parse_type(raw["returns"]))


def conforms(value, kind):
    """Whether a decoded JSON value is a value of Type `kind`."""
    if kind.depth > 0:
        inner = Type(kind.scalar, kind.depth - 1)
        return isinstance(value, list) and all(conforms(v, inner) for v in value)
    if kind.scalar in INT_RANGE:
        low, high = INT_RANGE[kind.scalar]
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
    if kind.scalar == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind.scalar == "bool":
        return isinstance(value, bool)
    return isinstance(value, str)
