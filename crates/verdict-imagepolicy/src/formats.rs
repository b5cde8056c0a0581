//! Image policies in their owners' formats, read as they are: Kyverno's `ImageValidatingPolicy`
//! (`policies.kyverno.io`) and Sigstore policy-controller's `ClusterImagePolicy`
//! (`policy.sigstore.dev`). Each is translated into verdict's ImagePolicy tree — every synthesized node
//! carries the position of what it came from, so the one loader checks it and its errors point into the
//! original file. A field verdict does not support is an error at its line and column, never ignored.

use verdict_policy::diagnostic::Diagnostic;
use verdict_policy::yaml::{Node, NodeValue};

/// The translated verdict tree of `root`, or `None` when `root` is not one of the formats read here.
pub(crate) fn translate(file: &str, root: &Node) -> Option<Result<Node, Vec<Diagnostic>>> {
    let text = |pointer: &str| {
        root.pointer(pointer).and_then(|n| match &n.value {
            NodeValue::String(s) => Some(s.as_str()),
            _ => None,
        })
    };
    let api_group = text("/apiVersion")?.split('/').next()?;
    let mut translator = Translator { file, diagnostics: Vec::new() };
    let translated = match (api_group, text("/kind")?) {
        ("policies.kyverno.io", "ImageValidatingPolicy") => translator.kyverno(root),
        ("policy.sigstore.dev", "ClusterImagePolicy") => translator.sigstore(root),
        _ => return None,
    };
    Some(if translator.diagnostics.is_empty() { Ok(translated) } else { Err(translator.diagnostics) })
}

struct Translator<'a> {
    file: &'a str,
    diagnostics: Vec<Diagnostic>,
}

/// A synthesized node at `at`'s position.
fn node(value: NodeValue, at: &Node) -> Node {
    Node { value, start: at.start, end: at.end }
}

fn string(text: &str, at: &Node) -> Node {
    node(NodeValue::String(text.to_owned()), at)
}

fn mapping(entries: Vec<(&str, Node)>, at: &Node) -> Node {
    node(NodeValue::Mapping(entries.into_iter().map(|(key, value)| (string(key, at), value)).collect()), at)
}

fn items(node: Option<&Node>) -> &[Node] {
    match node.map(|n| &n.value) {
        Some(NodeValue::Sequence(items)) => items,
        _ => &[],
    }
}

fn as_text(node: &Node) -> Option<&str> {
    match &node.value {
        NodeValue::String(text) => Some(text),
        _ => None,
    }
}

/// Why a keyless signer cannot waive the transparency log.
const KEYLESS_NEEDS_LOG: &str = "the transparency log can be waived only for key-based signatures: a keyless \
     certificate lives minutes, and only the log's timestamp proves it was valid at signing";

/// Sigstore policy-controller's predicate type shorthands.
fn predicate_type(name: &str) -> &str {
    match name {
        "slsaprovenance" | "slsaprovenance02" => "https://slsa.dev/provenance/v0.2",
        "slsaprovenance1" => "https://slsa.dev/provenance/v1",
        "link" => "https://in-toto.io/Link/v1",
        "spdx" => "https://spdx.dev/Document",
        "spdxjson" => "https://spdx.dev/Document",
        "cyclonedx" => "https://cyclonedx.org/bom",
        "vuln" => "https://cosign.sigstore.dev/attestation/vuln/v1",
        "openvex" => "https://openvex.dev/ns",
        other => other,
    }
}

impl Translator<'_> {
    fn error(&mut self, at: &Node, message: String, hint: &str) {
        self.diagnostics
            .push(Diagnostic::error(self.file, at.start.line, at.start.column, message).with_hint(hint));
    }

    /// Refuses every key of the mapping `at` (named `path` in messages) that is not `allowed`; `why`
    /// says what to do instead for keys verdict knows but does not support.
    fn keys(&mut self, at: &Node, path: &str, allowed: &[&str], unsupported: &[(&str, &str)]) {
        let NodeValue::Mapping(entries) = &at.value else {
            if !matches!(at.value, NodeValue::Null) {
                self.error(at, format!("`{path}` must be a mapping"), "see the format's documentation");
            }
            return;
        };
        for (key, _) in entries {
            let name = key.key_text();
            if allowed.contains(&name.as_str()) {
                continue;
            }
            match unsupported.iter().find(|(k, _)| *k == name) {
                Some((_, why)) => {
                    self.error(key, format!("`{path}.{name}` is not supported by verdict"), why)
                }
                None => self.error(
                    key,
                    format!("unknown key `{name}` in `{path}`"),
                    &format!("the keys allowed here are: {}", allowed.join(", ")),
                ),
            }
        }
    }

    /// A keyless identity (`issuer`/`issuerRegExp`, `subject`/`subjectRegExp`) as a verdict attestor.
    fn identity(&mut self, identity: &Node, path: &str) -> Node {
        self.keys(identity, path, &["issuer", "issuerRegExp", "subject", "subjectRegExp"], &[]);
        let mut keyless = Vec::new();
        for key in ["issuer", "issuerRegExp", "subject", "subjectRegExp"] {
            if let Some((_, value)) = identity.entry(key) {
                keyless.push((key, value.clone()));
            }
        }
        mapping(vec![("keyless", mapping(keyless, identity))], identity)
    }

    /// Kyverno's `cosign.ctlog`: the `insecureIgnoreTlog: true` node when the log is waived. With the
    /// log waived nothing is dialled, so the `url` and keys Kyverno insists on are accepted and unused;
    /// otherwise the log is checked against the AdmissionConfig's trusted root and they are refused.
    fn kyverno_ctlog<'n>(&mut self, ctlog: &'n Node, path: &str) -> Option<&'n Node> {
        let flag = ctlog.entry("insecureIgnoreTlog").map(|(_, v)| v);
        let waived = flag.filter(|flag| matches!(flag.value, NodeValue::Bool(true)));
        if let Some(flag) = flag
            && !matches!(flag.value, NodeValue::Bool(_))
        {
            self.error(
                flag,
                "`insecureIgnoreTlog` must be true or false".to_owned(),
                "write `insecureIgnoreTlog: true`",
            );
        }
        let tlog = "the transparency log is checked against the AdmissionConfig's `trustedRoot`";
        let unused: &[&str] = &["url", "rekorPubKey", "ctLogPubKey"];
        let mut allowed = vec!["insecureIgnoreTlog"];
        let mut unsupported = vec![
            ("insecureIgnoreSCT", "verdict always checks keyless certificates' SCTs"),
            ("tsaCertChain", "give the trust root as `trustedRoot` in the AdmissionConfig"),
        ];
        if waived.is_some() {
            allowed.extend_from_slice(unused);
        } else {
            unsupported.extend(unused.iter().map(|name| (*name, tlog)));
        }
        self.keys(ctlog, &format!("{path}.ctlog"), &allowed, &unsupported);
        waived
    }

    /// A key attestor (`data`, PEM); `ignore_tlog` is the node that waives the transparency log for it.
    fn key_attestor(&mut self, key: &Node, path: &str, ignore_tlog: Option<&Node>) -> Option<Node> {
        self.keys(
            key,
            path,
            &["data"],
            &[
                ("kms", "give the public key as `data` (PEM)"),
                (
                    "secretRef",
                    "give the public key as `data` (PEM): verdict reads no secrets from the cluster",
                ),
                ("hashAlgorithm", "verdict verifies with the key's own algorithm (SHA-256 for ECDSA P-256)"),
                ("expression", "give the public key as `data` (PEM)"),
            ],
        );
        let data = key.entry("data")?.1;
        let mut entries = vec![("publicKey", data.clone())];
        if let Some(flag) = ignore_tlog {
            entries.push(("ignoreTlog", node(NodeValue::Bool(true), flag)));
        }
        Some(mapping(vec![("key", mapping(entries, data))], key))
    }

    fn kyverno(&mut self, root: &Node) -> Node {
        self.keys(root, "the top level", &["apiVersion", "kind", "metadata", "spec"], &[]);
        let name =
            root.pointer("/metadata/name").and_then(as_text).unwrap_or("image-validating-policy").to_owned();
        let Some(spec) = root.pointer("/spec") else {
            self.error(
                root,
                "missing `spec`".to_owned(),
                "add `spec` with matchImageReferences and attestors",
            );
            return mapping(Vec::new(), root);
        };
        let cel = "verdict evaluates CEL `validations` over the image's verified signatures and attestations; variables, match conditions and image expressions are not supported there";
        self.keys(
            spec,
            "spec",
            &[
                "validationActions",
                "webhookConfiguration",
                "matchImageReferences",
                "attestors",
                "attestations",
                "validations",
            ],
            &[
                ("variables", cel),
                ("matchConditions", cel),
                (
                    "matchConstraints",
                    "verdict checks the images of every workload kind; remove matchConstraints",
                ),
                ("validationConfigurations", "verdict verifies digests and never mutates; remove it"),
                ("credentials", "give registry credentials in the AdmissionConfig (`registry.dockerConfig`)"),
                ("images", cel),
                ("autogen", "verdict checks every pod controller; remove autogen"),
                ("evaluation", "remove it"),
                ("failurePolicy", "verdict always fails closed; remove it"),
            ],
        );
        // Kyverno's actions as the policy's own mode: Deny wins, then Warn; Audit alone audits.
        let mut mode = None;
        for action in items(spec.entry("validationActions").map(|(_, v)| v)) {
            match as_text(action) {
                Some("Deny") => mode = Some("enforce"),
                Some("Warn") if mode != Some("enforce") => mode = Some("warn"),
                Some("Audit") if mode.is_none() => mode = Some("audit"),
                Some("Warn" | "Audit") => {}
                _ => self.error(
                    action,
                    format!("unknown validationAction {}", action.to_json()),
                    "use Deny, Warn or Audit",
                ),
            }
        }
        let actions_node = spec.entry("validationActions").map_or(spec, |(_, v)| v);
        let mode = mode.map(|m| string(m, actions_node));
        if let Some((_, webhook)) = spec.entry("webhookConfiguration") {
            self.keys(
                webhook,
                "spec.webhookConfiguration",
                &["failurePolicy"],
                &[("timeoutSeconds", "set `budget` in the AdmissionConfig")],
            );
            if let Some((_, policy)) = webhook.entry("failurePolicy")
                && as_text(policy) != Some("Fail")
            {
                self.error(
                    policy,
                    "verdict fails closed: failurePolicy must be Fail".to_owned(),
                    "write `failurePolicy: Fail`",
                );
            }
        }
        let mut images = Vec::new();
        let references = spec.entry("matchImageReferences").map(|(_, v)| v);
        for (index, reference) in items(references).iter().enumerate() {
            let path = format!("spec.matchImageReferences[{index}]");
            self.keys(reference, &path, &["glob"], &[("expression", cel)]);
            if let Some((_, glob)) = reference.entry("glob") {
                images.push(glob.clone());
            }
        }
        if references.is_none() {
            self.error(
                spec,
                "missing `spec.matchImageReferences`".to_owned(),
                "add `matchImageReferences: [{glob: 'ghcr.io/myorg/*'}]`",
            );
        }
        let mut entries = Vec::new();
        for (index, attestor) in items(spec.entry("attestors").map(|(_, v)| v)).iter().enumerate() {
            let path = format!("spec.attestors[{index}]");
            self.keys(
                attestor,
                &path,
                &["name", "cosign"],
                &[("notary", "verdict verifies Sigstore (cosign) signatures only")],
            );
            let Some((_, cosign)) = attestor.entry("cosign") else { continue };
            let path = format!("{path}.cosign");
            self.keys(
                cosign,
                &path,
                &["keyless", "key", "ctlog"],
                &[
                    ("source", "fetch signatures from the image's own repository"),
                    ("tuf", "give the trust root as `trustedRoot` in the AdmissionConfig"),
                    ("certificate", "use keyless identities or a key"),
                    ("annotations", "remove it"),
                ],
            );
            let ignore_tlog = cosign.entry("ctlog").and_then(|(_, ctlog)| self.kyverno_ctlog(ctlog, &path));
            // Named, so `validations` can call it by `attestors.NAME`.
            let named = |mut entry: Node| {
                if let (Some((_, name)), NodeValue::Mapping(pairs)) =
                    (attestor.entry("name"), &mut entry.value)
                {
                    pairs.push((string("name", name), name.clone()));
                }
                entry
            };
            if let Some((_, keyless)) = cosign.entry("keyless") {
                if let Some(flag) = ignore_tlog {
                    self.error(
                        flag,
                        KEYLESS_NEEDS_LOG.to_owned(),
                        "remove `insecureIgnoreTlog` or sign with a key",
                    );
                }
                self.keys(
                    keyless,
                    &format!("{path}.keyless"),
                    &["identities"],
                    &[("roots", "give the trust root as `trustedRoot` in the AdmissionConfig")],
                );
                for (i, identity) in items(keyless.entry("identities").map(|(_, v)| v)).iter().enumerate() {
                    entries.push(named(self.identity(identity, &format!("{path}.keyless.identities[{i}]"))));
                }
            }
            if let Some((_, key)) = cosign.entry("key")
                && let Some(entry) = self.key_attestor(key, &format!("{path}.key"), ignore_tlog)
            {
                entries.push(named(entry));
            }
        }
        let mut attestations = Vec::new();
        for (index, attestation) in items(spec.entry("attestations").map(|(_, v)| v)).iter().enumerate() {
            let path = format!("spec.attestations[{index}]");
            self.keys(
                attestation,
                &path,
                &["name", "intoto"],
                &[("referrer", "verdict reads in-toto attestations (`intoto.type`)")],
            );
            let Some((_, intoto)) = attestation.entry("intoto") else { continue };
            self.keys(intoto, &format!("{path}.intoto"), &["type"], &[]);
            if let Some((_, kind)) = intoto.entry("type") {
                let mut requirement = vec![("predicateType", kind.clone())];
                if let Some((_, name)) = attestation.entry("name") {
                    requirement.push(("name", name.clone()));
                }
                attestations.push(mapping(requirement, attestation));
            }
        }
        let mut rule = vec![
            ("name", string(&name, root)),
            ("images", node(NodeValue::Sequence(images), references.unwrap_or(spec))),
        ];
        let at = spec.entry("attestors").map_or(spec, |(_, v)| v);
        if !entries.is_empty() {
            rule.push(("attestors", mapping(vec![("entries", node(NodeValue::Sequence(entries), at))], at)));
        }
        if !attestations.is_empty() {
            rule.push(("attestations", node(NodeValue::Sequence(attestations), spec)));
        }
        if let Some((_, validations)) = spec.entry("validations") {
            for (index, validation) in items(Some(validations)).iter().enumerate() {
                self.keys(
                    validation,
                    &format!("spec.validations[{index}]"),
                    &["expression", "message"],
                    &[
                        ("messageExpression", "give a fixed `message`"),
                        ("reason", "remove it: a failed validation denies (or warns, by validationActions)"),
                    ],
                );
            }
            rule.push(("validations", validations.clone()));
        }
        self.verdict(root, vec![mapping(rule, spec)], mode)
    }

    fn sigstore(&mut self, root: &Node) -> Node {
        self.keys(root, "the top level", &["apiVersion", "kind", "metadata", "spec"], &[]);
        let name =
            root.pointer("/metadata/name").and_then(as_text).unwrap_or("cluster-image-policy").to_owned();
        let Some(spec) = root.pointer("/spec") else {
            self.error(root, "missing `spec`".to_owned(), "add `spec` with images and authorities");
            return mapping(Vec::new(), root);
        };
        self.keys(
            spec,
            "spec",
            &["images", "authorities", "mode"],
            &[
                ("policy", "policy-controller's CUE/Rego policies over all authorities are not supported; use attestation predicate types"),
                ("match", "verdict checks the images of every workload kind; remove match"),
            ],
        );
        let mode = spec.entry("mode").map(|(_, mode)| mode.clone());
        if let Some(mode) = &mode
            && !matches!(as_text(mode), Some("enforce" | "warn"))
        {
            self.error(
                mode,
                format!("mode {} is not a policy-controller mode", mode.to_json()),
                "use `mode: enforce` or `mode: warn`",
            );
        }
        let mut images = Vec::new();
        let globs = spec.entry("images").map(|(_, v)| v);
        for (index, image) in items(globs).iter().enumerate() {
            self.keys(
                image,
                &format!("spec.images[{index}]"),
                &["glob"],
                &[("regex", "write the pattern as a glob (`*` within a path segment, `**` across)")],
            );
            if let Some((_, glob)) = image.entry("glob") {
                images.push(glob.clone());
            }
        }
        if globs.is_none() {
            self.error(
                spec,
                "missing `spec.images`".to_owned(),
                "add `images: [{glob: 'ghcr.io/myorg/**'}]`",
            );
        }
        let authorities = items(spec.entry("authorities").map(|(_, v)| v));
        let mut entries = Vec::new();
        let mut attestations = Vec::new();
        let mut with_attestations = 0;
        for (index, authority) in authorities.iter().enumerate() {
            let path = format!("spec.authorities[{index}]");
            let tlog =
                "verdict requires transparency-log evidence and uses the AdmissionConfig's `trustedRoot`";
            self.keys(
                authority,
                &path,
                &["name", "keyless", "key", "ctlog", "attestations"],
                &[
                    ("static", "verdict never admits without verification; remove static authorities"),
                    ("source", "fetch signatures from the image's own repository"),
                    ("rfc3161timestamp", tlog),
                    (
                        "signatureFormat",
                        "verdict reads both cosign and Sigstore bundle signatures; remove it",
                    ),
                ],
            );
            // policy-controller: `ctlog: {}` (neither `url` nor `trustRootRef`) disables the log.
            let mut ignore_tlog = None;
            if let Some((_, ctlog)) = authority.entry("ctlog") {
                self.keys(ctlog, &format!("{path}.ctlog"), &["url"], &[("trustRootRef", tlog)]);
                if let Some((_, url)) = ctlog.entry("url")
                    && as_text(url) != Some("https://rekor.sigstore.dev")
                {
                    self.error(url, "only the public Rekor log is known by URL".to_owned(), tlog);
                }
                let empty = match &ctlog.value {
                    NodeValue::Mapping(entries) => entries.is_empty(),
                    NodeValue::Null => true,
                    _ => false,
                };
                if empty {
                    ignore_tlog = Some(ctlog);
                }
            }
            if let Some((_, keyless)) = authority.entry("keyless") {
                if let Some(ctlog) = ignore_tlog {
                    self.error(
                        ctlog,
                        KEYLESS_NEEDS_LOG.to_owned(),
                        "give `ctlog: {url: https://rekor.sigstore.dev}` or remove `ctlog`",
                    );
                }
                self.keys(
                    keyless,
                    &format!("{path}.keyless"),
                    &["url", "identities"],
                    &[("trustRootRef", tlog), ("ca-cert", tlog), ("insecureIgnoreSCT", tlog)],
                );
                if let Some((_, url)) = keyless.entry("url")
                    && as_text(url) != Some("https://fulcio.sigstore.dev")
                {
                    self.error(url, "only the public Fulcio is known by URL".to_owned(), tlog);
                }
                for (i, identity) in items(keyless.entry("identities").map(|(_, v)| v)).iter().enumerate() {
                    entries.push(self.identity(identity, &format!("{path}.keyless.identities[{i}]")));
                }
            }
            if let Some((_, key)) = authority.entry("key")
                && let Some(entry) = self.key_attestor(key, &format!("{path}.key"), ignore_tlog)
            {
                entries.push(entry);
            }
            let list = items(authority.entry("attestations").map(|(_, v)| v));
            with_attestations += usize::from(!list.is_empty());
            for (i, attestation) in list.iter().enumerate() {
                let at = format!("{path}.attestations[{i}]");
                self.keys(attestation, &at, &["name", "predicateType"], &[("policy", "policy-controller's CUE/Rego attestation policies have another contract; write a verdict ImagePolicy with a Rego predicate policy")]);
                if let Some((_, kind)) = attestation.entry("predicateType") {
                    let full = as_text(kind).map(predicate_type).unwrap_or_default();
                    let mut requirement = vec![("predicateType", string(full, kind))];
                    if let Some((_, name)) = attestation.entry("name") {
                        requirement.push(("name", name.clone()));
                    }
                    attestations.push(mapping(requirement, attestation));
                }
            }
        }
        if authorities.len() > 1 && with_attestations > 0 {
            let at = spec.entry("authorities").map_or(spec, |(_, v)| v);
            self.error(
                at,
                "several authorities (any of them) with attestations are not supported".to_owned(),
                "use one authority with attestations, or several without",
            );
        }
        let mut rule = vec![
            ("name", string(&name, root)),
            ("images", node(NodeValue::Sequence(images), globs.unwrap_or(spec))),
        ];
        let at = spec.entry("authorities").map_or(spec, |(_, v)| v);
        if !entries.is_empty() {
            // Any one authority satisfies the policy: one of the entries.
            rule.push((
                "attestors",
                mapping(
                    vec![
                        ("count", node(NodeValue::Integer(1), at)),
                        ("entries", node(NodeValue::Sequence(entries), at)),
                    ],
                    at,
                ),
            ));
        }
        if !attestations.is_empty() {
            rule.push(("attestations", node(NodeValue::Sequence(attestations), at)));
        }
        self.verdict(root, vec![mapping(rule, spec)], mode)
    }

    /// The verdict ImagePolicy holding `rules`, with the policy's own `mode` if it says; images no rule
    /// matches are denied (a policy in these
    /// formats says nothing about them).
    fn verdict(&self, root: &Node, rules: Vec<Node>, mode: Option<Node>) -> Node {
        let mut entries = vec![
            ("apiVersion", string("verdict.dev/v1", root)),
            ("kind", string("ImagePolicy", root)),
            ("rules", node(NodeValue::Sequence(rules), root)),
        ];
        if let Some(mode) = mode {
            entries.push(("mode", mode));
        }
        mapping(entries, root)
    }
}
