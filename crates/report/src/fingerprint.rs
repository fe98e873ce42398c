//! Fingerprints: short digests that name a finding across runs. They hash what identifies a
//! weakness (the rule and a place that survives unrelated edits, chosen by the producer), never
//! a line number, with FNV-1a 64, which stays the same across Rust versions, platforms and runs.

/// The FNV-1a 64 digest of `parts` (each followed by a 0 byte, so `["ab", ""]` and
/// `["a", "b"]` differ), as 16 lowercase hex digits.
pub fn digest(parts: &[&str]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain(std::iter::once(0)) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_stable_and_separate_parts() {
        assert_eq!(digest(&["a", "b"]), digest(&["a", "b"]));
        assert_ne!(digest(&["ab", ""]), digest(&["a", "b"]));
        // The FNV-1a 64 of one 0 byte: pinned, so a change of algorithm cannot go unnoticed
        // (it would turn every baselined finding into a new one).
        assert_eq!(digest(&[""]), "af63bd4c8601b7df");
        assert_eq!(digest(&["x"]).len(), 16);
    }
}
