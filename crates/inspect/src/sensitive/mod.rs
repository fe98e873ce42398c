//! Sensitive data in responses: detectors over strings ([`find`]), property names that hold
//! secrets whatever their value ([`is_secret_name`]), and a one-pass JSON scanner and masker
//! over raw bytes ([`scan_json`], [`mask_json`]).
//!
//! Each detector checks a shape and a checksum where there is one, so that ids and prices are
//! not taken for secrets: card numbers (13 to 19 digits, spaces or dashes, a known issuer
//! prefix, Luhn), IBANs (country length, mod 97), US SSNs (dashed, the never-issued ranges
//! excluded), PEM private keys, JWTs, cloud and service keys (AWS, GCP, Azure, GitHub, Slack,
//! Stripe, Twilio, SendGrid, GitLab, npm...), password hashes (bcrypt, argon2, scrypt,
//! sha-crypt, md5-crypt, Django's), and, when asked, emails and phone numbers.

mod json;
mod names;
mod scan;
mod shapes;

pub use json::{Error, Masked, mask_json, scan_json};
pub use names::is_secret_name;
pub use scan::find;

/// The kinds of sensitive data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A payment card number.
    Card,
    /// An international bank account number.
    Iban,
    /// A US social security number.
    Ssn,
    /// A PEM private key.
    PrivateKey,
    /// A JSON web token.
    Jwt,
    /// A cloud or service credential (AWS, GCP, Azure, GitHub, Slack, Stripe, ...).
    CloudKey,
    /// A password hash (bcrypt, argon2, scrypt, sha-crypt, Django's).
    PasswordHash,
    /// An email address (opt-in).
    Email,
    /// A phone number in international form (opt-in).
    Phone,
    /// A property whose name says it holds a secret (password, token, ...).
    SecretName,
}

impl Kind {
    /// Every kind, in bit order.
    pub const ALL: [Kind; 10] = [
        Kind::Card,
        Kind::Iban,
        Kind::Ssn,
        Kind::PrivateKey,
        Kind::Jwt,
        Kind::CloudKey,
        Kind::PasswordHash,
        Kind::Email,
        Kind::Phone,
        Kind::SecretName,
    ];

    /// The kind's name in flags and observations (`card`, `iban`, ..., `secret_name`).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Card => "card",
            Kind::Iban => "iban",
            Kind::Ssn => "ssn",
            Kind::PrivateKey => "private_key",
            Kind::Jwt => "jwt",
            Kind::CloudKey => "cloud_key",
            Kind::PasswordHash => "password_hash",
            Kind::Email => "email",
            Kind::Phone => "phone",
            Kind::SecretName => "secret_name",
        }
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// Which opt-in detectors run (both off by default: emails and phone numbers are ordinary
/// data in most APIs).
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Detect email addresses.
    pub emails: bool,
    /// Detect phone numbers in international form (`+` and 8 to 15 digits).
    pub phones: bool,
}

/// A set of kinds (bit set).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Kinds(u16);

impl Kinds {
    /// No kind.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The kinds in the set, in [`Kind::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Kind> {
        Kind::ALL.into_iter().filter(move |k| self.contains(*k))
    }

    /// Adds a kind.
    pub fn insert(&mut self, k: Kind) {
        self.0 |= k.bit();
    }

    /// Whether the set holds `k`.
    pub fn contains(self, k: Kind) -> bool {
        self.0 & k.bit() != 0
    }
}

#[cfg(test)]
mod tests;
