//! RFC 6962 / RFC 9162 Merkle tree hashing, and inclusion and consistency proofs: building them from leaf hashes
//! and verifying them. Hand-written because it is small, exact, and the base of every other part of the log; it is
//! checked against the transparency-dev probes, the RFC 6962 reference tree and real CT log proofs.

use sha2::{Digest, Sha256};

/// A SHA-256 hash.
pub type Hash = [u8; 32];

/// Why a proof does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The index is not inside the tree.
    #[error("index {index} is not inside a tree of size {size}")]
    IndexOutOfRange {
        /// The leaf index.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// The sizes cannot be compared (old size 0, or old larger than new).
    #[error("no consistency proof from size {old} to size {new}")]
    BadSizes {
        /// The older size.
        old: u64,
        /// The newer size.
        new: u64,
    },
    /// The proof has the wrong number of hashes for the sizes.
    #[error("proof has {got} hashes, which does not fit the tree sizes")]
    WrongLength {
        /// Hashes given.
        got: usize,
    },
    /// The recomputed root differs from the one given.
    #[error("recomputed root does not match")]
    RootMismatch,
}

/// `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of an empty tree, `SHA-256("")`.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// The largest power of two strictly smaller than `n` (n ≥ 2).
fn split(n: usize) -> usize {
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// The root of the tree over these leaf hashes (RFC 9162 §2.1.1, MTH).
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = split(n);
            node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

/// The inclusion proof of leaf `index` (RFC 9162 §2.1.3.1, PATH).
pub fn inclusion_proof(leaves: &[Hash], index: usize) -> Vec<Hash> {
    assert!(index < leaves.len(), "index inside the tree");
    let n = leaves.len();
    if n == 1 {
        return vec![];
    }
    let k = split(n);
    if index < k {
        let mut p = inclusion_proof(&leaves[..k], index);
        p.push(root(&leaves[k..]));
        p
    } else {
        let mut p = inclusion_proof(&leaves[k..], index - k);
        p.push(root(&leaves[..k]));
        p
    }
}

/// The consistency proof from the first `old` leaves to all of them (RFC 9162 §2.1.4.1, PROOF).
pub fn consistency_proof(leaves: &[Hash], old: usize) -> Vec<Hash> {
    assert!(old >= 1 && old <= leaves.len(), "0 < old <= new");
    subproof(old, leaves, true)
}

fn subproof(m: usize, leaves: &[Hash], complete: bool) -> Vec<Hash> {
    let n = leaves.len();
    if m == n {
        return if complete { vec![] } else { vec![root(leaves)] };
    }
    let k = split(n);
    if m <= k {
        let mut p = subproof(m, &leaves[..k], complete);
        p.push(root(&leaves[k..]));
        p
    } else {
        let mut p = subproof(m - k, &leaves[k..], false);
        p.push(root(&leaves[..k]));
        p
    }
}

/// Verify that `leaf` is at `index` in the tree of `size` with `root` (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if snode == 0 {
            return Err(ProofError::WrongLength { got: proof.len() });
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(ProofError::WrongLength { got: proof.len() });
    }
    if &r == root { Ok(()) } else { Err(ProofError::RootMismatch) }
}

/// Verify that the tree of `new` with `new_root` extends the tree of `old` with `old_root` (RFC 9162 §2.1.4.2).
///
/// `old == 0` is refused (a proof from the empty tree says nothing), as in transparency-dev and `tlog_tiles`.
pub fn verify_consistency(old: u64, new: u64, old_root: &Hash, new_root: &Hash, proof: &[Hash]) -> Result<(), ProofError> {
    if old == 0 || old > new {
        return Err(ProofError::BadSizes { old, new });
    }
    if old == new {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength { got: proof.len() });
        }
        return if old_root == new_root { Ok(()) } else { Err(ProofError::RootMismatch) };
    }
    // When old is a power of two, the old root itself starts the proof.
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    if path.is_empty() {
        return Err(ProofError::WrongLength { got: 0 });
    }
    let (mut fnode, mut snode) = (old - 1, new - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if snode == 0 {
            return Err(ProofError::WrongLength { got: proof.len() });
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(ProofError::WrongLength { got: proof.len() });
    }
    if &fr == old_root && &sr == new_root { Ok(()) } else { Err(ProofError::RootMismatch) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&(i as u64).to_be_bytes())).collect()
    }

    proptest::proptest! {
        #[test]
        fn every_inclusion_proof_verifies(n in 1usize..70, pick in 0usize..1000) {
            let l = leaves(n);
            let i = pick % n;
            let p = inclusion_proof(&l, i);
            proptest::prop_assert!(verify_inclusion(&l[i], i as u64, n as u64, &p, &root(&l)).is_ok());
            // A different leaf does not.
            let other = leaf_hash(b"other");
            proptest::prop_assert!(verify_inclusion(&other, i as u64, n as u64, &p, &root(&l)).is_err());
        }

        #[test]
        fn every_consistency_proof_verifies(n in 1usize..70, pick in 0usize..1000) {
            let l = leaves(n);
            let m = pick % n + 1;
            let p = consistency_proof(&l, m);
            proptest::prop_assert!(verify_consistency(m as u64, n as u64, &root(&l[..m]), &root(&l), &p).is_ok());
            if m < n {
                proptest::prop_assert!(verify_consistency(m as u64, n as u64, &root(&l[..m]), &leaf_hash(b"x"), &p).is_err());
            }
        }
    }
}
