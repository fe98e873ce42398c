//! Unit tests of the access stages' helpers.

use super::*;
use crate::identity::introspection::Failure;

#[test]
fn only_refused_credentials_count_for_lockout_never_an_outage() {
    let refused = |f: AuthFailure| counts_for_lockout(&unauthorized(&f), true);
    assert!(refused(AuthFailure::BadSignature));
    assert!(refused(AuthFailure::Introspection(Failure::Inactive)));
    assert!(!counts_for_lockout(
        &unauthorized(&AuthFailure::BadSignature),
        false
    ));
    assert!(!refused(AuthFailure::KeysUnavailable));
    for status in [401, 503] {
        let message = "down".to_owned();
        assert!(!refused(AuthFailure::Introspection(Failure::Unavailable {
            message: message.clone(),
            status,
        })));
        assert!(!refused(AuthFailure::Introspection(Failure::BadResponse {
            message,
            status,
        })));
    }
}
