//! The images a workload would run: every container, init container and ephemeral container of the pod
//! spec a kind carries (the Pod itself, `spec.template` of the pod controllers, `spec.jobTemplate.spec
//! .template` of a CronJob), each with the JSON path it was found at, so a denial can name it.

use serde::Serialize;
use serde_json::Value;

/// One image reference found in an object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageRef {
    /// Where it was found, e.g. `object.spec.template.spec.initContainers[0].image`.
    pub path: String,
    /// The reference as written.
    pub image: String,
}

/// Why an object's images cannot be read. Never a reason to admit: the caller denies.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkloadError {
    /// A container has no `image`, or one that is not a non-empty string.
    #[error("{path}: a container without an image (a string) cannot be checked")]
    MissingImage {
        /// The container's path.
        path: String,
    },
    /// A container list that is not a list.
    #[error("{path}: expected a list of containers")]
    NotAList {
        /// The field's path.
        path: String,
    },
}

/// Where the pod spec of a kind is, as a path of object keys; `None` for kinds that run no containers.
/// Kinds are compared case-insensitively (some clients send `pod`).
fn pod_spec_path(kind: &str) -> Option<&'static [&'static str]> {
    match kind.to_ascii_lowercase().as_str() {
        "pod" => Some(&["spec"]),
        "deployment"
        | "replicaset"
        | "statefulset"
        | "daemonset"
        | "job"
        | "replicationcontroller"
        | "podtemplate" => Some(&["spec", "template", "spec"]),
        "cronjob" => Some(&["spec", "jobTemplate", "spec", "template", "spec"]),
        _ => None,
    }
}

/// The containers lists of a pod spec, in the order they are checked and reported.
const CONTAINER_LISTS: [&str; 3] = ["containers", "initContainers", "ephemeralContainers"];

/// The images of `object` (a workload of `kind`), prefixed in paths by `root` (`object` or `oldObject`).
pub fn workload_images(kind: &str, object: &Value, root: &str) -> Result<Vec<ImageRef>, WorkloadError> {
    let Some(keys) = pod_spec_path(kind) else { return Ok(Vec::new()) };
    let mut spec = object;
    let mut path = root.to_owned();
    for key in keys {
        match spec.get(key) {
            Some(next) => spec = next,
            None => return Ok(Vec::new()),
        }
        path.push('.');
        path.push_str(key);
    }
    let mut found = Vec::new();
    for list in CONTAINER_LISTS {
        let list_path = format!("{path}.{list}");
        let containers = match spec.get(list) {
            None | Some(Value::Null) => continue,
            Some(Value::Array(containers)) => containers,
            Some(_) => return Err(WorkloadError::NotAList { path: list_path }),
        };
        for (index, container) in containers.iter().enumerate() {
            let container_path = format!("{list_path}[{index}]");
            match container.get("image").and_then(Value::as_str).filter(|image| !image.is_empty()) {
                Some(image) => {
                    found.push(ImageRef { path: format!("{container_path}.image"), image: image.to_owned() })
                }
                None => return Err(WorkloadError::MissingImage { path: container_path }),
            }
        }
    }
    Ok(found)
}

/// The images of a request's object (its `oldObject` when the object is null, as on DELETE), by the
/// request's kind (falling back to the object's own `kind`).
pub fn request_images(
    request_kind: &str,
    object: &Value,
    old_object: &Value,
) -> Result<Vec<ImageRef>, WorkloadError> {
    let (value, root) = if object.is_null() { (old_object, "oldObject") } else { (object, "object") };
    let kind =
        if request_kind.is_empty() { value["kind"].as_str().unwrap_or_default() } else { request_kind };
    workload_images(kind, value, root)
}

/// On UPDATE only images that change need checking: the images of `object` whose reference does not
/// appear in `old_object` (an unchanged image was admitted when it was introduced).
pub fn changed_images(
    kind: &str,
    object: &Value,
    old_object: &Value,
) -> Result<Vec<ImageRef>, WorkloadError> {
    let new = workload_images(kind, object, "object")?;
    let old = workload_images(kind, old_object, "oldObject").unwrap_or_default();
    Ok(new.into_iter().filter(|image| !old.iter().any(|o| o.image == image.image)).collect())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_kind_finds_its_pod_spec() {
        let spec = json!({"containers": [{"name": "a", "image": "app:1"}], "initContainers": [{"name": "i", "image": "init:1"}]});
        let cases = [
            ("Pod", json!({"spec": spec}), "object.spec"),
            ("pod", json!({"spec": spec}), "object.spec"),
            ("Deployment", json!({"spec": {"template": {"spec": spec}}}), "object.spec.template.spec"),
            (
                "CronJob",
                json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": spec}}}}}),
                "object.spec.jobTemplate.spec.template.spec",
            ),
        ];
        for (kind, object, prefix) in cases {
            let images = workload_images(kind, &object, "object").unwrap();
            assert_eq!(
                images,
                [
                    ImageRef { path: format!("{prefix}.containers[0].image"), image: "app:1".into() },
                    ImageRef { path: format!("{prefix}.initContainers[0].image"), image: "init:1".into() },
                ],
                "{kind}"
            );
        }
        assert!(workload_images("Service", &json!({"spec": spec}), "object").unwrap().is_empty());
    }

    #[test]
    fn malformed_containers_are_errors_not_silence() {
        let no_image = json!({"spec": {"containers": [{"name": "a"}]}});
        assert_eq!(
            workload_images("Pod", &no_image, "object"),
            Err(WorkloadError::MissingImage { path: "object.spec.containers[0]".into() })
        );
        let not_a_list = json!({"spec": {"containers": {"name": "a", "image": "x"}}});
        assert!(matches!(workload_images("Pod", &not_a_list, "object"), Err(WorkloadError::NotAList { .. })));
        let empty = json!({"spec": {"containers": [{"name": "a", "image": ""}]}});
        assert!(workload_images("Pod", &empty, "object").is_err());
    }

    #[test]
    fn updates_check_only_new_images() {
        let old = json!({"spec": {"containers": [{"name": "a", "image": "app:1"}, {"name": "b", "image": "side:1"}]}});
        let new = json!({"spec": {"containers": [{"name": "a", "image": "app:2"}, {"name": "b", "image": "side:1"}]}});
        let changed = changed_images("Pod", &new, &old).unwrap();
        assert_eq!(
            changed,
            [ImageRef { path: "object.spec.containers[0].image".into(), image: "app:2".into() }]
        );
    }
}
