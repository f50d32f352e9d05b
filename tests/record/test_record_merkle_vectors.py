"""Peer vectors for the Merkle code: transparency-dev/merkle probes and RFC 6962 known answers."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from truceline.core.record import merkle
from truceline.errors import IntegrityError

from .conftest import VECTORS

PROBES = VECTORS / "transparency-dev-merkle" / "testdata"

#: Probes whose "hashes" are 12-byte placeholders ("don't care"): equal trees with an empty
#: proof, where upstream compares the roots' bytes (or needs only the empty root for an empty
#: subtree) and hashes nothing. truceline follows upstream there, so peers agree on all 518.
PLACEHOLDER_VALID = {
    "consistency/additional/sizes-are-equal-one-and-proof-is-empty.json",
    "subtreeconsistency/additional/sizes-are-equal-one-and-proof-is-empty.json",
    "subtreeconsistency/additional/"
    "subtree-is-empty-sizes-are-equal-one-subtree-root-valid-tree-root-random-proof-is-empty.json",
    "subtreeconsistency/additional/"
    "subtree-is-empty-sizes-are-equal-zero-subtree-root-valid-tree-root-random-proof-is-empty.json",
}


def _b64(v: str | None) -> bytes | None:
    return None if v is None else base64.b64decode(v)


def _run_probe(kind: str, d: dict[str, Any]) -> None:
    proof = [_b64(h) for h in (d["proof"] or [])]
    if kind == "inclusion":
        merkle.verify_inclusion(
            _b64(d["leafHash"]),
            d["leafIdx"],
            d["treeSize"],
            proof,
            _b64(d["root"]),  # type: ignore[arg-type]
        )
    elif kind == "consistency":
        merkle.verify_consistency(
            d["size1"],
            d["size2"],
            proof,
            _b64(d["root1"]),
            _b64(d["root2"]),  # type: ignore[arg-type]
        )
    elif kind == "subtreeinclusion":
        merkle.verify_subtree_inclusion(
            _b64(d["leafHash"]),
            d["leafIdx"],
            d["start"],
            d["end"],
            proof,
            _b64(d["root"]),  # type: ignore[arg-type]
        )
    elif kind == "subtreeconsistency":
        merkle.verify_subtree_consistency(
            d["start"],
            d["end"],
            d["size"],
            proof,
            _b64(d["root1"]),
            _b64(d["root2"]),  # type: ignore[arg-type]
        )
    else:  # pragma: no cover - the directory layout is fixed
        raise AssertionError(kind)


def _probes() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for f in sorted(PROBES.rglob("*.json")):
        rel = f.relative_to(PROBES).as_posix()
        out.append((rel, json.loads(f.read_text())))
    return out


def test_all_518_probes() -> None:
    probes = _probes()
    assert len(probes) == 518
    assert sum(not d["wantErr"] for _, d in probes) == 36
    accepted, rejected, wrong = [], [], []
    for rel, d in probes:
        try:
            _run_probe(rel.split("/")[0], d)
        except IntegrityError:
            rejected.append(rel)
            if not d["wantErr"]:
                wrong.append(f"{rel}: rejected a valid proof")
        else:
            accepted.append(rel)
            if d["wantErr"]:
                wrong.append(f"{rel}: accepted a broken proof ({d['desc']})")
    assert wrong == []
    assert set(accepted) >= PLACEHOLDER_VALID
    assert len(accepted) == 36
    assert len(rejected) == 482


def test_equal_trees_compare_bytes_only_and_keep_every_other_check() -> None:
    """The upstream case is narrow: different bytes, a proof, or a real proof still fail."""
    r = merkle.leaf_hash(b"x")
    merkle.verify_consistency(3, 3, [], r, r)
    merkle.verify_consistency(1, 1, [], b"short", b"short")
    with pytest.raises(IntegrityError, match="fork"):
        merkle.verify_consistency(1, 1, [], b"short", b"shorT")
    with pytest.raises(IntegrityError, match="empty proof"):
        merkle.verify_consistency(1, 1, [r], b"short", b"short")
    with pytest.raises(IntegrityError, match="32-byte"):
        merkle.verify_consistency(1, 2, [r], b"short", r)
    with pytest.raises(IntegrityError, match="bytes"):
        merkle.verify_consistency(1, 1, [], None, None)  # type: ignore[arg-type]
    merkle.verify_subtree_consistency(2, 2, 5, [], merkle.EMPTY_ROOT, b"anything")
    with pytest.raises(IntegrityError, match="subtree_root"):
        merkle.verify_subtree_consistency(2, 2, 5, [], b"x" * 12, r)
    merkle.verify_subtree_consistency(0, 4, 4, [], b"same", b"same")
    with pytest.raises(IntegrityError):
        merkle.verify_subtree_consistency(0, 4, 4, [], b"same", b"diff")


def test_consistency_from_size_zero_is_rejected() -> None:
    with pytest.raises(IntegrityError, match="size 0"):
        merkle.verify_consistency(0, 0, [], merkle.EMPTY_ROOT, merkle.EMPTY_ROOT)
    with pytest.raises(IntegrityError, match="size 0"):
        merkle.verify_consistency(0, 1, [], merkle.EMPTY_ROOT, merkle.leaf_hash(b""))


# --------------------------------------------------------------------------- RFC 6962 known answers

RFC = json.loads((VECTORS / "rfc6962-vectors.json").read_text())
LEAVES = [bytes.fromhex(x) for x in RFC["leaf_inputs"]]
LEAF_HASHES = [merkle.leaf_hash(x) for x in LEAVES]
LEVELS = merkle.HashLevels.from_leaf_hashes(LEAF_HASHES)


def _hex(xs: list[str]) -> list[bytes]:
    return [bytes.fromhex(x) for x in xs]


def test_hasher_vectors() -> None:
    seen = set()
    for v in RFC["hasher_vectors"]:
        want = bytes.fromhex(v["want"])
        if v["kind"] == "empty_root":
            got = merkle.EMPTY_ROOT
            assert merkle.root_of([]) == want
        elif v["kind"] == "leaf":
            got = merkle.leaf_hash(bytes.fromhex(v["input_hex"]))
        else:
            got = merkle.node_hash(bytes.fromhex(v["left_hex"]), bytes.fromhex(v["right_hex"]))
        assert got == want, v["desc"]
        seen.add(v["kind"])
    assert seen == {"empty_root", "leaf", "node"}


def test_node_hashes_and_roots() -> None:
    for level, hashes in enumerate(RFC["node_hashes_by_level"]):
        for i, h in enumerate(hashes):
            assert LEVELS.get_node(level, i).hex() == h
    assert len(RFC["root_hashes_by_size"]) == 9
    for size, root in RFC["root_hashes_by_size"].items():
        n = int(size)
        assert merkle.root_of(LEAF_HASHES[:n]).hex() == root
        assert merkle.range_hash(0, n, LEVELS.get_node).hex() == root


def test_inclusion_known_answers() -> None:
    cases = RFC["inclusion_proofs"] + [
        {
            **c,
            "leaf_hash": LEAF_HASHES[c["leaf_index"]].hex(),
            "root": RFC["root_hashes_by_size"][str(c["tree_size"])],
        }
        for c in RFC["derived_all_proofs"]["inclusion"]
    ]
    assert len(cases) >= 36
    for c in cases:
        proof = _hex(c["proof"])
        assert merkle.inclusion_proof(c["leaf_index"], c["tree_size"], LEVELS.get_node) == proof
        merkle.verify_inclusion(
            bytes.fromhex(c["leaf_hash"]),
            c["leaf_index"],
            c["tree_size"],
            proof,
            bytes.fromhex(c["root"]),
        )


def test_consistency_known_answers() -> None:
    roots = RFC["root_hashes_by_size"]
    cases = RFC["consistency_proofs"] + [
        {**c, "root1": roots[str(c["size1"])], "root2": roots[str(c["size2"])]}
        for c in RFC["derived_all_proofs"]["consistency"]
    ]
    assert len(cases) >= 28
    for c in cases:
        proof = _hex(c["proof"])
        assert merkle.consistency_proof(c["size1"], c["size2"], LEVELS.get_node) == proof
        merkle.verify_consistency(
            c["size1"], c["size2"], proof, bytes.fromhex(c["root1"]), bytes.fromhex(c["root2"])
        )
