//! Value inspection shared by the gateway (and later `scan` and `inventory`).
//!
//! Three families of checks, each pure functions over values, with bounded work per value:
//!
//! - [`injection`]: is a request value an attack? SQL injection and XSS by libinjection's
//!   tokenizers and fingerprints (through the `libinjectionrs` port), OS command injection, path
//!   traversal, LDAP filter injection, server-side template markers and NoSQL operators, each
//!   run on the value and on its decoded forms (percent, `+`, HTML entities, backslash escapes).
//! - [`ssrf`]: does a URL-valued field point at this network or a cloud metadata service, in
//!   any of the spellings a URL parser accepts? No DNS resolution.
//! - [`sensitive`]: card numbers, IBANs, SSNs, private keys, JWTs, cloud keys, password hashes
//!   (and opt-in emails and phone numbers) inside strings, and a one-pass JSON masker.
//!
//! ```
//! use portcullis_inspect::injection::{Detector, Kind};
//! let detector = Detector::new(1);
//! let finding = detector.check("1' OR '1'='1").map(|f| f.kind);
//! assert_eq!(finding, Some(Kind::Sqli));
//! assert!(detector.check("Conan O'Brien").is_none());
//! ```

mod bytes;
pub mod decode;
pub mod injection;
pub mod sensitive;
pub mod ssrf;
