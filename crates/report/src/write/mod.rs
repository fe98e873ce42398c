//! Writers: a [`Report`](crate::Report) as text for people, JSON for programs, SARIF 2.1.0 for
//! code scanning, HTML as one self-contained page. Each writes to any `std::io::Write` and calls
//! [`Report::finish`](crate::Report::finish) on a copy only when asked to; callers finish the
//! report first.

mod blocks;
mod html;
mod json;
mod sarif;
mod text;

pub use html::html;
pub use json::json;
pub use sarif::{sarif, sarif_value};
pub use text::{TextOptions, text};
