//! Writers: a [`Report`](crate::Report) as text for people, JSON for programs, SARIF 2.1.0 for
//! code scanning, HTML as one self-contained page. Each writes to any `std::io::Write` and calls
//! [`Report::finish`](crate::Report::finish) on a copy only when asked to; callers finish the
//! report first.

mod blocks;
mod diff;
mod html;
mod json;
mod sarif;
mod text;

pub use diff::{MARKDOWN_ROWS, diff_json, diff_markdown, diff_sarif, diff_text};
pub use html::html;
pub use json::json;
pub use sarif::{BaselineState, sarif, sarif_value};
pub use text::{TextOptions, text};
