use indexmap::IndexMap;
use rustls_pki_types::pem::PemObject;

use super::*;
use crate::config::MtlsMapConfig;

fn pem(name: &str) -> CertificateDer<'static> {
    let path = format!("{}/tests/data/mtls/{name}.pem", env!("CARGO_MANIFEST_DIR"));
    CertificateDer::from_pem_file(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn entry(matcher: CertMatchConfig, subject: &str, roles: &[&str]) -> MtlsMapConfig {
    MtlsMapConfig {
        matcher,
        subject: subject.to_owned(),
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
    }
}

fn cn(v: &str) -> CertMatchConfig {
    CertMatchConfig {
        subject_cn: Some(v.to_owned()),
        ..CertMatchConfig::default()
    }
}

fn dns(v: &str) -> CertMatchConfig {
    CertMatchConfig {
        san_dns: Some(v.to_owned()),
        ..CertMatchConfig::default()
    }
}

fn uri(v: &str) -> CertMatchConfig {
    CertMatchConfig {
        san_uri: Some(v.to_owned()),
        ..CertMatchConfig::default()
    }
}

#[test]
fn names_are_read_from_real_certificates() {
    let billing = ClientCert::parse(&pem("billing")).expect("billing");
    assert_eq!(
        billing,
        ClientCert {
            subject_cn: Some("billing-svc".to_owned()),
            san_dns: vec!["billing.internal".to_owned()],
            san_uri: vec!["spiffe://example.org/ns/prod/sa/billing".to_owned()],
        }
    );
    let stranger = ClientCert::parse(&pem("stranger")).expect("stranger");
    assert_eq!(stranger.subject_cn.as_deref(), Some("stranger"));
    assert!(stranger.san_uri.is_empty());
    let garbage = CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x01]);
    assert!(matches!(
        ClientCert::parse(&garbage),
        Err(CertError::Certificate(_))
    ));
}

#[test]
fn common_names_in_other_encodings_and_malformed_subjects() {
    // SET { SEQUENCE { OID 2.5.4.3, BMPString "ab" } }
    let bmp = [
        0x31, 0x0d, 0x30, 0x0b, 0x06, 0x03, 0x55, 0x04, 0x03, 0x1e, 0x04, 0x00, 0x61, 0x00, 0x62,
    ];
    assert_eq!(common_name(&bmp), Ok(Some("ab".to_owned())));
    // O=x only: no CN.
    let org = [
        0x31, 0x0a, 0x30, 0x08, 0x06, 0x03, 0x55, 0x04, 0x0a, 0x0c, 0x01, b'x',
    ];
    assert_eq!(common_name(&org), Ok(None));
    assert_eq!(common_name(&[]), Ok(None));
    assert!(common_name(&[0x31, 0x05, 0x30]).is_err());
    assert!(common_name(&[0x04, 0x00]).is_err());
}

#[test]
fn each_matcher_compares_its_own_name() {
    let billing = ClientCert::parse(&pem("billing")).expect("billing");
    let yes = [
        cn("billing-svc"),
        dns("billing.internal"),
        dns("BILLING.Internal"),
        uri("spiffe://example.org/ns/prod/sa/billing"),
    ];
    for m in yes {
        let matcher = Matcher::from_config(&m).expect("one key");
        assert!(matcher.matches(&billing), "{matcher:?}");
    }
    let no = [
        cn("Billing-svc"),
        cn("billing"),
        cn("billing.internal"),
        dns("billing-svc"),
        dns("other.internal"),
        uri("spiffe://example.org/ns/prod/sa/BILLING"),
        uri("billing.internal"),
    ];
    for m in no {
        let matcher = Matcher::from_config(&m).expect("one key");
        assert!(!matcher.matches(&billing), "{matcher:?}");
    }
    assert_eq!(Matcher::from_config(&CertMatchConfig::default()), None);
    let two = CertMatchConfig {
        subject_cn: Some("a".to_owned()),
        san_dns: Some("b".to_owned()),
        san_uri: None,
    };
    assert_eq!(Matcher::from_config(&two), None);
}

#[test]
fn the_first_matching_entry_gives_the_principal_with_scopes_from_roles() {
    let mut roles = IndexMap::new();
    roles.insert("service".to_owned(), vec!["billing:read".to_owned()]);
    roles.insert(
        "admin".to_owned(),
        vec!["billing:write".to_owned(), "billing:read".to_owned()],
    );
    let map = CertMap::new(
        &MtlsConfig {
            map: vec![
                entry(
                    uri("spiffe://example.org/ns/prod/sa/billing"),
                    "billing",
                    &["service", "unknown-role"],
                ),
                entry(cn("billing-svc"), "second", &["admin"]),
                entry(cn("stranger"), "stranger", &[]),
            ],
        },
        &roles,
    );
    assert_eq!(map.len(), 3);
    let billing = ClientCert::parse(&pem("billing")).expect("billing");
    let p = map.map(&billing).expect("mapped");
    assert_eq!(p.subject.as_deref(), Some("billing"));
    assert_eq!(p.issuer, "mtls");
    assert_eq!(
        p.roles.iter().map(String::as_str).collect::<Vec<_>>(),
        ["service", "unknown-role"]
    );
    assert_eq!(
        p.scopes.iter().map(String::as_str).collect::<Vec<_>>(),
        ["billing:read"]
    );
    assert_eq!(p.claim("sub").as_deref(), Some("billing"));
    assert_eq!(p.claim("iss").as_deref(), Some("mtls"));
    let stranger = ClientCert::parse(&pem("stranger")).expect("stranger");
    let s = map.map(&stranger).expect("mapped");
    assert_eq!(s.subject.as_deref(), Some("stranger"));
    assert!(s.scopes.is_empty());
    assert!(map.map(&ClientCert::default()).is_none());
    assert!(CertMap::default().is_empty());
}
