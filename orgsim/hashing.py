"""Deterministic, cheap pseudo-randomness.

Everything the simulator shows is a pure function of the scenario seed and an index, so nothing
is ever materialized: a 64-bit integer mixer (splitmix64's finalizer) costs well under a
microsecond in CPython, far less than hashlib, and is good enough to spread ids and choices.
"""

from __future__ import annotations

import math
import zlib

M64 = (1 << 64) - 1
_INV_2_64 = 1.0 / float(1 << 64)
_B32 = "abcdefghijklmnopqrstuvwxyz234567"
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def mix(x: int) -> int:
    """splitmix64 finalizer: a bijection on 64-bit integers with good avalanche."""
    x = (x + 0x9E3779B97F4A7C15) & M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


def h2(a: int, b: int) -> int:
    """Hash of an ordered pair; used to derive sub-seeds (seed, purpose) -> seed."""
    return mix(mix(a) ^ (b * 0xD6E8FEB86659FD93 & M64))


def text_key(text: str) -> int:
    """A stable integer for a label, so sub-seeds can be named ("accounts", "tags", ...)."""
    return zlib.crc32(text.encode()) | (len(text) << 32)


def sub(seed: int, label: str, *parts: int) -> int:
    """Seed for a named purpose and optional integer coordinates."""
    x = h2(seed, text_key(label))
    for p in parts:
        x = h2(x, p)
    return x


def unit(x: int) -> float:
    """Map a 64-bit hash to [0, 1)."""
    return (x & M64) * _INV_2_64


def stochastic_round(value: float, x: int) -> int:
    """Round up with probability equal to the fraction, so many small shares keep their sum."""
    base = math.floor(value)
    return base + (1 if unit(x) < value - base else 0)


def b32(x: int, n: int) -> str:
    """n lowercase base32 characters from a hash (ids such as ou-xxxx-yyyyyyyy)."""
    out = []
    for _ in range(n):
        out.append(_B32[x & 31])
        x >>= 5
        if x == 0:
            x = mix(n)
    return "".join(out)


def alnum(x: int, n: int) -> str:
    """n mixed-case alphanumerics (the random suffix of a Secrets Manager ARN)."""
    out = []
    for i in range(n):
        out.append(_ALNUM[x % 62])
        x //= 62
        if x == 0:
            x = mix(x + i + 1)
    return "".join(out)


def coprime_multiplier(n: int, salt: int) -> int:
    """A multiplier coprime with n near the golden ratio of n, for an affine permutation."""
    if n <= 2:
        return 1
    a = int(n * 0.6180339887) + (salt % max(1, n // 7))
    a = max(1, a % n)
    while math.gcd(a, n) != 1:
        a += 1
        if a >= n:
            a = 1
    return a
