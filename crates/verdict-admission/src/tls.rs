//! The webhook's TLS: a certificate and key read from PEM files, and read again when the files change
//! (cert-manager rotates them in place), without restarting or dropping connections — each handshake
//! takes the certificate current at that moment. A change that does not load keeps the previous
//! certificate and is logged.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// Why a certificate or key cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct TlsError {
    /// The file at fault.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

fn load(cert: &Path, key: &Path) -> Result<CertifiedKey, TlsError> {
    let error = |path: &Path, message: String| TlsError { path: path.display().to_string(), message };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|err| error(cert, err.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|err| error(cert, err.to_string()))?;
    if chain.is_empty() {
        return Err(error(cert, "no PEM certificate in it".to_owned()));
    }
    let private = PrivateKeyDer::from_pem_file(key).map_err(|err| error(key, err.to_string()))?;
    let signing = rustls::crypto::aws_lc_rs::sign::any_supported_type(&private)
        .map_err(|err| error(key, format!("unusable private key: {err}")))?;
    let certified = CertifiedKey::new(chain, signing);
    certified
        .keys_match()
        .map_err(|err| error(key, format!("the key does not match the certificate: {err}")))?;
    Ok(certified)
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// A certificate that follows its files.
#[derive(Debug)]
pub struct ReloadingCertificate {
    cert: PathBuf,
    key: PathBuf,
    current: RwLock<(Arc<CertifiedKey>, Option<SystemTime>, Option<SystemTime>)>,
}

impl ReloadingCertificate {
    /// Loads the certificate chain and key (an error names the file).
    pub fn load(cert: &Path, key: &Path) -> Result<Arc<Self>, TlsError> {
        let certified = load(cert, key)?;
        Ok(Arc::new(ReloadingCertificate {
            cert: cert.to_owned(),
            key: key.to_owned(),
            current: RwLock::new((Arc::new(certified), modified(cert), modified(key))),
        }))
    }

    /// Reloads when either file changed; true when a new certificate is in use.
    pub fn refresh(&self) -> bool {
        let (cert_time, key_time) = (modified(&self.cert), modified(&self.key));
        {
            let current = self.current.read().unwrap_or_else(std::sync::PoisonError::into_inner);
            if current.1 == cert_time && current.2 == key_time {
                return false;
            }
        }
        match load(&self.cert, &self.key) {
            Ok(certified) => {
                *self.current.write().unwrap_or_else(std::sync::PoisonError::into_inner) =
                    (Arc::new(certified), cert_time, key_time);
                tracing::info!(cert = %self.cert.display(), "TLS certificate reloaded");
                true
            }
            Err(err) => {
                // Half-written files during a rotation land here; the next look picks up the pair.
                tracing::warn!("TLS certificate not reloaded, the previous one stays in use: {err}");
                false
            }
        }
    }

    /// Looks at the files every `interval` for as long as the process runs.
    pub fn watch(self: &Arc<Self>, interval: Duration) {
        let this = Arc::clone(self);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            loop {
                ticker.tick().await;
                this.refresh();
            }
        });
    }

    /// A rustls server configuration that uses this certificate.
    pub fn server_config(self: &Arc<Self>) -> Result<Arc<rustls::ServerConfig>, TlsError> {
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|err| TlsError { path: self.cert.display().to_string(), message: err.to_string() })?
        .with_no_client_auth()
        .with_cert_resolver(Arc::clone(self) as Arc<dyn ResolvesServerCert>);
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

impl ResolvesServerCert for ReloadingCertificate {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(&self.current.read().unwrap_or_else(std::sync::PoisonError::into_inner).0))
    }
}
