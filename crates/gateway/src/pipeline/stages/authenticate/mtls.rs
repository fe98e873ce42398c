//! The `mutualTLS` step of authentication: the client certificate the TLS handshake verified
//! (carried to the request by the listener) is looked up in `identity.mtls.map`. No
//! certificate is `auth.cert-missing`, one no entry maps is `auth.cert-unmapped` (both 401).
//! Only the certificate's subject CN reaches a denial or a log line.

use std::sync::Arc;

use crate::identity::Principal;
use crate::identity::mtls::{CertMap, ClientCert};
use crate::problem::Denial;

/// Maps `cert` for the `mutualTLS` scheme named `scheme`. On refusal, the failure's metric
/// code comes with the denial.
pub(crate) fn verify(
    map: Option<&CertMap>,
    cert: Option<&ClientCert>,
    scheme: &str,
) -> Result<Arc<Principal>, (Denial, &'static str)> {
    let Some(cert) = cert else {
        let d = Denial::new(
            401,
            crate::rules::AUTH_CERT_MISSING,
            format!("scheme {scheme}: no client certificate"),
        )
        .detail("a client certificate is required");
        return Err((d, "cert_missing"));
    };
    if let Some(p) = map.and_then(|m| m.map(cert)) {
        return Ok(p);
    }
    let cn = cert.subject_cn.as_deref().unwrap_or("");
    let why = if map.is_some() {
        "no identity.mtls entry matches it"
    } else {
        "identity.mtls is not configured"
    };
    let d = Denial::new(
        401,
        crate::rules::AUTH_CERT_UNMAPPED,
        format!("scheme {scheme}: client certificate (CN {cn:?}) has no identity: {why}"),
    )
    .detail("the client certificate is not accepted");
    Err((d, "cert_unmapped"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{CertMatchConfig, MtlsConfig, MtlsMapConfig};

    fn map() -> CertMap {
        CertMap::new(
            &MtlsConfig {
                map: vec![MtlsMapConfig {
                    matcher: CertMatchConfig {
                        subject_cn: Some("billing-svc".to_owned()),
                        ..CertMatchConfig::default()
                    },
                    subject: "billing".to_owned(),
                    roles: vec!["service".to_owned()],
                }],
            },
            &indexmap::IndexMap::new(),
        )
    }

    fn cert(cn: &str) -> ClientCert {
        ClientCert {
            subject_cn: Some(cn.to_owned()),
            ..ClientCert::default()
        }
    }

    #[test]
    fn each_refusal_has_its_rule_and_names_only_the_cn() {
        let m = map();
        let p = verify(Some(&m), Some(&cert("billing-svc")), "mtls").expect("mapped");
        assert_eq!(p.subject.as_deref(), Some("billing"));
        let (d, code) = verify(Some(&m), None, "mtls").expect_err("missing");
        assert_eq!(
            (d.status, d.rule, code),
            (401, "auth.cert-missing", "cert_missing")
        );
        let (d, code) = verify(Some(&m), Some(&cert("stranger")), "mtls").expect_err("unmapped");
        assert_eq!(
            (d.status, d.rule, code),
            (401, "auth.cert-unmapped", "cert_unmapped")
        );
        assert!(d.reason.contains("CN \"stranger\""), "{}", d.reason);
        let (d, _) = verify(None, Some(&cert("billing-svc")), "mtls").expect_err("no map");
        assert_eq!(d.rule, "auth.cert-unmapped");
        assert!(d.reason.contains("not configured"), "{}", d.reason);
    }
}
