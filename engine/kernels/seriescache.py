"""The scanner's series cache: series bytes -> slot, in an open-addressing hash table
whose keys live in a byte arena (numba).

A hit is always confirmed by comparing the bytes, never by the hash alone. Table entries
hold ``slot + 1`` (0 = empty); the caller keeps the table at most half full.
"""

from __future__ import annotations

import numba as nb
import numpy as np

__all__ = ["lookup", "rehash", "same_bytes"]

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
_MIX = np.uint64(0x9E3779B97F4A7C15)


@nb.njit(cache=True)
def _hash(buf, a, b):
    """A 64-bit hash of ``buf[a:b]``, eight bytes per multiply (identity is always
    confirmed by comparing the bytes; the hash only picks the bucket)."""
    h = _FNV_OFFSET ^ np.uint64(b - a)
    k = a
    while k + 8 <= b:
        w = (
            np.uint64(buf[k])
            | (np.uint64(buf[k + 1]) << np.uint64(8))
            | (np.uint64(buf[k + 2]) << np.uint64(16))
            | (np.uint64(buf[k + 3]) << np.uint64(24))
            | (np.uint64(buf[k + 4]) << np.uint64(32))
            | (np.uint64(buf[k + 5]) << np.uint64(40))
            | (np.uint64(buf[k + 6]) << np.uint64(48))
            | (np.uint64(buf[k + 7]) << np.uint64(56))
        )
        h = (h ^ w) * _MIX
        h ^= h >> np.uint64(29)
        k += 8
    while k < b:
        h = (h ^ np.uint64(buf[k])) * _FNV_PRIME
        k += 1
    h ^= h >> np.uint64(32)
    h *= _MIX
    h ^= h >> np.uint64(29)
    return h


@nb.njit(cache=True)
def same_bytes(buf, a, b, arena, off):
    """Whether ``buf[a:b]`` equals ``arena[off:off + b - a]``: eight bytes per load
    (unaligned loads are fine on the targets numba supports), in one branch-free loop
    the compiler turns into vector instructions (series bytes are short, and equal far
    more often than not)."""
    ln = b - a
    m = ln & ~7
    x = buf[a : a + m].view(np.uint64)
    y = arena[off : off + m].view(np.uint64)
    d = np.uint64(0)
    for q in range(m >> 3):
        d |= x[q] ^ y[q]
    for q in range(m, ln):
        d |= np.uint64(buf[a + q] ^ arena[off + q])
    return d == 0


@nb.njit(cache=True)
def lookup(buf, a, b, ht, slot_off, slot_len, slot_hash, arena, st):
    """Cache slot of the series bytes ``buf[a:b]``, inserting them when new."""
    h = _hash(buf, a, b)
    mask = len(ht) - 1
    pos = np.int64(h & np.uint64(mask))
    ln = b - a
    while True:
        e = ht[pos]
        if e == 0:
            s = st[0]
            off = st[1]
            arena[off : off + ln] = buf[a:b]
            slot_off[s] = off
            slot_len[s] = ln
            slot_hash[s] = h
            ht[pos] = s + 1
            st[0] = s + 1
            st[1] = off + ln
            return s
        s = e - 1
        if slot_hash[s] == h and slot_len[s] == ln and same_bytes(buf, a, b, arena, slot_off[s]):
            return s
        pos = (pos + 1) & mask


@nb.njit(cache=True)
def rehash(ht, slot_hash, n_slots):
    """Refill an empty (zeroed) hash table from the slots' stored hashes."""
    mask = len(ht) - 1
    for s in range(n_slots):
        pos = np.int64(slot_hash[s] & np.uint64(mask))
        while ht[pos] != 0:
            pos = (pos + 1) & mask
        ht[pos] = s + 1
