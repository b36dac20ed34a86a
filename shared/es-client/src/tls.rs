//! TLS trust: system roots (reqwest's platform verifier), an extra CA file, a CA fingerprint pin,
//! or no verification at all (development).
//!
//! The fingerprint pin follows Beats' `ca_trusted_fingerprint`: when a certificate presented by
//! the server (leaf or intermediate) has the configured SHA-256 DER fingerprint, that certificate
//! is trusted as a CA and the chain is verified normally against it, hostname included. When none
//! matches, the chain is verified against the system roots and the CA file as usual.

use std::fs;
use std::path::Path;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use sha2::{Digest, Sha256};

use crate::config::Tls;
use crate::error::ConfigError;

/// Parses a SHA-256 fingerprint written as hex, ignoring colons, spaces and case.
pub fn normalize_fingerprint(text: &str) -> Result<[u8; 32], ConfigError> {
    let hex_digits: String = text
        .chars()
        .filter(|c| !matches!(c, ':' | ' ' | '\t' | '-'))
        .collect();
    let bytes = hex::decode(hex_digits.to_ascii_lowercase()).map_err(|e| {
        ConfigError::Fingerprint(format!(
            "{e} (expected 64 hexadecimal digits, colons allowed)"
        ))
    })?;
    <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| {
        ConfigError::Fingerprint(format!(
            "expected a SHA-256 fingerprint (32 bytes) but found {} bytes",
            bytes.len()
        ))
    })
}

/// SHA-256 of a certificate's DER bytes.
pub fn fingerprint(cert: &[u8]) -> [u8; 32] {
    Sha256::digest(cert).into()
}

/// Reads every certificate of a PEM file.
pub fn read_pem_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    let ca_error = |reason: String| ConfigError::CaFile {
        path: path.display().to_string(),
        reason,
    };
    let bytes = fs::read(path).map_err(|e| ca_error(e.to_string()))?;
    let certs = rustls_pemfile::certs(&mut bytes.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ca_error(e.to_string()))?;
    if certs.is_empty() {
        return Err(ca_error("no PEM certificate found".to_string()));
    }
    Ok(certs)
}

/// Applies the TLS settings to a reqwest builder.
pub(crate) fn configure(
    builder: reqwest::ClientBuilder,
    tls: &Tls,
) -> Result<reqwest::ClientBuilder, ConfigError> {
    if !tls.verify_certs {
        if tls.ca_fingerprint.is_some() || tls.ca_file.is_some() {
            tracing::warn!("verify_certs is false: the CA file and fingerprint are ignored");
        }
        tracing::warn!("TLS certificate verification is disabled (verify_certs=false)");
        return Ok(builder.tls_danger_accept_invalid_certs(true));
    }
    let extra_roots = match &tls.ca_file {
        Some(path) => read_pem_certs(path)?,
        None => Vec::new(),
    };
    match &tls.ca_fingerprint {
        Some(text) => {
            let pin = normalize_fingerprint(text)?;
            let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
            let verifier = FingerprintVerifier::new(pin, extra_roots, provider.clone())?;
            let mut config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| ConfigError::Tls(e.to_string()))?
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(verifier))
                .with_no_client_auth();
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            Ok(builder.tls_backend_preconfigured(config))
        }
        None if extra_roots.is_empty() => Ok(builder),
        None => {
            let certs = extra_roots
                .iter()
                .map(|der| reqwest::Certificate::from_der(der))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| ConfigError::Tls(e.to_string()))?;
            Ok(builder.tls_certs_merge(certs))
        }
    }
}

/// The fingerprint-pinning verifier (see the module docs).
#[derive(Debug)]
pub struct FingerprintVerifier {
    pin: [u8; 32],
    extra_roots: Vec<CertificateDer<'static>>,
    fallback: Arc<dyn ServerCertVerifier>,
    provider: Arc<CryptoProvider>,
}

impl FingerprintVerifier {
    /// A verifier trusting a presented certificate whose SHA-256 is `pin`, and otherwise the
    /// system roots plus `extra_roots`.
    pub fn new(
        pin: [u8; 32],
        extra_roots: Vec<CertificateDer<'static>>,
        provider: Arc<CryptoProvider>,
    ) -> Result<Self, ConfigError> {
        let fallback = rustls_platform_verifier::Verifier::new_with_extra_roots(
            extra_roots.iter().cloned(),
            provider.clone(),
        )
        .map_err(|e| ConfigError::Tls(e.to_string()))?;
        Ok(Self::with_fallback(
            pin,
            extra_roots,
            provider,
            Arc::new(fallback),
        ))
    }

    /// Like [`FingerprintVerifier::new`] with an explicit verifier for chains without a match.
    pub fn with_fallback(
        pin: [u8; 32],
        extra_roots: Vec<CertificateDer<'static>>,
        provider: Arc<CryptoProvider>,
        fallback: Arc<dyn ServerCertVerifier>,
    ) -> Self {
        FingerprintVerifier {
            pin,
            extra_roots,
            fallback,
            provider,
        }
    }
}

impl ServerCertVerifier for FingerprintVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let pinned = std::iter::once(end_entity)
            .chain(intermediates)
            .find(|cert| fingerprint(cert) == self.pin);
        let Some(pinned) = pinned else {
            tracing::debug!(
                "no certificate presented by the server matches the CA fingerprint; verifying against the trusted roots"
            );
            return self.fallback.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                now,
            );
        };
        let mut roots = RootCertStore::empty();
        roots.add(pinned.clone().into_owned())?;
        for root in &self.extra_roots {
            // A CA file certificate that is not a usable anchor just adds nothing.
            let _ = roots.add(root.clone());
        }
        let verifier =
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), self.provider.clone())
                .build()
                .map_err(|e| rustls::Error::General(e.to_string()))?;
        verifier.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tls");

    fn fixture_cert(name: &str) -> CertificateDer<'static> {
        read_pem_certs(&Path::new(FIXTURES).join(name))
            .unwrap()
            .remove(0)
    }

    fn fixture_text(name: &str) -> String {
        fs::read_to_string(Path::new(FIXTURES).join(name))
            .unwrap()
            .trim()
            .to_string()
    }

    fn colon_upper(hex: &str) -> String {
        hex.as_bytes()
            .chunks(2)
            .map(|pair| String::from_utf8_lossy(pair).to_uppercase())
            .collect::<Vec<_>>()
            .join(":")
    }

    /// A verifier standing in for the system roots: rejects everything.
    #[derive(Debug)]
    struct RejectAll;

    impl ServerCertVerifier for RejectAll {
        fn verify_server_cert(
            &self,
            _: &CertificateDer<'_>,
            _: &[CertificateDer<'_>],
            _: &ServerName<'_>,
            _: &[u8],
            _: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer,
            ))
        }
        fn verify_tls12_signature(
            &self,
            _: &[u8],
            _: &CertificateDer<'_>,
            _: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            unreachable!()
        }
        fn verify_tls13_signature(
            &self,
            _: &[u8],
            _: &CertificateDer<'_>,
            _: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            unreachable!()
        }
        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            Vec::new()
        }
    }

    fn verifier(pin: [u8; 32]) -> FingerprintVerifier {
        FingerprintVerifier::with_fallback(
            pin,
            Vec::new(),
            Arc::new(rustls::crypto::aws_lc_rs::default_provider()),
            Arc::new(RejectAll),
        )
    }

    #[test]
    fn fingerprint_normalisation() {
        let hex = fixture_text("ca.sha256");
        let plain = normalize_fingerprint(&hex).unwrap();
        assert_eq!(normalize_fingerprint(&colon_upper(&hex)).unwrap(), plain);
        assert_eq!(normalize_fingerprint(&format!("  {hex} ")).unwrap(), plain);
        assert_eq!(plain, fingerprint(&fixture_cert("ca.pem")));
        assert!(normalize_fingerprint("abcd").is_err());
        assert!(normalize_fingerprint(&"zz".repeat(32)).is_err());
        assert!(normalize_fingerprint(&format!("{hex}00")).is_err());
    }

    #[test]
    fn pinned_ca_in_chain_is_trusted_and_hostname_checked() {
        let ca = fixture_cert("ca.pem");
        let leaf = fixture_cert("server.pem");
        let v = verifier(normalize_fingerprint(&fixture_text("ca.sha256")).unwrap());
        let localhost = ServerName::try_from("localhost").unwrap();
        v.verify_server_cert(
            &leaf,
            std::slice::from_ref(&ca),
            &localhost,
            &[],
            UnixTime::now(),
        )
        .expect("pinned CA accepted");
        let ip = ServerName::try_from("127.0.0.1").unwrap();
        v.verify_server_cert(&leaf, std::slice::from_ref(&ca), &ip, &[], UnixTime::now())
            .expect("IP SAN accepted");
        let other = ServerName::try_from("other.example").unwrap();
        let error = v
            .verify_server_cert(
                &leaf,
                std::slice::from_ref(&ca),
                &other,
                &[],
                UnixTime::now(),
            )
            .unwrap_err();
        assert!(
            matches!(error, rustls::Error::InvalidCertificate(_)),
            "{error:?}"
        );
    }

    #[test]
    fn no_match_falls_back_to_trusted_roots() {
        let ca = fixture_cert("ca.pem");
        let leaf = fixture_cert("server.pem");
        let v = verifier([7u8; 32]);
        let localhost = ServerName::try_from("localhost").unwrap();
        assert!(
            v.verify_server_cert(&leaf, &[ca], &localhost, &[], UnixTime::now())
                .is_err()
        );
    }

    #[test]
    fn ca_not_presented_is_not_trusted() {
        // The pin names the CA but the server sends only its leaf.
        let leaf = fixture_cert("server.pem");
        let v = verifier(normalize_fingerprint(&fixture_text("ca.sha256")).unwrap());
        let localhost = ServerName::try_from("localhost").unwrap();
        assert!(
            v.verify_server_cert(&leaf, &[], &localhost, &[], UnixTime::now())
                .is_err()
        );
    }

    #[test]
    fn read_pem_errors() {
        assert!(read_pem_certs(Path::new("/nonexistent/ca.pem")).is_err());
        let key = Path::new(FIXTURES).join("ca.sha256");
        let error = read_pem_certs(&key).unwrap_err();
        assert!(error.to_string().contains("no PEM certificate"), "{error}");
    }
}
