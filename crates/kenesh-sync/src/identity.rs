//! Device and server identities: one 32-byte secret per device, from which its ed25519 commit
//! signing key and its X25519 Noise static key are derived.

use core::fmt;

use curve25519_dalek::montgomery::MontgomeryPoint;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

const SIGN_CONTEXT: &str = "kenesh 2026 ed25519 signing key v1";
const NOISE_CONTEXT: &str = "kenesh 2026 noise static key v1";

/// A device's (or the server's) secret: 32 bytes made on first start from the operating
/// system's randomness by the program that embeds kenesh. Never printed.
#[derive(Clone)]
pub struct Secret([u8; 32]);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({:?})", self.public())
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        // Best effort: overwrite before the memory is freed.
        self.0 = [0; 32];
        core::hint::black_box(&self.0);
    }
}

/// The public half of an identity, registered with the server at enrolment.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PublicKeys {
    /// Verifies the device's commit signatures (ed25519).
    pub verify: [u8; 32],
    /// Its Noise static key (X25519).
    pub noise: [u8; 32],
}

impl PublicKeys {
    /// The two keys as 128 hex digits (verify, then noise): how an operator passes them.
    #[must_use]
    pub fn to_hex(&self) -> String {
        self.verify
            .iter()
            .chain(&self.noise)
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Keys from 128 hex digits ([`PublicKeys::to_hex`]); `None` for anything else.
    #[must_use]
    pub fn from_hex(s: &str) -> Option<PublicKeys> {
        let s = s.trim();
        if s.len() != 128 || !s.is_ascii() {
            return None;
        }
        let mut bytes = [0u8; 64];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        let (mut verify, mut noise) = ([0u8; 32], [0u8; 32]);
        verify.copy_from_slice(&bytes[..32]);
        noise.copy_from_slice(&bytes[32..]);
        Some(PublicKeys { verify, noise })
    }
}

impl fmt::Debug for PublicKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PublicKeys(verify {}…, noise {}…)",
            hex4(&self.verify),
            hex4(&self.noise)
        )
    }
}

fn hex4(b: &[u8; 32]) -> String {
    b[..4].iter().map(|x| format!("{x:02x}")).collect()
}

impl Secret {
    /// An identity from its 32 secret bytes.
    #[must_use]
    pub fn from_bytes(bytes: [u8; 32]) -> Secret {
        Secret(bytes)
    }

    /// The secret bytes, to be kept in the device's key store.
    #[must_use]
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0
    }

    fn signing_key(&self) -> SigningKey {
        SigningKey::from_bytes(&blake3::derive_key(SIGN_CONTEXT, &self.0))
    }

    /// The X25519 private key for the Noise handshake.
    pub(crate) fn noise_private(&self) -> [u8; 32] {
        blake3::derive_key(NOISE_CONTEXT, &self.0)
    }

    /// The public keys to register.
    #[must_use]
    pub fn public(&self) -> PublicKeys {
        PublicKeys {
            verify: self.signing_key().verifying_key().to_bytes(),
            noise: MontgomeryPoint::mul_base_clamped(self.noise_private()).to_bytes(),
        }
    }

    /// The salt of this identity's commit starting at `first_seq`: derived from the secret,
    /// so no one else can predict it and no randomness is needed.
    #[must_use]
    pub fn salt_for(&self, first_seq: u64) -> [u8; 16] {
        let key = blake3::derive_key("kenesh 2026 commit salt v1", &self.0);
        let h = blake3::keyed_hash(&key, &first_seq.to_le_bytes());
        let mut salt = [0; 16];
        salt.copy_from_slice(&h.as_bytes()[..16]);
        salt
    }

    /// The tag of a receipt (PROTOCOL.md §5.12): BLAKE3 keyed with a key derived from the
    /// secret, over the device (4 bytes), the epoch and the seq (8 each), little-endian; its
    /// first 16 bytes.
    pub(crate) fn receipt_tag(
        &self,
        device: u32,
        epoch: u64,
        seq: u64,
    ) -> [u8; kenesh_proto::RECEIPT_TAG_LEN] {
        let key = blake3::derive_key("kenesh 2026 receipt v1", &self.0);
        let mut h = blake3::Hasher::new_keyed(&key);
        h.update(&device.to_le_bytes());
        h.update(&epoch.to_le_bytes());
        h.update(&seq.to_le_bytes());
        let mut tag = [0; kenesh_proto::RECEIPT_TAG_LEN];
        tag.copy_from_slice(&h.finalize().as_bytes()[..kenesh_proto::RECEIPT_TAG_LEN]);
        tag
    }

    /// Signs a commit digest.
    pub(crate) fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.signing_key().sign(message).to_bytes()
    }
}

/// Whether `signature` is `keys`' signature of `message`.
pub(crate) fn verify(keys: &PublicKeys, message: &[u8], signature: &[u8]) -> bool {
    let Ok(key) = VerifyingKey::from_bytes(&keys.verify) else {
        return false;
    };
    let Ok(sig) = Signature::from_slice(signature) else {
        return false;
    };
    key.verify_strict(message, &sig).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_derived_deterministically_and_differ_by_secret() {
        let a = Secret::from_bytes([1; 32]);
        let b = Secret::from_bytes([2; 32]);
        assert_eq!(a.public(), Secret::from_bytes([1; 32]).public());
        assert_ne!(a.public().verify, b.public().verify);
        assert_ne!(a.public().noise, b.public().noise);
        assert_ne!(a.public().verify, a.public().noise);
    }

    #[test]
    fn a_signature_verifies_only_with_its_key_and_message() {
        let a = Secret::from_bytes([1; 32]);
        let b = Secret::from_bytes([2; 32]);
        let sig = a.sign(b"commit");
        assert!(verify(&a.public(), b"commit", &sig));
        assert!(!verify(&a.public(), b"commit!", &sig));
        assert!(!verify(&b.public(), b"commit", &sig));
        assert!(!verify(&a.public(), b"commit", &sig[..63]));
    }

    #[test]
    fn debug_does_not_print_the_secret() {
        let s = Secret::from_bytes([0xab; 32]);
        assert!(!format!("{s:?}").contains("abab"));
    }
}
