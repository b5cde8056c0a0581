//! The `io.jwt.*` builtins: decode, verify (HMAC, RSA PKCS#1 and PSS, ECDSA, EdDSA), decode_verify with
//! OPA's constraints, and encode_sign / encode_sign_raw.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Result, anyhow, bail};
use base64::Engine as _;
use regorus::Value;
use serde_json::Value as Json;

use super::args::{string, type_name};
use super::jwk::{BASE64URL, SigningKey, VerifyKey, sign, signing_key, verify, verify_keys};

/// A JWS in compact form, taken apart.
struct Token {
    header: Json,
    payload_bytes: Vec<u8>,
    signature: Vec<u8>,
    signing_input: String,
}

fn parse_token(name: &str, token: &str) -> Result<Token> {
    if !token.contains('.') {
        bail!("{name}: encoded JWT had no period separators");
    }
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        bail!("{name}: encoded JWT must have 3 sections, found {}", parts.len());
    }
    let decode = |part: &str, what: &str| {
        BASE64URL.decode(part).map_err(|err| anyhow!("{name}: JWT {what} had invalid encoding: {err}"))
    };
    let header_bytes = decode(parts[0], "header")?;
    let header: Json = serde_json::from_slice(&header_bytes)
        .map_err(|err| anyhow!("{name}: JWT header is not JSON: {err}"))?;
    if !header.is_object() {
        bail!("{name}: JWT header is not a JSON object");
    }
    if header.get("enc").is_some() {
        bail!("{name}: JWT is a JWE object, which is not supported");
    }
    Ok(Token {
        header,
        payload_bytes: decode(parts[1], "payload")?,
        signature: decode(parts[2], "signature")?,
        signing_input: format!("{}.{}", parts[0], parts[1]),
    })
}

/// A nested token (header `cty: JWT`) carries the inner token as its payload, possibly as a JSON string.
fn inner_token(token: &Token) -> Option<String> {
    let cty = token.header.get("cty").and_then(Json::as_str)?;
    if !cty.eq_ignore_ascii_case("JWT") {
        return None;
    }
    let text = String::from_utf8_lossy(&token.payload_bytes).into_owned();
    Some(serde_json::from_str::<String>(&text).unwrap_or(text))
}

fn payload_json(name: &str, token: &Token) -> Result<Json> {
    let payload: Json = serde_json::from_slice(&token.payload_bytes)
        .map_err(|err| anyhow!("{name}: JWT payload is not JSON: {err}"))?;
    if !payload.is_object() {
        bail!("{name}: JWT payload is not a JSON object");
    }
    Ok(payload)
}

fn decode(args: &[Value]) -> Result<Value> {
    let name = "io.jwt.decode";
    let mut token = parse_token(name, string(name, args, 0)?)?;
    // Nested tokens decode to the innermost token.
    let mut depth = 0;
    while let Some(inner) = inner_token(&token) {
        depth += 1;
        if depth > 16 {
            bail!("{name}: JWT nested too deeply");
        }
        token = parse_token(name, &inner)?;
    }
    let payload = payload_json(name, &token)?;
    let signature = hex::encode(&token.signature);
    Ok(Value::from(vec![Value::from(token.header), Value::from(payload), Value::from(signature)]))
}

fn verify_with(name: &str, args: &[Value], algs: &[&str], hmac: bool) -> Result<Value> {
    let token = match parse_token(name, string(name, args, 0)?) {
        Ok(token) => token,
        // A signature that does not even decode is not a valid signature.
        Err(err) if err.to_string().contains("signature had invalid encoding") => {
            return Ok(Value::Bool(false));
        }
        Err(err) => return Err(err),
    };
    let key_text = string(name, args, 1)?;
    let alg = token.header.get("alg").and_then(Json::as_str).unwrap_or_default();
    let expected = algs[0];
    if hmac {
        let key = SigningKey::Secret(key_text.as_bytes().to_vec());
        let valid = alg == expected
            && sign(expected, &key, token.signing_input.as_bytes())
                .is_ok_and(|mac| super::crypto::constant_time_equal(&mac, &token.signature));
        return Ok(Value::from(valid));
    }
    let keys = verify_keys(key_text).map_err(|err| anyhow!("{name}: {err}"))?;
    let valid =
        keys.iter().any(|key| verify(expected, key, token.signing_input.as_bytes(), &token.signature));
    Ok(Value::from(valid))
}

/// Seconds (possibly fractional) as exact nanoseconds, from the number's decimal text.
fn nanoseconds(text: &str, scale_seconds: bool) -> Option<i128> {
    let text = text.trim();
    let (mantissa, exponent) = match text.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i32>().ok()?),
        None => (text, 0),
    };
    let negative = mantissa.starts_with('-');
    let mantissa = mantissa.trim_start_matches(['-', '+']);
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits: String = format!("{whole}{fraction}");
    let scale = exponent - i32::try_from(fraction.len()).ok()? + if scale_seconds { 9 } else { 0 };
    let mut value: i128 = digits.parse().ok()?;
    if scale >= 0 {
        value = value.checked_mul(10i128.checked_pow(u32::try_from(scale).ok()?)?)?;
    } else {
        value /= 10i128.checked_pow(u32::try_from(-scale).ok()?)?;
    }
    Some(if negative { -value } else { value })
}

fn json_number_ns(value: &Json, what: &str, scale_seconds: bool) -> Result<i128> {
    match value {
        Json::Number(number) => {
            nanoseconds(&number.to_string(), scale_seconds).ok_or_else(|| anyhow!("{what} is out of range"))
        }
        _ => bail!("{what} value must be a number"),
    }
}

fn decode_verify(args: &[Value]) -> Result<Value> {
    let name = "io.jwt.decode_verify";
    let token_text = string(name, args, 0)?;
    let constraints = match args.get(1) {
        Some(Value::Object(_)) => serde_json::from_str::<Json>(&args[1].to_json_str()?)?,
        Some(other) => bail!("{name}: operand 2 must be object but got {}", type_name(other)),
        None => bail!("{name}: missing operand 2"),
    };
    let constraints = constraints.as_object().cloned().unwrap_or_default();
    for key in constraints.keys() {
        if !["cert", "secret", "alg", "iss", "aud", "time"].contains(&key.as_str()) {
            bail!("{name}: unknown token validation constraint: {key}");
        }
    }
    let invalid = || Ok(Value::from(vec![Value::Bool(false), Value::new_object(), Value::new_object()]));
    let time_ns = match constraints.get("time") {
        Some(time) => json_number_ns(time, "time", false)?,
        None => SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i128),
    };
    let keys: Option<Vec<VerifyKey>> = match constraints.get("cert").and_then(Json::as_str) {
        Some(text) => Some(verify_keys(text).map_err(|err| anyhow!("{name}: {err}"))?),
        None => None,
    };
    let secret = constraints.get("secret").and_then(Json::as_str);
    if keys.is_none() && secret.is_none() {
        bail!("{name}: a `cert` or a `secret` constraint is required");
    }
    let mut token = parse_token(name, token_text)?;
    let mut depth = 0;
    loop {
        let Some(alg) = token.header.get("alg").and_then(Json::as_str).map(str::to_owned) else {
            return invalid();
        };
        if token.header.get("crit").is_some() {
            return invalid();
        }
        if let Some(wanted) = constraints.get("alg").and_then(Json::as_str)
            && wanted != alg
        {
            return invalid();
        }
        let message = token.signing_input.as_bytes();
        let valid = if alg.starts_with("HS") {
            secret.is_some_and(|secret| {
                sign(&alg, &SigningKey::Secret(secret.as_bytes().to_vec()), message)
                    .is_ok_and(|mac| super::crypto::constant_time_equal(&mac, &token.signature))
            })
        } else {
            keys.as_ref()
                .is_some_and(|keys| keys.iter().any(|key| verify(&alg, key, message, &token.signature)))
        };
        if !valid {
            return invalid();
        }
        match inner_token(&token) {
            Some(inner) if depth < 16 => {
                depth += 1;
                token = parse_token(name, &inner)?;
            }
            Some(_) => bail!("{name}: JWT nested too deeply"),
            None => break,
        }
    }
    let payload = payload_json(name, &token)?;
    if let Some(exp) = payload.get("exp")
        && time_ns >= json_number_ns(exp, "exp", true)?
    {
        return invalid();
    }
    if let Some(nbf) = payload.get("nbf")
        && time_ns < json_number_ns(nbf, "nbf", true)?
    {
        return invalid();
    }
    if let Some(iss) = constraints.get("iss")
        && payload.get("iss") != Some(iss)
    {
        return invalid();
    }
    match (payload.get("aud"), constraints.get("aud").and_then(Json::as_str)) {
        (None, None) => {}
        (Some(Json::String(aud)), Some(wanted)) if aud == wanted => {}
        (Some(Json::Array(auds)), Some(wanted)) if auds.iter().any(|a| a.as_str() == Some(wanted)) => {}
        _ => return invalid(),
    }
    Ok(Value::from(vec![Value::Bool(true), Value::from(token.header), Value::from(payload)]))
}

fn encode(header_text: &str, payload_text: &str, jwk: &Json) -> Result<Value> {
    let header: Json = serde_json::from_str(header_text)
        .map_err(|err| anyhow!("missing or invalid 'alg' header: cannot parse JSON: {err}"))?;
    let alg = header
        .get("alg")
        .and_then(Json::as_str)
        .ok_or_else(|| anyhow!("missing or invalid 'alg' header: header \"alg\" not found"))?;
    // Unless the header declares plain text, the payload must be JSON.
    let plain =
        header.get("typ").and_then(Json::as_str).is_some_and(|typ| typ.eq_ignore_ascii_case("text/plain"));
    if !plain {
        serde_json::from_str::<Json>(payload_text)
            .map_err(|err| anyhow!("type is JOSE but payload is not JSON: {err}"))?;
    }
    let key = signing_key(jwk)?;
    let signing_input = format!("{}.{}", BASE64URL.encode(header_text), BASE64URL.encode(payload_text));
    let signature = sign(alg, &key, signing_input.as_bytes())?;
    Ok(Value::from(format!("{signing_input}.{}", BASE64URL.encode(signature))))
}

fn encode_sign_raw(args: &[Value]) -> Result<Value> {
    let name = "io.jwt.encode_sign_raw";
    let jwk: Json = serde_json::from_str(string(name, args, 2)?)
        .map_err(|err| anyhow!("{name}: the key is not a JWK: {err}"))?;
    encode(string(name, args, 0)?, string(name, args, 1)?, &jwk)
}

/// Compact JSON with sorted keys and sets as arrays, as OPA serialises values for `encode_sign`.
fn canonical_json(value: &Value) -> Result<String> {
    let json: Json = serde_json::from_str(&value.to_json_str()?)?;
    fn sort(json: Json) -> Json {
        match json {
            Json::Object(map) => {
                let sorted: BTreeMap<String, Json> = map.into_iter().map(|(k, v)| (k, sort(v))).collect();
                Json::Object(sorted.into_iter().collect())
            }
            Json::Array(items) => Json::Array(items.into_iter().map(sort).collect()),
            other => other,
        }
    }
    Ok(serde_json::to_string(&sort(json))?)
}

fn encode_sign(args: &[Value]) -> Result<Value> {
    let name = "io.jwt.encode_sign";
    let object = |index: usize| -> Result<&Value> {
        match args.get(index) {
            Some(value @ Value::Object(_)) => Ok(value),
            Some(other) => bail!("{name}: operand {} must be object but got {}", index + 1, type_name(other)),
            None => bail!("{name}: missing operand {}", index + 1),
        }
    };
    let header = canonical_json(object(0)?)?;
    let payload = canonical_json(object(1)?)?;
    let jwk: Json = serde_json::from_str(&object(2)?.to_json_str()?)?;
    encode(&header, &payload, &jwk)
}

macro_rules! verifier {
    ($name:literal, $alg:literal, $hmac:expr) => {
        ($name, 2, |args| verify_with($name, args, &[$alg], $hmac))
    };
}

pub const FUNCTIONS: &[super::Builtin] = &[
    ("io.jwt.decode", 1, decode),
    ("io.jwt.decode_verify", 2, decode_verify),
    ("io.jwt.encode_sign", 3, encode_sign),
    ("io.jwt.encode_sign_raw", 3, encode_sign_raw),
    verifier!("io.jwt.verify_hs256", "HS256", true),
    verifier!("io.jwt.verify_hs384", "HS384", true),
    verifier!("io.jwt.verify_hs512", "HS512", true),
    verifier!("io.jwt.verify_rs256", "RS256", false),
    verifier!("io.jwt.verify_rs384", "RS384", false),
    verifier!("io.jwt.verify_rs512", "RS512", false),
    verifier!("io.jwt.verify_ps256", "PS256", false),
    verifier!("io.jwt.verify_ps384", "PS384", false),
    verifier!("io.jwt.verify_ps512", "PS512", false),
    verifier!("io.jwt.verify_es256", "ES256", false),
    verifier!("io.jwt.verify_es384", "ES384", false),
    verifier!("io.jwt.verify_es512", "ES512", false),
    verifier!("io.jwt.verify_eddsa", "EdDSA", false),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nanoseconds_are_exact() {
        assert_eq!(nanoseconds("1589385770.1234", true), Some(1_589_385_770_123_400_000));
        assert_eq!(nanoseconds("1589385770123400000", false), Some(1_589_385_770_123_400_000));
        assert_eq!(nanoseconds("1.5e3", true), Some(1_500_000_000_000));
        assert_eq!(nanoseconds("2000000000000.1", false), Some(2_000_000_000_000));
        assert_eq!(nanoseconds("abc", true), None);
    }

    #[test]
    fn decode_rejects_malformed_tokens() {
        let decode = |t: &str| decode(&[Value::from(t)]).unwrap_err().to_string();
        assert!(decode("abc").contains("no period separators"));
        assert!(decode("a.b").contains("3 sections"));
        assert!(decode("!!!.e30.e30").contains("header had invalid encoding"));
    }

    #[test]
    fn hmac_round_trip_and_tamper_detection() {
        let jwk = serde_json::json!({"kty": "oct", "k": BASE64URL.encode("secret")});
        let Value::String(token) = encode(r#"{"alg":"HS256"}"#, r#"{"sub":"x"}"#, &jwk).unwrap() else {
            panic!()
        };
        let check = |token: &str| {
            verify_with("t", &[Value::from(token), Value::from("secret")], &["HS256"], true).unwrap()
        };
        assert_eq!(check(&token), Value::Bool(true));
        let tampered = token.replacen("eyJzdWIiOiJ4In0", "eyJzdWIiOiJ5In0", 1);
        assert_eq!(check(&tampered), Value::Bool(false));
    }
}
