//! `validate.podSecurity`: the Kubernetes Pod Security Standards, `baseline` and `restricted` (which
//! includes baseline), at their latest definition — the controls and allowed values Kubernetes
//! defines. `exclude` entries exempt a control: without `images`, its pod-level fields; with
//! `images`, its container-level fields for the containers whose image matches.

use serde_json::Value;

use crate::engine::Status;
use crate::wildcard;

/// Where a violation was found.
#[derive(Debug, Clone, PartialEq)]
enum Scope {
    Pod,
    Container(String),
}

/// One control that does not hold.
#[derive(Debug, Clone, PartialEq)]
struct Violation {
    control: &'static str,
    scope: Scope,
    detail: String,
}

const BASELINE_CAPABILITIES: &[&str] = &[
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];
const SAFE_SYSCTLS: &[&str] = &[
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
];
const RESTRICTED_VOLUMES: &[&str] = &[
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
];
const SELINUX_TYPES: &[&str] =
    &["", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"];

/// The pod template's metadata and spec of a Pod or pod controller.
fn pod_parts(resource: &Value) -> (Value, Value) {
    let (metadata, spec) = match resource.get("kind").and_then(Value::as_str) {
        Some("Pod") => (resource.get("metadata"), resource.get("spec")),
        Some("CronJob") => (
            resource.pointer("/spec/jobTemplate/spec/template/metadata"),
            resource.pointer("/spec/jobTemplate/spec/template/spec"),
        ),
        _ => (resource.pointer("/spec/template/metadata"), resource.pointer("/spec/template/spec")),
    };
    (metadata.cloned().unwrap_or(Value::Null), spec.cloned().unwrap_or(Value::Null))
}

fn containers(spec: &Value) -> Vec<&Value> {
    ["initContainers", "containers", "ephemeralContainers"]
        .iter()
        .flat_map(|field| spec.get(*field).and_then(Value::as_array).into_iter().flatten())
        .collect()
}

fn is_true(value: Option<&Value>) -> bool {
    value.and_then(Value::as_bool) == Some(true)
}

fn image_of(container: &Value) -> String {
    container.get("image").and_then(Value::as_str).unwrap_or_default().to_owned()
}

fn baseline(metadata: &Value, spec: &Value, out: &mut Vec<Violation>) {
    let mut pod =
        |control: &'static str, detail: String| out.push(Violation { control, scope: Scope::Pod, detail });
    if is_true(spec.pointer("/securityContext/windowsOptions/hostProcess")) {
        pod("HostProcess", "spec.securityContext.windowsOptions.hostProcess is true".to_owned());
    }
    for field in ["hostNetwork", "hostPID", "hostIPC"] {
        if is_true(spec.get(field)) {
            pod("Host Namespaces", format!("spec.{field} is true"));
        }
    }
    for volume in spec.get("volumes").and_then(Value::as_array).into_iter().flatten() {
        if volume.get("hostPath").is_some() {
            pod(
                "HostPath Volumes",
                format!("volume {} uses hostPath", volume.get("name").and_then(Value::as_str).unwrap_or("?")),
            );
        }
    }
    for (key, value) in metadata.get("annotations").and_then(Value::as_object).into_iter().flatten() {
        if key.starts_with("container.apparmor.security.beta.kubernetes.io/") {
            let profile = value.as_str().unwrap_or_default();
            if profile != "runtime/default" && !profile.starts_with("localhost/") {
                pod("AppArmor", format!("annotation {key} is {profile:?}"));
            }
        }
    }
    check_security_context(spec.get("securityContext"), "spec.securityContext", &mut pod);
    for sysctl in spec.pointer("/securityContext/sysctls").and_then(Value::as_array).into_iter().flatten() {
        let name = sysctl.get("name").and_then(Value::as_str).unwrap_or_default();
        if !SAFE_SYSCTLS.contains(&name) {
            pod("Sysctls", format!("sysctl {name} is not allowed"));
        }
    }
    for container in containers(spec) {
        let image = image_of(container);
        let name = container.get("name").and_then(Value::as_str).unwrap_or("?").to_owned();
        let mut at = |control: &'static str, detail: String| {
            out.push(Violation {
                control,
                scope: Scope::Container(image.clone()),
                detail: format!("container {name}: {detail}"),
            });
        };
        let context = container.get("securityContext");
        if is_true(context.and_then(|c| c.pointer("/windowsOptions/hostProcess"))) {
            at("HostProcess", "windowsOptions.hostProcess is true".to_owned());
        }
        if is_true(context.and_then(|c| c.get("privileged"))) {
            at("Privileged Containers", "privileged is true".to_owned());
        }
        for capability in context
            .and_then(|c| c.pointer("/capabilities/add"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let capability = capability.as_str().unwrap_or_default();
            if !BASELINE_CAPABILITIES.contains(&capability) {
                at("Capabilities", format!("adds capability {capability}"));
            }
        }
        for port in container.get("ports").and_then(Value::as_array).into_iter().flatten() {
            if port.get("hostPort").and_then(Value::as_i64).is_some_and(|p| p != 0) {
                at("Host Ports", "uses a hostPort".to_owned());
            }
        }
        if let Some(mount) = context.and_then(|c| c.get("procMount")).and_then(Value::as_str)
            && mount != "Default"
        {
            at("/proc Mount Type", format!("procMount is {mount}"));
        }
        check_security_context(context, "securityContext", &mut at);
    }
}

/// The AppArmor, SELinux and Seccomp fields of a pod or container security context.
fn check_security_context(
    context: Option<&Value>,
    path: &str,
    report: &mut impl FnMut(&'static str, String),
) {
    let Some(context) = context else { return };
    if let Some(kind) = context.pointer("/appArmorProfile/type").and_then(Value::as_str)
        && kind != "RuntimeDefault"
        && kind != "Localhost"
    {
        report("AppArmor", format!("{path}.appArmorProfile.type is {kind}"));
    }
    if let Some(options) = context.get("seLinuxOptions") {
        let kind = options.get("type").and_then(Value::as_str).unwrap_or_default();
        if !SELINUX_TYPES.contains(&kind) {
            report("SELinux", format!("{path}.seLinuxOptions.type is {kind}"));
        }
        for field in ["user", "role"] {
            if options.get(field).and_then(Value::as_str).is_some_and(|v| !v.is_empty()) {
                report("SELinux", format!("{path}.seLinuxOptions.{field} is set"));
            }
        }
    }
    if context.pointer("/seccompProfile/type").and_then(Value::as_str) == Some("Unconfined") {
        report("Seccomp", format!("{path}.seccompProfile.type is Unconfined"));
    }
}

fn restricted(spec: &Value, out: &mut Vec<Violation>) {
    for volume in spec.get("volumes").and_then(Value::as_array).into_iter().flatten() {
        let Some(map) = volume.as_object() else { continue };
        if let Some(kind) =
            map.keys().find(|k| k.as_str() != "name" && !RESTRICTED_VOLUMES.contains(&k.as_str()))
            && kind != "hostPath"
        {
            out.push(Violation {
                control: "Volume Types",
                scope: Scope::Pod,
                detail: format!("volume type {kind} is not allowed"),
            });
        }
    }
    let pod_context = spec.get("securityContext");
    let pod_non_root = is_true(pod_context.and_then(|c| c.get("runAsNonRoot")));
    let pod_seccomp = pod_context.and_then(|c| c.pointer("/seccompProfile/type")).and_then(Value::as_str);
    let pod_seccomp_ok = matches!(pod_seccomp, Some("RuntimeDefault" | "Localhost"));
    if pod_context.and_then(|c| c.get("runAsUser")).and_then(Value::as_i64) == Some(0) {
        out.push(Violation {
            control: "Running as Non-root user",
            scope: Scope::Pod,
            detail: "spec.securityContext.runAsUser is 0".to_owned(),
        });
    }
    if pod_context.and_then(|c| c.get("runAsNonRoot")).and_then(Value::as_bool) == Some(false) {
        out.push(Violation {
            control: "Running as Non-root",
            scope: Scope::Pod,
            detail: "spec.securityContext.runAsNonRoot is false".to_owned(),
        });
    }
    for container in containers(spec) {
        let image = image_of(container);
        let name = container.get("name").and_then(Value::as_str).unwrap_or("?");
        let context = container.get("securityContext");
        let mut at = |control: &'static str, detail: String| {
            out.push(Violation {
                control,
                scope: Scope::Container(image.clone()),
                detail: format!("container {name}: {detail}"),
            });
        };
        if context.and_then(|c| c.get("allowPrivilegeEscalation")).and_then(Value::as_bool) != Some(false) {
            at("Privilege Escalation", "allowPrivilegeEscalation is not false".to_owned());
        }
        match context.and_then(|c| c.get("runAsNonRoot")).and_then(Value::as_bool) {
            Some(false) => at("Running as Non-root", "runAsNonRoot is false".to_owned()),
            None if !pod_non_root => {
                at("Running as Non-root", "runAsNonRoot is not true (here or for the pod)".to_owned())
            }
            _ => {}
        }
        if context.and_then(|c| c.get("runAsUser")).and_then(Value::as_i64) == Some(0) {
            at("Running as Non-root user", "runAsUser is 0".to_owned());
        }
        match context.and_then(|c| c.pointer("/seccompProfile/type")).and_then(Value::as_str) {
            Some("RuntimeDefault" | "Localhost") => {}
            Some(other) => at("Seccomp", format!("seccompProfile.type is {other}")),
            None if !pod_seccomp_ok => at(
                "Seccomp",
                "no seccompProfile RuntimeDefault or Localhost (here or for the pod)".to_owned(),
            ),
            None => {}
        }
        let drops = context.and_then(|c| c.pointer("/capabilities/drop")).and_then(Value::as_array);
        if !drops.is_some_and(|d| d.iter().any(|c| c.as_str() == Some("ALL"))) {
            at("Capabilities", "capabilities.drop does not include ALL".to_owned());
        }
        for capability in context
            .and_then(|c| c.pointer("/capabilities/add"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if capability.as_str() != Some("NET_BIND_SERVICE") {
                at("Capabilities", format!("adds capability {}", capability.as_str().unwrap_or("?")));
            }
        }
    }
}

/// Whether an `exclude` entry exempts `violation`.
fn excluded(exclude: &[Value], violation: &Violation) -> bool {
    exclude.iter().any(|entry| {
        if entry.get("controlName").and_then(Value::as_str) != Some(violation.control) {
            return false;
        }
        let images: Vec<&str> = entry
            .get("images")
            .and_then(Value::as_array)
            .map(|i| i.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        match &violation.scope {
            Scope::Pod => images.is_empty(),
            Scope::Container(image) => images.iter().any(|pattern| wildcard::matches(pattern, image)),
        }
    })
}

/// Evaluates a `podSecurity` rule on `resource`.
pub(crate) fn validate(rule: &str, validate: &Value, resource: &Value) -> crate::engine::RuleOutcome {
    let security = &validate["podSecurity"];
    let level = security.get("level").and_then(Value::as_str).unwrap_or("baseline");
    if level != "baseline" && level != "restricted" && level != "privileged" {
        return crate::engine::RuleOutcome::new(
            Status::Error,
            format!("podSecurity level {level:?} is not baseline, restricted or privileged"),
        );
    }
    let (metadata, spec) = pod_parts(resource);
    let mut violations = Vec::new();
    if level != "privileged" {
        baseline(&metadata, &spec, &mut violations);
    }
    if level == "restricted" {
        restricted(&spec, &mut violations);
    }
    let exclude = security.get("exclude").and_then(Value::as_array).cloned().unwrap_or_default();
    violations.retain(|v| !excluded(&exclude, v));
    if violations.is_empty() {
        return crate::engine::RuleOutcome::new(Status::Pass, format!("validation rule '{rule}' passed."));
    }
    let details: Vec<String> = violations.iter().map(|v| format!("{}: {}", v.control, v.detail)).collect();
    crate::engine::RuleOutcome::new(
        Status::Fail,
        format!(
            "Validation rule '{rule}' failed. It violates PodSecurity \"{level}:latest\": {}",
            details.join("; ")
        ),
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn status(level: &str, exclude: Value, pod_spec: Value) -> Status {
        let validate = json!({"podSecurity": {"level": level, "version": "latest", "exclude": exclude}});
        validate_outcome(&validate, &json!({"kind": "Pod", "metadata": {}, "spec": pod_spec}))
    }

    fn validate_outcome(validate: &Value, resource: &Value) -> Status {
        super::validate("r", validate, resource).status
    }

    #[test]
    fn baseline_and_restricted() {
        let plain = json!({"containers": [{"name": "c", "image": "nginx"}]});
        assert_eq!(status("baseline", json!([]), plain.clone()), Status::Pass);
        assert_eq!(status("restricted", json!([]), plain), Status::Fail);
        let privileged =
            json!({"containers": [{"name": "c", "image": "nginx", "securityContext": {"privileged": true}}]});
        assert_eq!(status("baseline", json!([]), privileged.clone()), Status::Fail);
        assert_eq!(
            status(
                "baseline",
                json!([{"controlName": "Privileged Containers", "images": ["nginx*"]}]),
                privileged
            ),
            Status::Pass
        );
        let hardened = json!({"securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{"name": "c", "image": "nginx", "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}]});
        assert_eq!(status("restricted", json!([]), hardened), Status::Pass);
        let no_seccomp = json!({"securityContext": {"runAsNonRoot": true},
            "containers": [{"name": "c", "image": "nginx", "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}]});
        assert_eq!(status("restricted", json!([]), no_seccomp.clone()), Status::Fail);
        assert_eq!(
            status(
                "restricted",
                json!([{"controlName": "Seccomp"}, {"controlName": "Seccomp", "images": ["*"]}]),
                no_seccomp
            ),
            Status::Pass
        );
        assert_eq!(
            status("baseline", json!([]), json!({"hostNetwork": true, "containers": []})),
            Status::Fail
        );
    }
}
