//! `providers.aws.sign_req(request, aws_config, time_ns)`: an `http.send`-style request object with AWS
//! Signature Version 4 headers added (`Authorization`, `x-amz-date`, `host`, and for S3 and Glacier
//! `x-amz-content-sha256`; `x-amz-security-token` with session credentials), computed as OPA computes
//! them, so a policy that prepares signed requests for another component produces the same bytes.
//! Signing is pure computation; nothing is sent.

use std::collections::BTreeMap;

use anyhow::{Result, anyhow, bail};
use hmac::{Hmac, Mac};
use regorus::Value;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::macros::format_description;

use super::args::type_name;

const NAME: &str = "providers.aws.sign_req";

/// Headers a proxy may change, left out of the signature (as the AWS SDKs and OPA do).
const IGNORED_HEADERS: &[&str] = &["authorization", "user-agent", "x-amzn-trace-id"];

fn hmac_sha256(key: &[u8], message: &str) -> Result<Vec<u8>> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).map_err(|err| anyhow!("{NAME}: {err}"))?;
    mac.update(message.as_bytes());
    Ok(mac.finalize().into_bytes().to_vec())
}

fn field<'a>(object: &'a Value, key: &str) -> Option<&'a Value> {
    match object {
        Value::Object(map) => map.get(&Value::from(key)),
        _ => None,
    }
}

fn text(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(text)) => text.to_string(),
        _ => String::new(),
    }
}

/// Host, escaped path and raw query of `url`, as Go's `url.URL` gives them.
fn url_parts(url: &str) -> Result<(String, String, String)> {
    let (_, rest) =
        url.split_once("://").ok_or_else(|| anyhow!("{NAME}: invalid URL {url:?}: missing scheme"))?;
    let rest = rest.split('#').next().unwrap_or_default();
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let after = &rest[authority_end..];
    let (path, query) = after.split_once('?').unwrap_or((after, ""));
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        bail!("{NAME}: invalid URL {url:?}");
    }
    Ok((host.to_owned(), path.to_owned(), query.to_owned()))
}

/// The body as bytes: `raw_body` as given, else `body` as Go's `json.Marshal` writes it (keys sorted,
/// `<`, `>`, `&` escaped), else nothing.
fn body_bytes(request: &Value) -> Result<Vec<u8>> {
    if let Some(raw) = field(request, "raw_body") {
        return Ok(text(Some(raw)).into_bytes());
    }
    let Some(body) = field(request, "body") else { return Ok(Vec::new()) };
    let json: serde_json::Value = serde_json::to_value(body).map_err(|err| anyhow!("{NAME}: {err}"))?;
    let compact = serde_json::to_string(&json).map_err(|err| anyhow!("{NAME}: {err}"))?;
    let escaped = compact
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029");
    Ok(escaped.into_bytes())
}

fn sign_req(args: &[Value]) -> Result<Value> {
    let request = args.first().unwrap_or(&Value::Undefined);
    let config = args.get(1).unwrap_or(&Value::Undefined);
    if !matches!(request, Value::Object(_)) {
        bail!("{NAME}: operand 1 must be object but got {}", type_name(request));
    }
    if !matches!(config, Value::Object(_)) {
        bail!("{NAME}: operand 2 must be object but got {}", type_name(config));
    }
    let required = ["aws_access_key", "aws_region", "aws_secret_access_key", "aws_service"];
    let missing: Vec<&str> = required.iter().copied().filter(|key| field(config, key).is_none()).collect();
    if !missing.is_empty() {
        bail!("{NAME}: operand 2 missing required AWS config parameters(s): {missing:?}");
    }
    let invalid: Vec<&str> = required
        .iter()
        .copied()
        .filter(|key| !matches!(field(config, key), Some(Value::String(_))))
        .collect();
    if !invalid.is_empty() {
        bail!("{NAME}: operand 2 invalid values for required AWS config parameters(s): {invalid:?}");
    }
    let nanos = match args.get(2) {
        Some(Value::Number(number)) => number.as_i64().ok_or_else(|| {
            anyhow!("{NAME}: operand 3 could not convert time_ns value into a unix timestamp")
        })?,
        Some(other) => bail!("{NAME}: operand 3 must be number but got {}", type_name(other)),
        None => bail!("{NAME}: missing operand 3"),
    };
    let invalid_request: Vec<&str> = ["method", "url"]
        .into_iter()
        .filter(|key| !matches!(field(request, key), Some(Value::String(_))))
        .collect();
    if !invalid_request.is_empty() {
        bail!("{NAME}: operand 1 invalid values for required request parameters(s): {invalid_request:?}");
    }
    let headers: BTreeMap<String, String> = match field(request, "headers") {
        None => BTreeMap::new(),
        Some(Value::Object(map)) => {
            map.iter().map(|(key, value)| (text(Some(key)), text(Some(value)))).collect()
        }
        Some(other) => bail!("{NAME}: operand 1 headers must be object but got {}", type_name(other)),
    };
    let disable_payload_signing = match field(config, "disable_payload_signing") {
        None => false,
        Some(Value::Bool(flag)) => *flag,
        Some(_) => bail!("{NAME}: operand 2 invalid value for 'disable_payload_signing' in AWS config"),
    };
    let service = text(field(config, "aws_service"));
    let region = text(field(config, "aws_region"));
    let access_key = text(field(config, "aws_access_key"));
    let secret_key = text(field(config, "aws_secret_access_key"));
    let session_token = text(field(config, "aws_session_token"));
    let (host, path, query) = url_parts(&text(field(request, "url")))?;
    let body = body_bytes(request)?;

    let when = OffsetDateTime::from_unix_timestamp_nanos(i128::from(nanos))
        .map_err(|err| anyhow!("{NAME}: operand 3 {err}"))?;
    let date =
        when.format(format_description!("[year][month][day]")).map_err(|err| anyhow!("{NAME}: {err}"))?;
    let stamp = when
        .format(format_description!("[year][month][day]T[hour][minute][second]Z"))
        .map_err(|err| anyhow!("{NAME}: {err}"))?;
    let payload_hash = if disable_payload_signing {
        "UNSIGNED-PAYLOAD".to_owned()
    } else {
        hex::encode(Sha256::digest(&body))
    };

    let mut aws_headers: BTreeMap<String, String> = BTreeMap::new();
    aws_headers.insert("host".into(), host);
    aws_headers.insert("x-amz-date".into(), stamp.clone());
    if service == "s3" || service == "glacier" {
        aws_headers.insert("x-amz-content-sha256".into(), payload_hash.clone());
    }
    if !session_token.is_empty() {
        aws_headers.insert("x-amz-security-token".into(), session_token);
    }
    let mut signed: BTreeMap<String, String> = aws_headers.clone();
    for (key, value) in &headers {
        let lower = key.to_lowercase();
        if !IGNORED_HEADERS.contains(&lower.as_str()) {
            signed.insert(lower, value.clone());
        }
    }
    let mut canonical = format!("{}\n{path}\n{query}\n", text(field(request, "method")));
    for (key, value) in &signed {
        canonical.push_str(&format!("{key}:{value}\n"));
    }
    let header_list = signed.keys().cloned().collect::<Vec<_>>().join(";");
    canonical.push_str(&format!("\n{header_list}\n{payload_hash}"));
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let to_sign =
        format!("AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{}", hex::encode(Sha256::digest(canonical.as_bytes())));
    let mut key = hmac_sha256(format!("AWS4{secret_key}").as_bytes(), &date)?;
    for part in [region.as_str(), service.as_str(), "aws4_request"] {
        key = hmac_sha256(&key, part)?;
    }
    let signature = hex::encode(hmac_sha256(&key, &to_sign)?);
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential={access_key}/{scope},SignedHeaders={header_list},Signature={signature}"
    );

    let mut out_headers = Value::new_object();
    let map = out_headers.as_object_mut()?;
    for (key, value) in headers {
        map.insert(Value::from(key), Value::from(value));
    }
    map.insert(Value::from("Authorization"), Value::from(authorization));
    for (key, value) in aws_headers {
        map.insert(Value::from(key), Value::from(value));
    }
    let mut out = request.clone();
    out.as_object_mut()?.insert(Value::from("headers"), out_headers);
    Ok(out)
}

pub const FUNCTIONS: &[super::Builtin] = &[(NAME, 3, sign_req)];

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn config(service: &str) -> serde_json::Value {
        json!({"aws_access_key": "AKIDEXAMPLE", "aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
               "aws_region": "us-east-1", "aws_service": service})
    }

    /// 2015-08-30T12:36:00Z, the time of AWS's documented example.
    const EXAMPLE_TIME_NS: i64 = 1_440_938_160_000_000_000;

    fn sign(request: serde_json::Value, config: serde_json::Value) -> Result<serde_json::Value> {
        let signed = sign_req(&[Value::from(request), Value::from(config), Value::from(EXAMPLE_TIME_NS)])?;
        Ok(serde_json::from_str(&signed.to_json_str()?)?)
    }

    #[test]
    fn matches_the_signature_in_awss_documentation() {
        // The IAM ListUsers example of AWS's "Signature Version 4 signing process" documentation: its
        // signature is 5d672d79….
        let request = json!({"method": "GET", "url": "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08",
                             "headers": {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}});
        let signed = sign(request, config("iam")).unwrap();
        assert_eq!(
            signed["headers"]["Authorization"],
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request,SignedHeaders=content-type;host;x-amz-date,Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
        );
        assert_eq!(signed["headers"]["x-amz-date"], "20150830T123600Z");
        assert_eq!(signed["headers"]["host"], "iam.amazonaws.com");
        assert_eq!(signed["headers"]["Content-Type"], "application/x-www-form-urlencoded; charset=utf-8");
        assert_eq!(signed["url"], "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08");
    }

    #[test]
    fn s3_gets_the_content_hash_and_sessions_their_token() {
        let mut with_token = config("s3");
        with_token["aws_session_token"] = json!("SESSION");
        let signed = sign(
            json!({"method": "PUT", "url": "https://b.s3.amazonaws.com/k", "raw_body": "hello"}),
            with_token.clone(),
        )
        .unwrap();
        let headers = &signed["headers"];
        assert_eq!(headers["x-amz-content-sha256"], hex::encode(Sha256::digest(b"hello")));
        assert_eq!(headers["x-amz-security-token"], "SESSION");
        assert!(
            headers["Authorization"]
                .as_str()
                .unwrap()
                .contains("SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,")
        );
        with_token["disable_payload_signing"] = json!(true);
        let unsigned = sign(
            json!({"method": "PUT", "url": "https://b.s3.amazonaws.com/k", "raw_body": "hello"}),
            with_token,
        )
        .unwrap();
        assert_eq!(unsigned["headers"]["x-amz-content-sha256"], "UNSIGNED-PAYLOAD");
    }

    #[test]
    fn json_bodies_are_signed_as_go_marshals_them() {
        let body = json!({"b": "<&>", "a": 1});
        assert_eq!(
            body_bytes(&Value::from(json!({"body": body}))).unwrap(),
            br#"{"a":1,"b":"\u003c\u0026\u003e"}"#
        );
        let a = sign(
            json!({"method": "POST", "url": "https://x.amazonaws.com/", "body": {"a": 1}}),
            config("execute-api"),
        )
        .unwrap();
        let b = sign(
            json!({"method": "POST", "url": "https://x.amazonaws.com/", "raw_body": "{\"a\":1}"}),
            config("execute-api"),
        )
        .unwrap();
        assert_eq!(a["headers"]["Authorization"], b["headers"]["Authorization"]);
    }

    #[test]
    fn ignored_headers_are_not_signed_and_bad_input_is_refused() {
        let signed = sign(json!({"method": "GET", "url": "https://x.amazonaws.com/", "headers": {"User-Agent": "ua", "X-Custom": "1"}}), config("sts")).unwrap();
        let auth = signed["headers"]["Authorization"].as_str().unwrap();
        assert!(auth.contains("SignedHeaders=host;x-amz-date;x-custom,"), "{auth}");
        assert_eq!(signed["headers"]["User-Agent"], "ua");
        for (request, config, why) in [
            (json!({"method": "GET"}), config("sts"), "url"),
            (json!({"method": 1, "url": "https://x/"}), config("sts"), "method"),
            (json!({"method": "GET", "url": "https://x/"}), json!({"aws_service": "sts"}), "aws_access_key"),
            (
                json!({"method": "GET", "url": "https://x/"}),
                json!({"aws_service": 1, "aws_access_key": "a", "aws_secret_access_key": "s", "aws_region": "r"}),
                "aws_service",
            ),
            (json!({"method": "GET", "url": "no-scheme"}), config("sts"), "scheme"),
        ] {
            let err = sign(request, config).unwrap_err();
            assert!(err.to_string().contains(why), "{why}: {err}");
        }
    }
}
