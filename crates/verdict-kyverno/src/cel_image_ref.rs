//! The Kubernetes CEL image library (`k8s.io/apiserver` `library.Image`, which Kyverno's policies use):
//! `image(s)`, `image(s, normalize)`, `isImage(s)`, and on an image `registry()`, `repository()`,
//! `tag()`, `digest()`, `identifier()`, `containsDigest()`. References are parsed with the grammar of
//! `github.com/distribution/reference`: without normalization `nginx` has no registry and
//! `library/nginx` has the registry `library` (the first component is the domain whenever there are
//! two), with it `nginx` is `docker.io/library/nginx:latest`.

use std::sync::Arc;

use kube_cel::cel::extractors::This;
use kube_cel::cel::objects::Opaque;
use kube_cel::cel::{self, FunctionContext, Value as CelValue};

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// The registry (domain and port), or "".
    pub registry: String,
    /// The repository path.
    pub repository: String,
    /// The tag, or "" ("latest" when normalized without tag or digest).
    pub tag: String,
    /// The digest (`sha256:…`), or "".
    pub digest: String,
}

impl Opaque for ImageRef {
    fn runtime_type_name(&self) -> &str {
        "kubernetes.Image"
    }
}

fn is_path_component(part: &str) -> bool {
    // [a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*
    let bytes = part.as_bytes();
    if bytes.is_empty() || !bytes[0].is_ascii_lowercase() && !bytes[0].is_ascii_digit() {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
        while i < bytes.len() && alnum(bytes[i]) {
            i += 1;
        }
        if i == bytes.len() {
            return true;
        }
        let start = i;
        match bytes[i] {
            b'.' => i += 1,
            b'_' if bytes.get(i + 1) == Some(&b'_') => i += 2,
            b'_' => i += 1,
            b'-' => {
                while i < bytes.len() && bytes[i] == b'-' {
                    i += 1;
                }
            }
            _ => return false,
        }
        if i == start || i == bytes.len() || !alnum(bytes[i]) {
            return false;
        }
    }
    true
}

fn is_domain(domain: &str) -> bool {
    // host components ([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]) joined by '.', optional :port,
    // or a bracketed IPv6 address with an optional port.
    let (host, port) = match domain.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || domain.starts_with('[') => {
            if domain.starts_with('[') && !host.ends_with(']') { (domain, None) } else { (host, Some(port)) }
        }
        _ => (domain, None),
    };
    if port.is_some_and(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit())) {
        return false;
    }
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner.parse::<std::net::Ipv6Addr>().is_ok();
    }
    !host.is_empty()
        && host.split('.').all(|component| {
            let bytes = component.as_bytes();
            !bytes.is_empty()
                && bytes[0].is_ascii_alphanumeric()
                && bytes[bytes.len() - 1].is_ascii_alphanumeric()
                && bytes.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        })
}

fn is_tag(tag: &str) -> bool {
    // [\w][\w.-]{0,127}
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let bytes = tag.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 128
        && word(bytes[0])
        && bytes.iter().all(|b| word(*b) || *b == b'.' || *b == b'-')
}

fn is_digest(digest: &str) -> bool {
    let Some((algorithm, hex)) = digest.split_once(':') else { return false };
    let length = match algorithm {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => return false,
    };
    hex.len() == length && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Parses `text` as `distribution/reference` does, normalized (Docker Hub's defaults) or not.
pub fn parse(text: &str, normalize: bool) -> Result<ImageRef, String> {
    let invalid = || format!("failed to parse image: {text}: invalid reference format");
    let (rest, digest) = match text.split_once('@') {
        Some((rest, digest)) if is_digest(digest) => (rest, digest.to_owned()),
        Some(_) => return Err(invalid()),
        None => (text, String::new()),
    };
    // A tag is after the last ':' that follows the last '/'.
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => (&rest[..last_slash + i], rest[last_slash + i + 1..].to_owned()),
        None => (rest, String::new()),
    };
    if !tag.is_empty() && !is_tag(&tag) || rest.ends_with(':') {
        return Err(invalid());
    }
    if name.is_empty() || name.len() > 255 {
        return Err(invalid());
    }
    let components: Vec<&str> = name.split('/').collect();
    let (mut registry, path): (String, Vec<&str>) = if normalize {
        let first = components[0];
        if components.len() > 1 && (first.contains('.') || first.contains(':') || first == "localhost") {
            (first.to_owned(), components[1..].to_vec())
        } else if components.len() == 1 {
            ("docker.io".to_owned(), vec!["library", first])
        } else {
            ("docker.io".to_owned(), components.clone())
        }
    } else if components.len() > 1 && is_domain(components[0]) {
        (components[0].to_owned(), components[1..].to_vec())
    } else {
        (String::new(), components.clone())
    };
    if registry == "index.docker.io" {
        registry = "docker.io".to_owned();
    }
    if path.is_empty() || !path.iter().all(|component| is_path_component(component)) {
        return Err(if name.bytes().any(|b| b.is_ascii_uppercase()) {
            format!("failed to parse image: {text}: repository name must be lowercase")
        } else {
            invalid()
        });
    }
    if !registry.is_empty() && !is_domain(&registry) {
        return Err(invalid());
    }
    let tag = if normalize && tag.is_empty() && digest.is_empty() { "latest".to_owned() } else { tag };
    Ok(ImageRef { registry, repository: path.join("/"), tag, digest })
}

fn image_of(ftx: &FunctionContext, value: &CelValue) -> Result<ImageRef, cel::ExecutionError> {
    match value {
        CelValue::Opaque(opaque) => opaque
            .downcast_ref::<ImageRef>()
            .cloned()
            .ok_or_else(|| ftx.error("not an image (make one with image(string))")),
        _ => Err(ftx.error("not an image (make one with image(string))")),
    }
}

/// `image(s)` and `image(s, normalize)`.
pub(crate) fn image(ftx: &FunctionContext, text: Arc<String>) -> cel::ResolveResult {
    let normalize = match ftx.args.get(1) {
        Some(argument) => match ftx.resolve(argument.clone())? {
            CelValue::Bool(normalize) => normalize,
            _ => return Err(ftx.error("image(string, bool): the second argument is a bool")),
        },
        None => false,
    };
    parse(&text, normalize).map(|parsed| CelValue::Opaque(Arc::new(parsed))).map_err(|err| ftx.error(err))
}

/// `isImage(s)`.
pub(crate) fn is_image(text: Arc<String>) -> bool {
    parse(&text, false).is_ok()
}

macro_rules! accessor {
    ($name:ident, |$image:ident| $body:expr) => {
        pub(crate) fn $name(ftx: &FunctionContext, This(this): This<CelValue>) -> cel::ResolveResult {
            let $image = image_of(ftx, &this)?;
            Ok($body)
        }
    };
}

accessor!(registry, |image| CelValue::String(Arc::new(image.registry)));
accessor!(repository, |image| CelValue::String(Arc::new(image.repository)));
accessor!(tag, |image| CelValue::String(Arc::new(image.tag)));
accessor!(digest, |image| CelValue::String(Arc::new(image.digest)));
accessor!(contains_digest, |image| CelValue::Bool(!image.digest.is_empty()));
accessor!(identifier, |image| CelValue::String(Arc::new(if image.digest.is_empty() {
    image.tag
} else {
    image.digest
})));

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::cel::{Activation, compile, evaluate};

    fn eval(source: &str) -> Result<Value, String> {
        evaluate(&compile(source)?, &Activation::default())
    }

    const DIGEST: &str = "sha256:6aefddb645ee6963afd681b1845c661d0ea4c3b20ab9db86d9e753b203d385f2";

    /// The examples of the Kubernetes image library's documentation, each with its documented result.
    #[test]
    fn the_kubernetes_image_library_examples() {
        let cases = [
            ("isImage('registry.k8s.io/kube-apiserver-arm64:latest')".to_owned(), json!(true)),
            ("isImage('nginx')".to_owned(), json!(true)),
            (format!("isImage('registry.k8s.io/kube-apiserver-arm64@{DIGEST}')"), json!(true)),
            (format!("isImage('registry.k8s.io/kube-apiserver-arm64:latest@{DIGEST}')"), json!(true)),
            ("isImage('registry.k8s.io//kube-apiserver-arm64')".to_owned(), json!(false)),
            (
                format!("image('registry.k8s.io/kube-apiserver-arm64:latest@{DIGEST}').containsDigest()"),
                json!(true),
            ),
            (format!("image('registry.k8s.io/kube-apiserver-arm64@{DIGEST}').containsDigest()"), json!(true)),
            (
                "image('registry.k8s.io/kube-apiserver-arm64:latest').containsDigest()".to_owned(),
                json!(false),
            ),
            ("image('registry.k8s.io/kube-apiserver-arm64').containsDigest()".to_owned(), json!(false)),
            ("image('kube-apiserver-arm64:testtag').registry()".to_owned(), json!("")),
            (
                "image('registry.k8s.io/kube-apiserver-arm64:latest').registry()".to_owned(),
                json!("registry.k8s.io"),
            ),
            (
                "image('registry.k8s.io/kube-apiserver-arm64').repository()".to_owned(),
                json!("kube-apiserver-arm64"),
            ),
            ("image('registry.k8s.io/kube-apiserver-arm64:testtag').tag()".to_owned(), json!("testtag")),
            (format!("image('registry.k8s.io/kube-apiserver-arm64@{DIGEST}').digest()"), json!(DIGEST)),
            (
                format!("image('registry.k8s.io/kube-apiserver-arm64:latest@{DIGEST}').digest()"),
                json!(DIGEST),
            ),
            (
                "image('registry.k8s.io/kube-apiserver-arm64:testtag').identifier()".to_owned(),
                json!("testtag"),
            ),
            (format!("image('registry.k8s.io/kube-apiserver-arm64@{DIGEST}').identifier()"), json!(DIGEST)),
            (
                format!("image('registry.k8s.io/kube-apiserver-arm64:latest@{DIGEST}').identifier()"),
                json!(DIGEST),
            ),
            // Normalization: Docker Hub's defaults.
            ("image('ubuntu', true).registry()".to_owned(), json!("docker.io")),
            ("image('ubuntu', true).repository()".to_owned(), json!("library/ubuntu")),
            ("image('ubuntu', true).tag()".to_owned(), json!("latest")),
            ("image('ubuntu', false).registry()".to_owned(), json!("")),
            ("image('ubuntu').tag()".to_owned(), json!("")),
            ("image('localhost:5000/team/app:v1', true).registry()".to_owned(), json!("localhost:5000")),
            ("image('team/app', true).repository()".to_owned(), json!("team/app")),
            // Unnormalized, two components: the first is the domain.
            ("image('library/ubuntu').registry()".to_owned(), json!("library")),
        ];
        for (source, expected) in cases {
            assert_eq!(eval(&source), Ok(expected), "{source}");
        }
    }

    #[test]
    fn what_is_not_an_image_is_an_error_or_false() {
        for text in [
            "registry.k8s.io//kube-apiserver-arm64",
            "Nginx",
            "nginx:",
            "nginx@sha256:abc",
            "nginx@md5:0123456789abcdef0123456789abcdef",
            "nginx:bad tag",
            "",
        ] {
            assert_eq!(eval(&format!("isImage('{text}')")), Ok(json!(false)), "{text}");
            assert!(eval(&format!("image('{text}').registry()")).is_err(), "{text}");
        }
        assert!(eval("image('nginx', 'yes')").is_err());
        assert!(eval("'nginx'.registry()").is_err(), "a string is not an image");
    }
}
