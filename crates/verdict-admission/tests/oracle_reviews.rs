//! The 115 real AdmissionReviews of `../shared/oracles/admission` (kubewarden/policies' test data): every
//! one is read, the images found (containers, then init containers, then ephemeral containers, from
//! `oldObject` on DELETE) are exactly the index's, with the same JSON paths, and the answer carries the
//! request's uid.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use verdict_admission::{allow, deny, parse_review, request_images};

#[test]
fn every_oracle_review_gives_the_indexed_images_and_uid() {
    let root = verdict_testkit::oracles().join("admission");
    let index: Value = serde_json::from_slice(&std::fs::read(root.join("index.json")).unwrap()).unwrap();
    let entries = index["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 115);
    let mut failures = Vec::new();
    let (mut with_init, mut with_ephemeral) = (0, 0);
    for entry in entries {
        let file = entry["file"].as_str().unwrap();
        let body = std::fs::read(root.join(file)).unwrap();
        let request = match parse_review(&body) {
            Ok(request) => request,
            Err(err) => {
                failures.push(format!("{file}: {err}"));
                continue;
            }
        };
        assert_eq!(request.uid, entry["uid"].as_str().unwrap(), "{file}");
        assert_eq!(request.kind.kind, entry["kind"].as_str().unwrap(), "{file}");
        let raw: Value = serde_json::from_slice(&body).unwrap();
        let images =
            request_images(&request.kind.kind, &raw["request"]["object"], &raw["request"]["oldObject"]);
        let images = match images {
            Ok(images) => images,
            Err(err) => {
                failures.push(format!("{file}: {err}"));
                continue;
            }
        };
        let found: Vec<(&str, &str)> = images.iter().map(|i| (i.path.as_str(), i.image.as_str())).collect();
        let expected: Vec<(&str, &str)> = entry["image_refs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["path"].as_str().unwrap(), r["image"].as_str().unwrap()))
            .collect();
        if found != expected {
            failures.push(format!("{file}: found {found:?}, expected {expected:?}"));
        }
        with_init += usize::from(entry["has_initContainers"] == true);
        with_ephemeral += usize::from(entry["has_ephemeralContainers"] == true);
        for answer in [allow(&request, Vec::new()), deny(&request, "no")] {
            let answer = serde_json::to_value(answer).unwrap();
            assert_eq!(answer["response"]["uid"], entry["uid"], "{file}");
            assert_eq!(answer["apiVersion"], "admission.k8s.io/v1");
        }
    }
    assert!(failures.is_empty(), "{} of 115 reviews:\n{}", failures.len(), failures.join("\n"));
    assert_eq!((with_init, with_ephemeral), (9, 1), "the index's init and ephemeral cases were all seen");
}

mod properties {
    use proptest::prelude::*;
    use verdict_admission::parse_review;

    proptest! {
        /// Arbitrary bytes never panic the reader.
        #[test]
        fn arbitrary_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_review(&body);
        }

        /// Reviews with arbitrary values in the request's fields are read or refused, never a panic.
        #[test]
        fn arbitrary_request_fields_never_panic(
            uid in proptest::option::of("[a-z0-9-]{0,12}"),
            operation in proptest::option::of("[A-Z]{0,8}"),
            kind in proptest::option::of("[A-Za-z]{0,10}"),
            containers in proptest::option::of(proptest::collection::vec("[a-z:./0-9]{0,20}", 0..4)),
        ) {
            let request = serde_json::json!({
                "uid": uid, "operation": operation,
                "kind": {"group": "", "version": "v1", "kind": kind},
                "resource": {"group": "", "version": "v1", "resource": "pods"},
                "userInfo": {},
                "object": {"kind": kind, "spec": {"containers": containers.map(|c| c.into_iter().map(|image| serde_json::json!({"image": image})).collect::<Vec<_>>())}},
            });
            let body = serde_json::json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request});
            if let Ok(parsed) = parse_review(body.to_string().as_bytes()) {
                let kind = parsed.kind.kind.clone();
                let _ = verdict_admission::request_images(&kind, &body["request"]["object"], &serde_json::Value::Null);
            }
        }
    }
}
