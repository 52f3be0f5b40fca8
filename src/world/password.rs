//! Salted password hashes a world file may give instead of a password in clear, so that a
//! recorded user logs in with its real password and the file holds no usable secret.
//!
//! The format is PBKDF2-HMAC-SHA256 as a PHC string,
//! `$pbkdf2-sha256$i=ROUNDS,l=32$SALT$HASH` (salt and hash in unpadded standard base64), the
//! format passlib and other password libraries write. PBKDF2 was chosen over Argon2 or scrypt
//! because it needs only RustCrypto's small, pure-Rust `sha2` (this module is in the core every
//! test author compiles) and a check costs time, not memory; 600,000 rounds is OWASP's
//! recommendation for PBKDF2-HMAC-SHA256.

use std::fmt;

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine as _;
use parking_lot::Mutex;
use subtle::ConstantTimeEq;

/// The rounds [`PasswordHash::new`] uses: OWASP's recommendation for PBKDF2-HMAC-SHA256.
pub const ROUNDS: u32 = 600_000;
/// Fewest and most rounds a world file may ask for (below: no protection; above: a login
/// that takes minutes).
const MIN_ROUNDS: u32 = 1_000;
const MAX_ROUNDS: u32 = 10_000_000;
const PREFIX: &str = "$pbkdf2-sha256$";

/// A parsed password hash. It remembers the last password that matched, so a user logging in
/// again costs a comparison, not another derivation.
pub struct PasswordHash {
    text: String,
    rounds: u32,
    salt: Vec<u8>,
    hash: Vec<u8>,
    known: Mutex<Option<String>>,
}

impl PasswordHash {
    /// Hash `password` with `salt` and 600,000 rounds (OWASP's recommendation).
    pub fn new(password: &str, salt: &[u8]) -> PasswordHash {
        PasswordHash::with_rounds(password, salt, ROUNDS)
    }

    /// Hash `password` with `salt` and `rounds` (tests use few).
    pub fn with_rounds(password: &str, salt: &[u8], rounds: u32) -> PasswordHash {
        let hash = derive(password, salt, rounds).to_vec();
        let text = format!(
            "{PREFIX}i={rounds},l={}${}${}",
            hash.len(),
            STANDARD_NO_PAD.encode(salt),
            STANDARD_NO_PAD.encode(&hash)
        );
        PasswordHash {
            text,
            rounds,
            salt: salt.to_vec(),
            hash,
            known: Mutex::new(Some(password.to_string())),
        }
    }

    /// Read a PHC string; the error says what is wrong in one line.
    pub fn parse(text: &str) -> Result<PasswordHash, String> {
        let bad = |why: &str| Err(format!("password_hash: {why}"));
        let Some(rest) = text.strip_prefix(PREFIX) else {
            return bad("must start with `$pbkdf2-sha256$` (PBKDF2-HMAC-SHA256 as a PHC string)");
        };
        let parts: Vec<&str> = rest.split('$').collect();
        let [params, salt, hash] = parts.as_slice() else {
            return bad("expected `$pbkdf2-sha256$i=ROUNDS,l=32$SALT$HASH`");
        };
        let mut rounds = None;
        let mut length = None;
        for p in params.split(',') {
            match p.split_once('=') {
                Some(("i", v)) => rounds = v.parse::<u32>().ok(),
                Some(("l", v)) => length = v.parse::<usize>().ok(),
                _ => return bad(&format!("unknown parameter `{p}`")),
            }
        }
        let Some(rounds) = rounds.filter(|r| (MIN_ROUNDS..=MAX_ROUNDS).contains(r)) else {
            return bad(&format!(
                "`i` (rounds) must be a number from {MIN_ROUNDS} to {MAX_ROUNDS}"
            ));
        };
        let (Ok(salt), Ok(hash)) = (STANDARD_NO_PAD.decode(salt), STANDARD_NO_PAD.decode(hash))
        else {
            return bad("salt and hash must be unpadded base64");
        };
        if salt.len() < 8 {
            return bad("the salt must have at least 8 bytes");
        }
        if hash.len() != 32 || length.is_some_and(|l| l != 32) {
            return bad("the hash must have 32 bytes (`l=32`)");
        }
        Ok(PasswordHash {
            text: text.to_string(),
            rounds,
            salt,
            hash,
            known: Mutex::new(None),
        })
    }

    /// Whether `presented` is the password (in constant time for the comparison).
    pub fn verify(&self, presented: &str) -> bool {
        let mut known = self.known.lock();
        if let Some(k) = known.as_deref() {
            if k.len() == presented.len() && bool::from(k.as_bytes().ct_eq(presented.as_bytes())) {
                return true;
            }
        }
        let derived = derive(presented, &self.salt, self.rounds);
        let ok = bool::from(derived.as_slice().ct_eq(&self.hash));
        if ok {
            *known = Some(presented.to_string());
        }
        ok
    }

    /// The PHC string.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// PBKDF2-HMAC-SHA256 (RFC 8018) with a 32-byte output: one block, `rounds` iterations.
///
/// The iterations run on SHA-256's compression function with the HMAC key's inner and outer
/// states computed once (the standard shortcut), so a check costs two compressions per round
/// and little else even in a debug build; the tests hold it to the `pbkdf2` crate's output.
fn derive(password: &str, salt: &[u8], rounds: u32) -> [u8; 32] {
    use sha2::Digest as _;
    // The HMAC key: the password, hashed when longer than a block.
    let mut key = [0u8; 64];
    if password.len() > 64 {
        key[..32].copy_from_slice(&sha2::Sha256::digest(password.as_bytes()));
    } else {
        key[..password.len()].copy_from_slice(password.as_bytes());
    }
    let padded = |pad: u8| {
        let mut block = [0u8; 64];
        for (b, k) in block.iter_mut().zip(key) {
            *b = k ^ pad;
        }
        block
    };
    let (ipad, opad) = (padded(0x36), padded(0x5c));
    // U1 = HMAC(P, salt || INT(1)), the plain way.
    let inner = sha2::Sha256::new()
        .chain_update(ipad)
        .chain_update(salt)
        .chain_update(1u32.to_be_bytes())
        .finalize();
    let first = sha2::Sha256::new()
        .chain_update(opad)
        .chain_update(inner)
        .finalize();
    // The states after the key's block, for every later round.
    let state_after = |block: [u8; 64]| {
        let mut state = SHA256_INIT;
        sha2::compress256(&mut state, &[block.into()]);
        state
    };
    let (inner_state, outer_state) = (state_after(ipad), state_after(opad));
    let mut u = [0u8; 32];
    u.copy_from_slice(&first);
    let mut out = u;
    // A 32-byte message after a 64-byte key block: 0x80, zeros, and 768 bits of length.
    let mut block = [0u8; 64];
    block[32] = 0x80;
    block[62] = 0x03;
    for _ in 1..rounds {
        block[..32].copy_from_slice(&u);
        let mut state = inner_state;
        sha2::compress256(&mut state, &[block.into()]);
        for (chunk, word) in block[..32].chunks_exact_mut(4).zip(state) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        let mut state = outer_state;
        sha2::compress256(&mut state, &[block.into()]);
        for (chunk, word) in u.chunks_exact_mut(4).zip(state) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        for (o, x) in out.iter_mut().zip(u) {
            *o ^= x;
        }
    }
    out
}

/// SHA-256's initial state (FIPS 180-4, 5.3.3).
const SHA256_INIT: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

impl Clone for PasswordHash {
    fn clone(&self) -> Self {
        PasswordHash {
            text: self.text.clone(),
            rounds: self.rounds,
            salt: self.salt.clone(),
            hash: self.hash.clone(),
            known: Mutex::new(self.known.lock().clone()),
        }
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The hash may be shown; a password it remembers never is.
        f.debug_tuple("PasswordHash").field(&self.text).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only_and_survives_its_text() {
        let salt = [5u8; 16];
        let made = PasswordHash::with_rounds("anna-password", &salt, 1000);
        let read = PasswordHash::parse(made.as_str()).unwrap();
        assert!(!read.verify("anna-passwore"));
        assert!(read.verify("anna-password"));
        assert!(read.verify("anna-password"), "remembered");
        assert!(!read.verify("anna-password "));
        assert!(!format!("{read:?}").contains("anna-password"));
    }

    #[test]
    fn a_known_vector_matches() {
        // RFC 7914 section 11: PBKDF2-HMAC-SHA256, P="passwd", S="salt", c=1, dkLen=64; the
        // first 32 bytes (our length), with the minimum rounds lifted for the check.
        let out = derive("passwd", b"salt", 1);
        assert_eq!(out[..8], [0x55, 0xac, 0x04, 0x6e, 0x56, 0xe3, 0x08, 0x9f]);
    }

    #[test]
    fn the_fast_rounds_give_what_the_pbkdf2_crate_gives() {
        let long = "p".repeat(100);
        for (password, salt, rounds) in [
            ("anna-password", &b"0123456789abcdef"[..], 1u32),
            ("anna-password", &b"0123456789abcdef"[..], 2),
            ("anna-password", &b"0123456789abcdef"[..], 1000),
            ("", &b"salt-salt"[..], 3),
            (long.as_str(), &[9u8; 40][..], 17),
            ("ä-unicode-€", &[0u8; 8][..], 64),
        ] {
            let mut want = [0u8; 32];
            pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password.as_bytes(), salt, rounds, &mut want);
            assert_eq!(
                derive(password, salt, rounds),
                want,
                "{password:?} {rounds}"
            );
        }
    }

    #[test]
    fn bad_hashes_are_refused_in_one_line() {
        let good = PasswordHash::with_rounds("pw-pw-pw", &[7; 16], 1000);
        let text = good.as_str().to_string();
        for (bad, needle) in [
            (
                "$argon2id$v=19$m=1,t=1,p=1$c2FsdA$aGFzaA".to_string(),
                "pbkdf2-sha256",
            ),
            (text.replace("i=1000", "i=10"), "rounds"),
            (text.replace("i=1000", "x=1"), "unknown parameter"),
            (text.replace("l=32", "l=16"), "32 bytes"),
            (format!("{text}$more"), "expected"),
            (format!("{text}!"), "base64"),
        ] {
            let err = PasswordHash::parse(&bad).unwrap_err();
            assert!(err.contains(needle), "{bad}: {err}");
            assert!(!err.contains('\n'));
        }
    }
}
