//! The signing algorithms: their names on the wire, hash functions and payload-hash headers.

use std::fmt;
use std::str::FromStr;

use hmac::digest::Digest;
use hmac::{EagerHash, Hmac, KeyInit, Mac};
use sha2::Sha256;
use sm3::Sm3;

use crate::SignatureError;

/// An AK/SK signing algorithm, as named at the start of the `Authorization` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// `SDK-HMAC-SHA256`: SHA-256 hashes, HMAC-SHA256 keyed with the SK (the SDK default).
    SdkHmacSha256,
    /// `SDK-HMAC-SM3`: SM3 hashes, HMAC-SM3 keyed with the SK.
    SdkHmacSm3,
    /// `V11-HMAC-SHA256`: SHA-256 hashes, HMAC-SHA256 keyed with a per-day, per-region,
    /// per-service key derived from the AK and SK.
    V11HmacSha256,
}

/// Huawei algorithm names this crate recognises but does not implement (their signatures
/// are ECDSA/SM2, not HMAC).
pub(crate) const UNSUPPORTED: [&str; 2] = ["SDK-ECDSA-P256-SHA256", "SDK-SM2-SM3"];

impl Algorithm {
    /// Every supported algorithm.
    pub const ALL: [Self; 3] = [Self::SdkHmacSha256, Self::SdkHmacSm3, Self::V11HmacSha256];

    /// The name written in the `Authorization` header, e.g. `SDK-HMAC-SHA256`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::SdkHmacSha256 => "SDK-HMAC-SHA256",
            Self::SdkHmacSm3 => "SDK-HMAC-SM3",
            Self::V11HmacSha256 => "V11-HMAC-SHA256",
        }
    }

    /// The lower-case name of the header whose value, when present and the body is not
    /// empty, the SDK uses as the payload hash instead of hashing the body:
    /// `x-sdk-content-sm3` for SM3, `x-sdk-content-sha256` otherwise.
    pub const fn content_hash_header(self) -> &'static str {
        match self {
            Self::SdkHmacSm3 => "x-sdk-content-sm3",
            Self::SdkHmacSha256 | Self::V11HmacSha256 => "x-sdk-content-sha256",
        }
    }

    /// Lower-case hex of the algorithm's hash (SHA-256 or SM3) of `data`.
    pub fn hash_hex(self, data: &[u8]) -> String {
        if data.is_empty() {
            return self.empty_hash_hex().to_owned();
        }
        match self {
            Self::SdkHmacSm3 => hex_lower(&Sm3::digest(data)),
            Self::SdkHmacSha256 | Self::V11HmacSha256 => hex_lower(&Sha256::digest(data)),
        }
    }

    /// The lower-case hex hash of the empty body, the payload hash of every request without one.
    pub const fn empty_hash_hex(self) -> &'static str {
        match self {
            Self::SdkHmacSm3 => "1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b",
            Self::SdkHmacSha256 | Self::V11HmacSha256 => {
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
            }
        }
    }

    /// A hasher for the payload hash, fed as the body arrives (see [`PayloadHasher`]).
    pub fn payload_hasher(self) -> PayloadHasher {
        match self {
            Self::SdkHmacSm3 => PayloadHasher::Sm3(Sm3::new()),
            Self::SdkHmacSha256 | Self::V11HmacSha256 => PayloadHasher::Sha256(Sha256::new()),
        }
    }

    /// The algorithm's HMAC (HMAC-SHA256 or HMAC-SM3) of `message` under `key`.
    pub(crate) fn hmac(self, key: &[u8], message: &[u8]) -> Vec<u8> {
        match self {
            Self::SdkHmacSm3 => hmac::<Sm3>(key, message),
            Self::SdkHmacSha256 | Self::V11HmacSha256 => hmac::<Sha256>(key, message),
        }
    }
}

/// The algorithm's hash of a body received in pieces: [`PayloadHasher::update`] with each piece,
/// then [`PayloadHasher::finish_hex`] gives what [`Algorithm::hash_hex`] gives for the whole.
#[derive(Clone)]
pub enum PayloadHasher {
    /// SHA-256 (`SDK-HMAC-SHA256`, `V11-HMAC-SHA256`).
    Sha256(Sha256),
    /// SM3 (`SDK-HMAC-SM3`).
    Sm3(Sm3),
}

impl PayloadHasher {
    /// Feeds the next piece of the body.
    pub fn update(&mut self, piece: &[u8]) {
        match self {
            Self::Sha256(hasher) => hasher.update(piece),
            Self::Sm3(hasher) => hasher.update(piece),
        }
    }

    /// The lower-case hex hash of everything fed.
    pub fn finish_hex(self) -> String {
        match self {
            Self::Sha256(hasher) => hex_lower(&hasher.finalize()),
            Self::Sm3(hasher) => hex_lower(&hasher.finalize()),
        }
    }
}

impl fmt::Debug for PayloadHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Sha256(_) => "PayloadHasher(SHA-256)",
            Self::Sm3(_) => "PayloadHasher(SM3)",
        })
    }
}

/// HMAC of `message` under `key` with the hash `D`.
/// `bytes` (a hash or a MAC, at most 32 bytes) in lower-case hex, through a table rather than
/// `hex::encode`'s character iterator.
pub(crate) fn hex_lower(bytes: &[u8]) -> String {
    let mut text = [0u8; 64];
    let text = &mut text[..bytes.len() * 2];
    hex::encode_to_slice(bytes, text).expect("twice as many hex digits as bytes");
    String::from_utf8(text.to_vec()).expect("hex digits are ASCII")
}

pub(crate) fn hmac<D: EagerHash>(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<D> as KeyInit>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Algorithm {
    type Err = SignatureError;

    /// Parses an exact (case-sensitive) algorithm name. The ECDSA and SM2 names give
    /// [`SignatureError::UnsupportedAlgorithm`], anything else
    /// [`SignatureError::UnknownAlgorithm`].
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        if let Some(algorithm) = Self::ALL.into_iter().find(|a| a.as_str() == name) {
            return Ok(algorithm);
        }
        match UNSUPPORTED.into_iter().find(|known| *known == name) {
            Some(known) => Err(SignatureError::UnsupportedAlgorithm(known)),
            None => Err(SignatureError::UnknownAlgorithm),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for algorithm in Algorithm::ALL {
            assert_eq!(algorithm.as_str().parse::<Algorithm>(), Ok(algorithm));
            assert_eq!(algorithm.to_string(), algorithm.as_str());
        }
        assert_eq!("sdk-hmac-sha256".parse::<Algorithm>(), Err(SignatureError::UnknownAlgorithm));
        assert_eq!(
            "SDK-SM2-SM3".parse::<Algorithm>(),
            Err(SignatureError::UnsupportedAlgorithm("SDK-SM2-SM3"))
        );
    }

    #[test]
    fn the_empty_hash_constants_are_the_digests_of_nothing() {
        assert_eq!(Algorithm::SdkHmacSha256.empty_hash_hex(), hex::encode(Sha256::digest(b"")));
        assert_eq!(Algorithm::SdkHmacSm3.empty_hash_hex(), hex::encode(Sm3::digest(b"")));
        assert_eq!(hex_lower(&Sha256::digest(b"x")), hex::encode(Sha256::digest(b"x")));
    }

    #[test]
    fn empty_hashes_match_the_sdk_constants() {
        assert_eq!(
            Algorithm::SdkHmacSha256.hash_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            Algorithm::SdkHmacSm3.hash_hex(b""),
            "1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b"
        );
    }

    #[test]
    fn hashing_in_pieces_equals_hashing_the_whole() {
        for algorithm in Algorithm::ALL {
            let mut hasher = algorithm.payload_hasher();
            for piece in [&b"{\"tag\": "[..], b"", b"{\"key\": \"k\"}}"] {
                hasher.update(piece);
            }
            assert_eq!(
                hasher.finish_hex(),
                algorithm.hash_hex(b"{\"tag\": {\"key\": \"k\"}}"),
                "{algorithm}"
            );
        }
    }

    #[test]
    fn hmac_sha256_matches_rfc_4231_case_2() {
        let mac = Algorithm::SdkHmacSha256.hmac(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(hex::encode(mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }
}
