"""Property tests: proofs generated for random trees verify, and any tampering is caught."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from truceline.core.record import merkle
from truceline.errors import IntegrityError

entries_st = st.lists(st.binary(max_size=12), min_size=1, max_size=70, unique=True)


def _tree(entries: list[bytes]) -> tuple[list[bytes], merkle.HashLevels]:
    leaves = [merkle.leaf_hash(e) for e in entries]
    return leaves, merkle.HashLevels.from_leaf_hashes(leaves)


def _naive_root(leaves: list[bytes]) -> bytes:
    """RFC 6962 MTH written recursively, straight from the definition."""
    if not leaves:
        return merkle.EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return merkle.node_hash(_naive_root(leaves[:k]), _naive_root(leaves[k:]))


@given(entries_st)
def test_incremental_root_equals_full_recompute(entries: list[bytes]) -> None:
    leaves, levels = _tree(entries)
    cr = merkle.CompactRange()
    stored: dict[tuple[int, int], bytes] = {}
    for i, h in enumerate(leaves):
        for level, index, node in cr.append(h):
            stored[(level, index)] = node
        assert cr.root() == _naive_root(leaves[: i + 1])
    assert cr.root() == levels.root() == merkle.root_of(leaves)
    # The nodes append() reports are exactly the full nodes, so a store can serve proofs.
    assert stored == {
        (lv, i): levels.get_node(lv, i)
        for lv in range(len(levels.levels))
        for i in range(len(levels.levels[lv]))
    }
    restored = merkle.CompactRange.from_peaks(cr.size, cr.peaks)
    restored.append(merkle.leaf_hash(b"next"))
    assert restored.root() == _naive_root([*leaves, merkle.leaf_hash(b"next")])


@settings(max_examples=60)
@given(entries_st)
def test_every_inclusion_proof_verifies(entries: list[bytes]) -> None:
    leaves, levels = _tree(entries)
    for size in {1, len(leaves) // 2 or 1, len(leaves)}:
        root = merkle.root_of(leaves[:size])
        for i in range(size):
            proof = merkle.inclusion_proof(i, size, levels.get_node)
            assert proof == merkle.inclusion_proof(i, size, leaves[:size])
            merkle.verify_inclusion(leaves[i], i, size, proof, root)
            if size > 1:  # the leaf at another index must not verify
                with pytest.raises(IntegrityError):
                    merkle.verify_inclusion(leaves[i], (i + 1) % size, size, proof, root)


@settings(max_examples=60)
@given(entries_st)
def test_every_consistency_proof_verifies(entries: list[bytes]) -> None:
    leaves, levels = _tree(entries)
    n = len(leaves)
    roots = [merkle.root_of(leaves[:m]) for m in range(n + 1)]
    for m in range(1, n + 1):
        proof = merkle.consistency_proof(m, n, levels.get_node)
        assert proof == merkle.consistency_proof(m, n, leaves)
        merkle.verify_consistency(m, n, proof, roots[m], roots[n])
        if m < n:
            with pytest.raises(IntegrityError):
                merkle.verify_consistency(m, n, proof, merkle.leaf_hash(b"forged"), roots[n])


@settings(max_examples=40)
@given(entries_st)
def test_subtree_proofs_verify(entries: list[bytes]) -> None:
    leaves, levels = _tree(entries)
    n = len(leaves)
    for start in range(n):
        for end in range(start + 1, n + 1):
            width = end - start
            if start % (1 << (width - 1).bit_length()):
                continue
            sub_root = merkle.root_of(leaves[start:end])
            proof = merkle.subtree_consistency_proof(start, end, n, levels.get_node)
            merkle.verify_subtree_consistency(start, end, n, proof, sub_root, levels.root())
            i = start + width // 2
            incl = merkle.inclusion_proof(i - start, width, _tree(entries[start:end])[1].get_node)
            merkle.verify_subtree_inclusion(leaves[i], i, start, end, incl, sub_root)


@st.composite
def tampered(draw: st.DrawFn) -> tuple[list[bytes], list[bytes]]:
    entries = draw(st.lists(st.binary(min_size=1, max_size=8), min_size=2, max_size=40))
    out = list(entries)
    kind = draw(st.sampled_from(["flip", "delete", "insert", "swap"]))
    i = draw(st.integers(0, len(out) - 1))
    if kind == "flip":
        b = bytearray(out[i])
        j = draw(st.integers(0, len(b) - 1))
        b[j] ^= draw(st.integers(1, 255))
        out[i] = bytes(b)
    elif kind == "delete":
        del out[i]
    elif kind == "insert":
        out.insert(i, draw(st.binary(max_size=8)))
    else:
        j = draw(st.integers(0, len(out) - 1).filter(lambda j: out[j] != out[i]))
        out[i], out[j] = out[j], out[i]
    return entries, out


@given(tampered())
def test_any_tampering_changes_the_root_and_breaks_proofs(
    case: tuple[list[bytes], list[bytes]],
) -> None:
    original, changed = case
    _, levels = _tree(original)
    root = levels.root()
    changed_leaves = [merkle.leaf_hash(e) for e in changed]
    assert merkle.root_of(changed_leaves) != root
    # An inclusion proof built from the changed log does not verify against the signed root.
    _, changed_levels = _tree(changed)
    i = min(len(changed), len(original)) - 1
    proof = merkle.inclusion_proof(i, len(changed), changed_levels.get_node)
    with pytest.raises(IntegrityError):
        merkle.verify_inclusion(changed_leaves[i], i, len(original), proof, root)


@pytest.mark.parametrize(
    ("call", "reason"),
    [
        (lambda: merkle.verify_inclusion(b"x" * 31, 0, 1, [], b"x" * 32), "32-byte"),
        (lambda: merkle.verify_inclusion(b"x" * 32, 0, 1, [], b"x" * 33), "32-byte"),
        (lambda: merkle.verify_inclusion(b"x" * 32, 1, 1, [], b"x" * 32), "not below"),
        (lambda: merkle.verify_inclusion(b"x" * 32, -1, 1, [], b"x" * 32), "integer"),
        (lambda: merkle.verify_inclusion(b"x" * 32, 0, 2, [], b"x" * 32), "expected 1"),
        (lambda: merkle.verify_consistency(2, 1, [], b"x" * 32, b"x" * 32), "smaller"),
        (lambda: merkle.verify_consistency(1, 2, [], b"x" * 32, b"y" * 32), "empty proof"),
        (lambda: merkle.verify_consistency(1, 1, [], b"x" * 32, b"y" * 32), "fork"),
        (lambda: merkle.verify_consistency(1, 1 << 64, [], b"x" * 32, b"x" * 32), "2\\*\\*64"),
    ],
)
def test_verifiers_say_why(call: object, reason: str) -> None:
    with pytest.raises(IntegrityError, match=reason):
        call()  # type: ignore[operator]
