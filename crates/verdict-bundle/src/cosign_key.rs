//! cosign's encrypted private keys (`cosign generate-key-pair`): the PEM body is base64 of a JSON
//! document naming the key derivation (scrypt, with its N, r, p and salt) and the cipher (NaCl secretbox,
//! XSalsa20-Poly1305, with its nonce), and the ciphertext of the key's PKCS#8 DER. The secretbox's MAC
//! authenticates the result: a wrong password or a damaged file is an error, never a different key.

use base64::Engine;
use crypto_secretbox::aead::{Aead, KeyInit};
use crypto_secretbox::{Nonce, XSalsa20Poly1305};
use serde_json::Value;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// The most memory scrypt may take (four times cosign's own keys).
const MAX_MEMORY: u64 = 256 << 20;

/// The largest scrypt cost accepted (cosign writes N = 2^15 or 2^16; more is a denial of service).
const MAX_LOG_N: u8 = 20;

/// The PKCS#8 DER inside the encrypted key `body` (the PEM block's base64), or why not.
pub(crate) fn decrypt(body: &str, password: &str) -> Result<Vec<u8>, String> {
    let json =
        B64.decode(body.as_bytes()).map_err(|err| format!("the encrypted key is not base64: {err}"))?;
    let document: Value = serde_json::from_slice(&json)
        .map_err(|err| format!("the encrypted key is not cosign's JSON: {err}"))?;
    let text = |pointer: &str| {
        document
            .pointer(pointer)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("the encrypted key has no {pointer}"))
    };
    let number = |pointer: &str| {
        document
            .pointer(pointer)
            .and_then(Value::as_u64)
            .ok_or_else(|| format!("the encrypted key has no {pointer}"))
    };
    let bytes = |pointer: &str| -> Result<Vec<u8>, String> {
        B64.decode(text(pointer)?).map_err(|err| format!("{pointer} is not base64: {err}"))
    };
    if text("/kdf/name")? != "scrypt" || text("/cipher/name")? != "nacl/secretbox" {
        return Err(
            "the encrypted key uses a key derivation or cipher other than cosign's scrypt + nacl/secretbox"
                .into(),
        );
    }
    let n = number("/kdf/params/N")?;
    if !n.is_power_of_two() || n < 2 {
        return Err(format!("scrypt N {n} is not a power of two"));
    }
    let log_n = u8::try_from(n.trailing_zeros()).unwrap_or(u8::MAX);
    if log_n > MAX_LOG_N {
        return Err(format!("scrypt N 2^{log_n} is larger than verdict accepts (2^{MAX_LOG_N})"));
    }
    let r = u32::try_from(number("/kdf/params/r")?).map_err(|_| "scrypt r is too large".to_owned())?;
    let p = u32::try_from(number("/kdf/params/p")?).map_err(|_| "scrypt p is too large".to_owned())?;
    // scrypt needs 128 · r · N bytes (cosign: r = 8, N = 2^16, 64 MiB); p multiplies the time.
    if u64::from(r) * 128 * n > MAX_MEMORY || p > 16 {
        return Err(format!("scrypt parameters N={n} r={r} p={p} cost more than verdict accepts"));
    }
    let params = scrypt::Params::new(log_n, r, p).map_err(|err| format!("scrypt parameters: {err}"))?;
    let mut key = [0u8; 32];
    scrypt::scrypt(password.as_bytes(), &bytes("/kdf/salt")?, &params, &mut key)
        .map_err(|err| format!("scrypt: {err}"))?;
    let nonce = bytes("/cipher/nonce")?;
    if nonce.len() != 24 {
        return Err(format!("the secretbox nonce is {} bytes, not 24", nonce.len()));
    }
    XSalsa20Poly1305::new(&key.into())
        .decrypt(Nonce::from_slice(&nonce), bytes("/ciphertext")?.as_slice())
        .map_err(|_| "the key does not decrypt: wrong COSIGN_PASSWORD, or the file is damaged".to_owned())
}
