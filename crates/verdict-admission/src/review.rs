//! AdmissionReview in and out (`admission.k8s.io/v1`, the types of `kube::core::admission`). A review
//! that cannot be read is an error naming what is wrong — the webhook answers it with a 400 or a denial,
//! never an allow.

use kube::core::DynamicObject;
use kube::core::admission::{AdmissionRequest, AdmissionResponse, AdmissionReview};
use kube::core::response::Status;
use serde_json::Value;

/// An admission request as the API server sends it.
pub type Request = AdmissionRequest<DynamicObject>;

/// The only AdmissionReview version the webhook speaks (`admissionReviewVersions: ["v1"]`).
pub const API_VERSION: &str = "admission.k8s.io/v1";

/// Why a review cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReviewError {
    /// The body is not JSON.
    #[error("the body is not JSON (line {line}, column {column}): {message}")]
    NotJson {
        /// Line of the error.
        line: usize,
        /// Column of the error.
        column: usize,
        /// What serde_json said.
        message: String,
    },
    /// Not an `admission.k8s.io/v1` AdmissionReview.
    #[error(
        "expected apiVersion {API_VERSION} and kind AdmissionReview, got apiVersion {api_version:?} and kind {kind:?}"
    )]
    NotV1Review {
        /// The apiVersion sent.
        api_version: String,
        /// The kind sent.
        kind: String,
    },
    /// A review without a request.
    #[error("the AdmissionReview has no request")]
    NoRequest,
    /// A field of the request has the wrong shape.
    #[error("request.{path}: {message}")]
    BadField {
        /// The field's path inside `request`.
        path: String,
        /// What is wrong.
        message: String,
    },
}

/// Reads an AdmissionReview body into its request.
pub fn parse_review(body: &[u8]) -> Result<Request, ReviewError> {
    let value: Value = serde_json::from_slice(body).map_err(|err| ReviewError::NotJson {
        line: err.line(),
        column: err.column(),
        message: err.to_string(),
    })?;
    let text = |key: &str| value.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
    let (api_version, kind) = (text("apiVersion"), text("kind"));
    if api_version != API_VERSION || kind != "AdmissionReview" {
        return Err(ReviewError::NotV1Review { api_version, kind });
    }
    let Some(request) = value.get("request").filter(|r| !r.is_null()) else {
        return Err(ReviewError::NoRequest);
    };
    let request = with_informational_defaults(request.clone());
    let request: Request = serde_path_to_error::deserialize(&request).map_err(|err| {
        let path = err.path().to_string();
        ReviewError::BadField { path, message: err.into_inner().to_string() }
    })?;
    if request.uid.trim().is_empty() {
        return Err(ReviewError::BadField { path: "uid".to_owned(), message: "empty".to_owned() });
    }
    Ok(request)
}

/// Fills fields the API server always sends but that hand-written reviews (and some test data) omit,
/// and that nothing is decided on: the group and version of `kind` and `requestKind`, `resource`,
/// `userInfo`. What the
/// decision reads (`uid`, `kind.kind`, `operation`, the objects) stays required.
fn with_informational_defaults(mut request: Value) -> Value {
    let Some(fields) = request.as_object_mut() else { return request };
    for field in ["kind", "requestKind", "resource", "requestResource"] {
        if let Some(Value::Object(gvk)) = fields.get_mut(field) {
            for key in ["group", "version"] {
                gvk.entry(key).or_insert_with(|| Value::from(""));
            }
        }
    }
    fields
        .entry("resource")
        .or_insert_with(|| serde_json::json!({"group": "", "version": "", "resource": ""}));
    fields.entry("userInfo").or_insert_with(|| serde_json::json!({}));
    request
}

/// The answer admitting `request`, with `warnings` shown to the user (kubectl prints them).
pub fn allow(request: &Request, warnings: Vec<String>) -> AdmissionReview<DynamicObject> {
    let mut response = AdmissionResponse::from(request);
    if !warnings.is_empty() {
        response.warnings = Some(warnings);
    }
    review_of(response)
}

/// The answer denying `request` with `message` (HTTP 403 in the status the API server relays).
pub fn deny(request: &Request, message: &str) -> AdmissionReview<DynamicObject> {
    let mut response = AdmissionResponse::from(request).deny(message);
    response.result = Status::failure(message, "Forbidden").with_code(403);
    review_of(response)
}

fn review_of(response: AdmissionResponse) -> AdmissionReview<DynamicObject> {
    let mut review = response.into_review();
    // The answer carries the version the webhook speaks, whatever the request's type metadata held.
    review.types.api_version = API_VERSION.to_owned();
    review.types.kind = "AdmissionReview".to_owned();
    review
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn review(request: Value) -> Vec<u8> {
        json!({"apiVersion": API_VERSION, "kind": "AdmissionReview", "request": request})
            .to_string()
            .into_bytes()
    }

    fn pod_request() -> Value {
        json!({"uid": "u-1", "kind": {"group": "", "version": "v1", "kind": "Pod"},
               "resource": {"group": "", "version": "v1", "resource": "pods"}, "operation": "CREATE",
               "userInfo": {"username": "alice"}, "namespace": "default", "name": "p",
               "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                          "spec": {"containers": [{"name": "a", "image": "nginx"}]}}})
    }

    #[test]
    fn a_v1_review_is_read_and_answered_with_its_uid() {
        let request = parse_review(&review(pod_request())).unwrap();
        assert_eq!(request.uid, "u-1");
        let allowed = serde_json::to_value(allow(&request, vec!["careful".into()])).unwrap();
        assert_eq!(allowed["apiVersion"], API_VERSION);
        assert_eq!(allowed["kind"], "AdmissionReview");
        assert_eq!(allowed["response"]["uid"], "u-1");
        assert_eq!(allowed["response"]["allowed"], true);
        assert_eq!(allowed["response"]["warnings"], json!(["careful"]));
        let denied = serde_json::to_value(deny(&request, "unsigned")).unwrap();
        assert_eq!(denied["response"]["allowed"], false);
        assert_eq!(denied["response"]["status"]["message"], "unsigned");
        assert_eq!(denied["response"]["status"]["code"], 403);
    }

    #[test]
    fn what_is_not_a_v1_review_is_named() {
        assert!(matches!(parse_review(b"{not json"), Err(ReviewError::NotJson { line: 1, .. })));
        let v1beta1 = json!({"apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview", "request": pod_request()});
        let err = parse_review(v1beta1.to_string().as_bytes()).unwrap_err();
        assert!(err.to_string().contains("admission.k8s.io/v1beta1"), "{err}");
        let none = json!({"apiVersion": API_VERSION, "kind": "AdmissionReview"});
        assert!(matches!(parse_review(none.to_string().as_bytes()), Err(ReviewError::NoRequest)));
        let mut bad = pod_request();
        bad["operation"] = json!("EXPLODE");
        let err = parse_review(&review(bad)).unwrap_err();
        assert!(matches!(&err, ReviewError::BadField { path, .. } if path == "operation"), "{err}");
        let mut no_uid = pod_request();
        no_uid["uid"] = json!("");
        assert!(parse_review(&review(no_uid)).is_err());
    }
}
