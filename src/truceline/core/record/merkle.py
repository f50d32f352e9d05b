"""RFC 6962 / RFC 9162 Merkle trees: hashing, incremental roots, proofs and their verifiers.

A tree over ``n`` leaves is addressed by *full nodes*: node ``(level, index)`` is the hash of
the perfect subtree over leaves ``[index * 2**level, (index + 1) * 2**level)``. Only full nodes
are ever stored (they never change once complete, which is what tlog tiles persist); the few
"ephemeral" nodes on the right edge of a tree that is not a power of two are recomputed from
full nodes. Proof generation therefore needs only a ``get_node(level, index) -> bytes``
function, which a store can back with a table or with hash tiles, and costs O(log n) reads.

Verifiers are strict on purpose: every hash that is hashed must be exactly 32 bytes, sizes and
indices are non-negative integers below 2**64, a consistency proof from size 0 is rejected (it
proves nothing), and every failure raises :class:`~truceline.errors.IntegrityError` naming the
reason. The one exception follows transparency-dev/merkle so that peers agree on every probe:
a proof between equal trees with an empty proof only compares the two roots' bytes (an empty
subtree needs only the empty root), whatever their length, since nothing is hashed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from hashlib import sha256

import numpy as np
import numpy.typing as npt

from truceline.errors import IntegrityError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "CompactRange",
    "HashLevels",
    "NodeReader",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "range_hash",
    "root_from_inclusion_proof",
    "root_of",
    "subtree_consistency_proof",
    "verify_consistency",
    "verify_inclusion",
    "verify_subtree_consistency",
    "verify_subtree_inclusion",
]

HASH_SIZE = 32
#: MTH({}) = SHA-256 of the empty string.
EMPTY_ROOT = sha256(b"").digest()
_MAX = 1 << 64

#: ``get_node(level, index)``: the full node over leaves [index * 2**level, (index + 1) * 2**level).
NodeReader = Callable[[int, int], bytes]


def leaf_hash(data: bytes) -> bytes:
    """``SHA-256(0x00 || data)``: the prefix keeps a leaf from ever equalling an interior node."""
    return sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``."""
    return sha256(b"\x01" + left + right).digest()


def root_of(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH of a whole list of leaf hashes (RFC 9162 §2.1.1), in O(n) time, O(log n) memory."""
    cr = CompactRange()
    cr.extend(leaf_hashes)
    return cr.root()


# --------------------------------------------------------------------------- incremental state


class CompactRange:
    """The state of a growing tree: one hash per set bit of ``size`` (the "peaks").

    Peaks are the full nodes covering ``[0, size)``, largest (leftmost) first. That is all a
    log needs in memory to append and to know its root, whatever its size: 24 hashes at 10M.
    A store persists ``size`` and ``peaks`` and restores with :meth:`from_peaks`.
    """

    __slots__ = ("_peaks", "size")

    def __init__(self) -> None:
        self.size = 0
        self._peaks: list[bytes] = []

    @classmethod
    def from_peaks(cls, size: int, peaks: Sequence[bytes]) -> CompactRange:
        """Restore a state saved from :attr:`peaks`; rejects a peak count that does not fit."""
        _check_size("size", size)
        if len(peaks) != size.bit_count():
            raise IntegrityError(
                f"a tree of size {size} has {size.bit_count()} peaks, got {len(peaks)}",
                field="peaks",
            )
        for i, p in enumerate(peaks):
            _check_hash(f"peaks[{i}]", p)
        cr = cls()
        cr.size = size
        cr._peaks = list(peaks)
        return cr

    @property
    def peaks(self) -> tuple[bytes, ...]:
        return tuple(self._peaks)

    def append(self, leaf_hash: bytes) -> list[tuple[int, int, bytes]]:
        """Append one leaf hash; return the full nodes it completed as ``(level, index, hash)``.

        The returned nodes (the leaf itself first) are exactly what a store must keep for
        :func:`inclusion_proof` and :func:`consistency_proof` to work later.
        """
        if len(leaf_hash) != HASH_SIZE:
            raise IntegrityError("leaf hash must be 32 bytes", field="leaf_hash")
        index = self.size
        peaks = self._peaks
        h = leaf_hash
        new = [(0, index, h)]
        level = 0
        s = index
        while s & 1:
            h = sha256(b"\x01" + peaks.pop() + h).digest()
            s >>= 1
            level += 1
            new.append((level, s, h))
        peaks.append(h)
        self.size = index + 1
        return new

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        """Append many leaf hashes (the fast path: no node bookkeeping returned)."""
        peaks = self._peaks
        size = self.size
        for h in leaf_hashes:
            if len(h) != HASH_SIZE:
                self.size = size
                raise IntegrityError("leaf hash must be 32 bytes", field="leaf_hash")
            s = size
            while s & 1:
                h = sha256(b"\x01" + peaks.pop() + h).digest()
                s >>= 1
            peaks.append(h)
            size += 1
        self.size = size

    def root(self) -> bytes:
        """The RFC 6962 root of the first ``size`` leaves."""
        if not self._peaks:
            return EMPTY_ROOT
        it = reversed(self._peaks)
        r = next(it)
        for p in it:
            r = sha256(b"\x01" + p + r).digest()
        return r

    def copy(self) -> CompactRange:
        return CompactRange.from_peaks(self.size, self._peaks)


# --------------------------------------------------------------------------- in-memory levels


class HashLevels:
    """Every full node of a tree, one numpy ``(count, 32)`` array per level.

    The in-memory counterpart of stored hash tiles: use :meth:`get_node` as the ``NodeReader``
    for proofs. Building hashes each level in one pass over a contiguous buffer.
    """

    def __init__(self, levels: list[npt.NDArray[np.uint8]], size: int) -> None:
        self.levels = levels
        self.size = size

    @classmethod
    def from_leaf_hashes(cls, leaf_hashes: Sequence[bytes] | npt.NDArray[np.uint8]) -> HashLevels:
        if isinstance(leaf_hashes, np.ndarray):
            base = np.ascontiguousarray(leaf_hashes, dtype=np.uint8).reshape(-1, HASH_SIZE)
        else:
            for i, h in enumerate(leaf_hashes):
                _check_hash(f"leaf_hashes[{i}]", h)
            base = np.frombuffer(b"".join(leaf_hashes), dtype=np.uint8).reshape(-1, HASH_SIZE)
        levels = [base]
        cur = base
        while len(cur) >= 2:
            pairs = len(cur) // 2
            buf = np.empty((pairs, 1 + 2 * HASH_SIZE), dtype=np.uint8)
            buf[:, 0] = 1
            buf[:, 1:] = cur[: 2 * pairs].reshape(pairs, 2 * HASH_SIZE)
            mv = memoryview(buf.tobytes())
            w = 1 + 2 * HASH_SIZE
            out = b"".join([sha256(mv[i : i + w]).digest() for i in range(0, len(mv), w)])
            cur = np.frombuffer(out, dtype=np.uint8).reshape(-1, HASH_SIZE)
            levels.append(cur)
        return cls(levels, len(base))

    def get_node(self, level: int, index: int) -> bytes:
        return self.levels[level][index].tobytes()

    def root(self) -> bytes:
        return range_hash(0, self.size, self.get_node)


# --------------------------------------------------------------------------- proof generation


def range_hash(lo: int, hi: int, get_node: NodeReader) -> bytes:
    """MTH of leaves ``[lo, hi)`` from full nodes, for ``lo`` aligned as RFC 6962 splits it.

    The range is split into perfect subtrees by the binary digits of ``hi - lo`` (largest
    first) and folded right to left, which is exactly how RFC 6962 hashes an unbalanced tree.
    """
    if hi <= lo:
        if hi == lo == 0:
            return EMPTY_ROOT
        raise IntegrityError(f"empty or inverted range [{lo}, {hi})", field="range")
    nodes: list[bytes] = []
    pos = lo
    n = hi - lo
    for level in range(n.bit_length() - 1, -1, -1):
        if n >> level & 1:
            nodes.append(get_node(level, pos >> level))
            pos += 1 << level
    r = nodes[-1]
    for h in reversed(nodes[:-1]):
        r = sha256(b"\x01" + h + r).digest()
    return r


def _subtree(lo: int, level: int, size: int, get_node: NodeReader) -> bytes:
    """Hash of the (possibly truncated) subtree at ``level`` starting at leaf ``lo``."""
    hi = min(lo + (1 << level), size)
    if hi - lo == 1 << level:
        return get_node(level, lo >> level)
    return range_hash(lo, hi, get_node)


def _reader(nodes: NodeReader | Sequence[bytes]) -> NodeReader:
    """A node reader as given, or one over an in-memory list of leaf hashes (O(n) to build)."""
    return nodes if callable(nodes) else HashLevels.from_leaf_hashes(nodes).get_node


def inclusion_proof(index: int, size: int, nodes: NodeReader | Sequence[bytes]) -> list[bytes]:
    """PATH(index, D[size]) of RFC 9162 §2.1.3.1, bottom-up, from O(log n) node reads.

    ``nodes`` is a ``get_node(level, index)`` function (a store's) or a list of leaf hashes.
    """
    get_node = _reader(nodes)
    _check_size("size", size)
    _check_size("index", index)
    if index >= size:
        raise IntegrityError(f"index {index} is not below size {size}", field="index")
    inner = (index ^ (size - 1)).bit_length()
    proof = []
    for level in range(inner):
        sib = (index >> level) ^ 1
        proof.append(_subtree(sib << level, level, size, get_node))
    for level in range(inner, size.bit_length()):
        if index >> level & 1:
            proof.append(get_node(level, (index >> level) - 1))
    return proof


def consistency_proof(size1: int, size2: int, nodes: NodeReader | Sequence[bytes]) -> list[bytes]:
    """PROOF(size1, D[size2]) of RFC 9162 §2.1.4.1 (empty when the sizes are equal).

    ``nodes`` is a ``get_node(level, index)`` function (a store's) or a list of leaf hashes.
    """
    get_node = _reader(nodes)
    _check_size("size1", size1)
    _check_size("size2", size2)
    if not 0 < size1 <= size2:
        raise IntegrityError(
            f"consistency needs 0 < size1 <= size2, got {size1}, {size2}", field="size1"
        )
    if size1 == size2:
        return []
    return subtree_consistency_proof(0, size1, size2, get_node)


def subtree_consistency_proof(
    start: int, end: int, size: int, nodes: NodeReader | Sequence[bytes]
) -> list[bytes]:
    """Proof that subtree ``[start, end)`` sits in the tree of ``size`` (MTC draft, §4.4.1).

    For ``start == 0`` this is the RFC 9162 consistency proof. Follows SUBPROOF recursively
    (depth <= 64); at most one node per call is ephemeral, the rest are full-node reads.
    """
    get_node = _reader(nodes)
    _check_subtree(start, end)
    _check_size("size", size)
    if end > size:
        raise IntegrityError(f"subtree end {end} is beyond size {size}", field="end")
    if start == end:
        return []
    proof: list[bytes] = []

    def sub(start: int, end: int, base: int, n: int, known: bool) -> None:
        if start == 0 and end == n:
            if not known:
                proof.append(range_hash(base, base + n, get_node))
            return
        k = 1 << ((n - 1).bit_length() - 1)
        if end <= k:
            sub(start, end, base, k, known)
            proof.append(range_hash(base + k, base + n, get_node))
        elif k <= start:
            sub(start - k, end - k, base + k, n - k, known)
            proof.append(get_node(k.bit_length() - 1, base >> (k.bit_length() - 1)))
        else:
            sub(0, end - k, base + k, n - k, False)
            proof.append(get_node(k.bit_length() - 1, base >> (k.bit_length() - 1)))

    sub(start, end, 0, size, True)
    return proof


# --------------------------------------------------------------------------- verification


def _check_size(name: str, v: object) -> None:
    if type(v) is not int or not 0 <= v < _MAX:
        raise IntegrityError(f"{name} must be an integer in [0, 2**64), got {v!r}", field=name)


def _check_hash(name: str, h: object) -> None:
    if not isinstance(h, bytes | bytearray | memoryview) or len(h) != HASH_SIZE:
        got = len(h) if isinstance(h, bytes | bytearray | memoryview) else type(h).__name__
        raise IntegrityError(f"{name} must be a 32-byte hash, got {got}", field=name)


def _check_proof(proof: object) -> list[bytes]:
    if not isinstance(proof, list | tuple):
        raise IntegrityError("proof must be a list of hashes", field="proof")
    for i, h in enumerate(proof):
        _check_hash(f"proof[{i}]", h)
    return [bytes(h) for h in proof]


def _check_subtree(start: int, end: int) -> None:
    """A subtree is valid when a tree node covers it: start is a multiple of bit_ceil(len)."""
    _check_size("start", start)
    _check_size("end", end)
    if start > end:
        raise IntegrityError(f"subtree start {start} is after end {end}", field="start")
    n = end - start
    if start and n and start % (1 << (n - 1).bit_length()):
        raise IntegrityError(
            f"[{start}, {end}) is not a subtree: start is not a multiple of bit_ceil({n})",
            field="start",
        )


def _mismatch(what: str) -> IntegrityError:
    return IntegrityError(f"{what} does not match the proof", field=what.replace(" ", "_"))


def _chain_inner(seed: bytes, proof: Sequence[bytes], index: int) -> bytes:
    for i, h in enumerate(proof):
        seed = node_hash(seed, h) if (index >> i) & 1 == 0 else node_hash(h, seed)
    return seed


def _chain_border(seed: bytes, proof: Sequence[bytes]) -> bytes:
    for h in proof:
        seed = node_hash(h, seed)
    return seed


def root_from_inclusion_proof(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes]
) -> bytes:
    """The root that ``proof`` implies for ``leaf_hash`` at ``index`` in a tree of ``size``."""
    _check_size("index", index)
    _check_size("size", size)
    _check_hash("leaf_hash", leaf_hash)
    p = _check_proof(proof)
    if index >= size:
        raise IntegrityError(f"index {index} is not below size {size}", field="index")
    inner = (index ^ (size - 1)).bit_length()
    border = (index >> inner).bit_count()
    if len(p) != inner + border:
        raise IntegrityError(
            f"inclusion proof has {len(p)} hashes, expected {inner + border}", field="proof"
        )
    return _chain_border(_chain_inner(bytes(leaf_hash), p[:inner], index), p[inner:])


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Raise IntegrityError unless ``proof`` shows ``leaf_hash`` at ``index`` under ``root``."""
    _check_hash("root", root)
    if root_from_inclusion_proof(leaf_hash, index, size, proof) != root:
        raise _mismatch("root")


def verify_subtree_inclusion(
    leaf_hash: bytes, index: int, start: int, end: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Inclusion of a leaf in the subtree ``[start, end)`` whose hash is ``root``."""
    _check_subtree(start, end)
    _check_size("index", index)
    if not start <= index < end:
        raise IntegrityError(f"index {index} is outside [{start}, {end})", field="index")
    _check_hash("root", root)
    if root_from_inclusion_proof(leaf_hash, index - start, end - start, proof) != root:
        raise _mismatch("root")


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Raise IntegrityError unless the tree of ``size2`` extends the tree of ``size1``.

    Equal sizes with an empty proof follow transparency-dev/merkle exactly: the two roots are
    compared byte for byte and their length is not checked. No hashing happens in that case,
    so equal bytes can only mean "the same tree" and a hash of another length cannot be
    smuggled into a proof; every other case requires 32-byte hashes. Peers must agree on
    which proofs verify, or one party's "consistent" is another's "fork".
    """
    _check_size("size1", size1)
    _check_size("size2", size2)
    p = _check_proof(proof)
    if size1 == 0:
        raise IntegrityError("a consistency proof from size 0 proves nothing", field="size1")
    if size2 < size1:
        raise IntegrityError(f"size2 {size2} is smaller than size1 {size1}", field="size2")
    if size1 == size2:
        if p:
            raise IntegrityError("equal sizes need an empty proof", field="proof")
        _same_root(root1, root2, "equal sizes but different roots: a fork")
        return
    _check_hash("root1", root1)
    _check_hash("root2", root2)
    _verify_subtree_consistency(0, size1, size2, p, bytes(root1), bytes(root2))


def _same_root(a: object, b: object, message: str) -> None:
    """Byte equality of two roots (any length, as upstream's ``verifyMatch``)."""
    got = []
    for name, h in (("root1", a), ("root2", b)):
        if not isinstance(h, bytes | bytearray | memoryview):
            raise IntegrityError(f"{name} must be bytes, got {type(h).__name__}", field=name)
        got.append(bytes(h))
    if got[0] != got[1]:
        raise IntegrityError(message, field="root2")


def verify_subtree_consistency(
    start: int, end: int, size: int, proof: Sequence[bytes], subtree_root: bytes, root: bytes
) -> None:
    """Raise IntegrityError unless subtree ``[start, end)`` with ``subtree_root`` is in ``root``.

    The two trivial cases follow transparency-dev/merkle exactly (see
    :func:`verify_consistency`): an empty subtree is vacuously consistent when its hash is
    the empty root and the proof is empty, whatever ``root`` is; the whole tree is consistent
    with itself when the proof is empty and the two roots are the same bytes.
    """
    _check_subtree(start, end)
    _check_size("size", size)
    p = _check_proof(proof)
    if end > size:
        raise IntegrityError(f"subtree end {end} is beyond size {size}", field="end")
    if start == end:
        if p:
            raise IntegrityError("an empty subtree needs an empty proof", field="proof")
        if subtree_root != EMPTY_ROOT:
            raise _mismatch("subtree root")
        return
    if start == 0 and end == size:
        if p:
            raise IntegrityError("the whole tree needs an empty proof", field="proof")
        _same_root(subtree_root, root, "root does not match the proof")
        return
    _check_hash("subtree_root", subtree_root)
    _check_hash("root", root)
    _verify_subtree_consistency(start, end, size, p, bytes(subtree_root), bytes(root))


def _verify_subtree_consistency(
    start: int, end: int, n: int, proof: list[bytes], node: bytes, root: bytes
) -> None:
    """MTC draft §4.4.3 (RFC 9162 §2.1.4.2 when start == 0), for a non-trivial subtree."""
    if not proof:
        raise IntegrityError("empty proof", field="proof")
    fn, sn, tn = start, end - 1, n - 1
    if sn == tn:
        while fn != sn:
            fn >>= 1
            sn >>= 1
            tn >>= 1
    else:
        while fn != sn and sn & 1:
            fn >>= 1
            sn >>= 1
            tn >>= 1
    if fn == sn:
        fr = sr = node
        rest = proof
    else:
        fr = sr = proof[0]
        rest = proof[1:]
    for c in rest:
        if tn == 0:
            raise IntegrityError("proof has too many hashes", field="proof")
        if sn & 1 or sn == tn:
            if fn < sn:
                fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while sn and sn & 1 == 0:
                fn >>= 1
                sn >>= 1
                tn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
        tn >>= 1
    if tn != 0:
        raise IntegrityError("proof has too few hashes", field="proof")
    if fr != node:
        raise _mismatch("root1" if start == 0 else "subtree root")
    if sr != root:
        raise _mismatch("root2" if start == 0 else "root")
