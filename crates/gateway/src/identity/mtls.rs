//! Client certificates (mTLS) mapped to identities.
//!
//! The TLS listener has already verified the client's chain against `server.tls.client_ca`;
//! here the leaf is only read ([`ClientCert::parse`]: subject CN, SAN DNS names and URIs) and
//! looked up in `identity.mtls.map` ([`CertMap`]), whose first matching entry gives the
//! [`Principal`] (issuer `mtls`, the entry's subject and roles, scopes from `roles`). The
//! certificate itself is never logged; its CN may be.

use std::collections::BTreeSet;
use std::sync::Arc;

use der::asn1::{AnyRef, ObjectIdentifier};
use der::{Decode, Reader, SliceReader, Tag, Tagged};
use indexmap::IndexMap;
use rustls_pki_types::CertificateDer;
use serde_json::json;

use super::Principal;
use crate::config::{CertMatchConfig, MtlsConfig};

/// The `issuer` of principals from client certificates.
pub const ISSUER: &str = "mtls";

/// `id-at-commonName` (2.5.4.3).
const COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");

/// The names of a verified client certificate that mappings match on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientCert {
    /// The subject's common name (the last one when there are several).
    pub subject_cn: Option<String>,
    /// `subjectAltName` DNS names.
    pub san_dns: Vec<String>,
    /// `subjectAltName` URIs (SPIFFE IDs...).
    pub san_uri: Vec<String>,
}

/// A client certificate that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertError {
    /// Not an X.509 certificate webpki accepts.
    #[error("malformed certificate: {0}")]
    Certificate(String),
    /// The subject is not a DER `Name`.
    #[error("malformed certificate subject: {0}")]
    Subject(String),
}

impl ClientCert {
    /// Reads the names of the DER certificate `der`.
    pub fn parse(der: &CertificateDer<'_>) -> Result<ClientCert, CertError> {
        let cert = webpki::EndEntityCert::try_from(der)
            .map_err(|e| CertError::Certificate(e.to_string()))?;
        let subject_cn =
            common_name(cert.subject()).map_err(|e| CertError::Subject(e.to_string()))?;
        Ok(ClientCert {
            subject_cn,
            san_dns: cert.valid_dns_names().map(str::to_owned).collect(),
            san_uri: cert.valid_uri_names().map(str::to_owned).collect(),
        })
    }
}

/// The last common name in a subject (`RDNSequence` contents, without the outer SEQUENCE).
fn common_name(subject: &[u8]) -> Result<Option<String>, der::Error> {
    let mut cn = None;
    let mut rdns = SliceReader::new(subject)?;
    while !rdns.is_finished() {
        let set = AnyRef::decode(&mut rdns)?;
        if set.tag() != Tag::Set {
            return Err(set.tag().unexpected_error(Some(Tag::Set)));
        }
        let mut attributes = SliceReader::new(set.value())?;
        while !attributes.is_finished() {
            let attribute = AnyRef::decode(&mut attributes)?;
            if attribute.tag() != Tag::Sequence {
                return Err(attribute.tag().unexpected_error(Some(Tag::Sequence)));
            }
            let mut parts = SliceReader::new(attribute.value())?;
            let oid = ObjectIdentifier::decode(&mut parts)?;
            let value = AnyRef::decode(&mut parts)?;
            if oid == COMMON_NAME {
                cn = directory_string(value);
            }
        }
    }
    Ok(cn)
}

/// A `DirectoryString` as text; `None` for encodings that are not text.
fn directory_string(value: AnyRef<'_>) -> Option<String> {
    match value.tag() {
        Tag::Utf8String | Tag::PrintableString | Tag::Ia5String | Tag::TeletexString => {
            std::str::from_utf8(value.value()).ok().map(str::to_owned)
        }
        Tag::BmpString => {
            let units: Vec<u16> = value
                .value()
                .chunks_exact(2)
                .map(|c| Some(u16::from_be_bytes([*c.first()?, *c.get(1)?])))
                .collect::<Option<_>>()?;
            String::from_utf16(&units).ok()
        }
        _ => None,
    }
}

/// What one mapping entry compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Matcher {
    /// The subject CN, exactly.
    SubjectCn(String),
    /// One SAN DNS name, ASCII case-insensitively.
    SanDns(String),
    /// One SAN URI, exactly.
    SanUri(String),
}

impl Matcher {
    /// The matcher a validated `match:` describes (`None` unless exactly one key is set).
    pub fn from_config(m: &CertMatchConfig) -> Option<Matcher> {
        match (&m.subject_cn, &m.san_dns, &m.san_uri) {
            (Some(cn), None, None) => Some(Matcher::SubjectCn(cn.clone())),
            (None, Some(dns), None) => Some(Matcher::SanDns(dns.clone())),
            (None, None, Some(uri)) => Some(Matcher::SanUri(uri.clone())),
            _ => None,
        }
    }

    /// Whether `cert` has the name.
    pub fn matches(&self, cert: &ClientCert) -> bool {
        match self {
            Matcher::SubjectCn(cn) => cert.subject_cn.as_deref() == Some(cn.as_str()),
            Matcher::SanDns(dns) => cert.san_dns.iter().any(|d| d.eq_ignore_ascii_case(dns)),
            Matcher::SanUri(uri) => cert.san_uri.iter().any(|u| u == uri),
        }
    }
}

/// `identity.mtls.map`, compiled: the first entry whose matcher matches gives the principal.
#[derive(Debug, Default)]
pub struct CertMap {
    entries: Vec<(Matcher, Arc<Principal>)>,
}

impl CertMap {
    /// Compiles `config` (validated at load: one matcher per entry); `roles` maps role names
    /// to the scopes they grant.
    pub fn new(config: &MtlsConfig, roles: &IndexMap<String, Vec<String>>) -> CertMap {
        let entries = config
            .map
            .iter()
            .filter_map(|e| {
                let matcher = Matcher::from_config(&e.matcher)?;
                let scopes: BTreeSet<String> = e
                    .roles
                    .iter()
                    .filter_map(|r| roles.get(r))
                    .flatten()
                    .cloned()
                    .collect();
                let claims = json!({
                    "sub": e.subject,
                    "iss": ISSUER,
                    "roles": e.roles,
                });
                let principal = Principal {
                    subject: Some(e.subject.clone()),
                    issuer: ISSUER.to_owned(),
                    scopes,
                    roles: e.roles.iter().cloned().collect(),
                    claims: Arc::new(claims),
                };
                Some((matcher, Arc::new(principal)))
            })
            .collect();
        CertMap { entries }
    }

    /// The principal of the first entry `cert` matches.
    pub fn map(&self, cert: &ClientCert) -> Option<Arc<Principal>> {
        self.entries
            .iter()
            .find(|(m, _)| m.matches(cert))
            .map(|(_, p)| p.clone())
    }

    /// How many entries there are.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests;
