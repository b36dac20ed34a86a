//! Identifier generation: 20-character auto ids (like Elasticsearch's time-based UUIDs), index
//! UUIDs and API key secrets.

use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;

static SEQUENCE: AtomicU64 = AtomicU64::new(0);

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    rand::rng().fill_bytes(&mut b);
    b
}

/// A 20-character URL-safe id: 6 bytes of time, 3 of sequence, 6 random.
pub fn auto_id() -> String {
    let seq = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    let ms = chrono::Utc::now().timestamp_millis() as u64;
    let mut b = [0u8; 15];
    b[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
    b[6..9].copy_from_slice(&seq.to_be_bytes()[5..]);
    b[9..].copy_from_slice(&random_bytes::<6>());
    URL_SAFE_NO_PAD.encode(b)
}

/// A 22-character URL-safe random id (index and cluster UUIDs, API key secrets).
pub fn uuid() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<16>())
}

/// A random opaque token of `n` bytes, base64 (scroll and PIT ids).
pub fn token(n: usize) -> String {
    let mut b = vec![0u8; n];
    rand::rng().fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_ids_are_20_chars_and_unique() {
        let a = auto_id();
        let b = auto_id();
        assert_eq!(a.len(), 20);
        assert_ne!(a, b);
        assert_eq!(uuid().len(), 22);
    }
}
