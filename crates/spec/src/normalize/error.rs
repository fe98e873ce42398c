//! Why a request path was refused.

/// Why [`normalize_path`](super::normalize_path) refused a path.
///
/// Every variant holds `offset`, the byte offset in the input where the problem starts (the
/// `%` of an escape, the first byte of a segment...), so the gateway can answer `400` with a
/// precise reason ([`PathError::reason`]) and log where the request went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum PathError {
    /// The path is empty.
    #[error("the path is empty")]
    Empty {
        /// Always 0.
        offset: usize,
    },
    /// The input is longer than the limit.
    #[error("the path is {length} bytes long, over the limit of {limit} bytes")]
    TooLong {
        /// The first byte past the limit.
        offset: usize,
        /// The length of the input.
        length: usize,
        /// The limit ([`MAX_PATH_LEN`](super::MAX_PATH_LEN)).
        limit: usize,
    },
    /// The input has more segments than the limit.
    #[error("the path has more than {limit} segments (segment at byte {offset})")]
    TooManySegments {
        /// Where the first segment over the limit starts.
        offset: usize,
        /// The limit ([`MAX_SEGMENTS`](super::MAX_SEGMENTS)).
        limit: usize,
    },
    /// The request-target is `*` (asterisk-form, `OPTIONS *`), not a path.
    #[error("the request-target `*` is not a path")]
    AsteriskForm {
        /// Always 0.
        offset: usize,
    },
    /// The request-target is absolute-form or authority-form (`http://host/a`,
    /// `host:443`): the caller must pass only its path.
    #[error("the request-target starts with a scheme or authority, not a path")]
    AbsoluteForm {
        /// Always 0.
        offset: usize,
    },
    /// The path does not start with `/`.
    #[error("the path does not start with `/`")]
    MissingLeadingSlash {
        /// Always 0.
        offset: usize,
    },
    /// A `%` is not followed by two hexadecimal digits (`%G1`, `%4`, a final `%`).
    #[error("invalid percent-escape at byte {offset}")]
    InvalidEscape {
        /// Where the `%` is.
        offset: usize,
    },
    /// The decoded bytes are not valid UTF-8 (overlong form, surrogate, stray continuation
    /// byte, truncated sequence, code point over U+10FFFF).
    #[error("invalid UTF-8 after percent-decoding at byte {offset}")]
    InvalidUtf8 {
        /// Where the first byte of the invalid sequence is written.
        offset: usize,
    },
    /// A control character (0x00-0x1F or 0x7F, NUL included), raw or percent-encoded.
    #[error("control character 0x{byte:02X} at byte {offset}")]
    ControlCharacter {
        /// Where it is written.
        offset: usize,
        /// The decoded byte.
        byte: u8,
    },
    /// An encoded slash `%2F`: it would hide a segment boundary from the router.
    #[error("encoded slash `%2F` at byte {offset}")]
    EncodedSlash {
        /// Where the `%` is.
        offset: usize,
    },
    /// A backslash, raw or `%5C`: some servers treat it as a slash.
    #[error("backslash at byte {offset}")]
    Backslash {
        /// Where it is written.
        offset: usize,
    },
    /// A raw `?` or `#`: the caller should have cut the query (and a fragment is never
    /// sent), so the input is more than a path.
    #[error("raw delimiter {:?} at byte {offset}", char::from(*byte))]
    Delimiter {
        /// Where it is.
        offset: usize,
        /// `?` or `#`.
        byte: u8,
    },
    /// A `..` segment that would climb above the root: a traversal attempt.
    #[error("`..` segment at byte {offset} climbs above the root")]
    Traversal {
        /// Where the `..` segment starts.
        offset: usize,
    },
    /// A `.` or `..` followed by matrix parameters (`..;x=1`): servers such as Tomcat strip
    /// the parameters and then treat it as a dot segment, a classic filter bypass.
    #[error("dot segment with `;` parameters at byte {offset}")]
    DotSegmentWithParameters {
        /// Where the segment starts.
        offset: usize,
    },
}

impl PathError {
    /// The byte offset in the input where the problem starts.
    pub fn offset(&self) -> usize {
        match *self {
            PathError::Empty { offset }
            | PathError::TooLong { offset, .. }
            | PathError::TooManySegments { offset, .. }
            | PathError::AsteriskForm { offset }
            | PathError::AbsoluteForm { offset }
            | PathError::MissingLeadingSlash { offset }
            | PathError::InvalidEscape { offset }
            | PathError::InvalidUtf8 { offset }
            | PathError::ControlCharacter { offset, .. }
            | PathError::EncodedSlash { offset }
            | PathError::Backslash { offset }
            | PathError::Delimiter { offset, .. }
            | PathError::Traversal { offset }
            | PathError::DotSegmentWithParameters { offset } => offset,
        }
    }

    /// A short, stable, snake_case code for the reason (`invalid_escape`, `traversal`...),
    /// for decision logs, metrics labels and problem responses.
    pub fn reason(&self) -> &'static str {
        match self {
            PathError::Empty { .. } => "empty",
            PathError::TooLong { .. } => "too_long",
            PathError::TooManySegments { .. } => "too_many_segments",
            PathError::AsteriskForm { .. } => "asterisk_form",
            PathError::AbsoluteForm { .. } => "absolute_form",
            PathError::MissingLeadingSlash { .. } => "missing_leading_slash",
            PathError::InvalidEscape { .. } => "invalid_escape",
            PathError::InvalidUtf8 { .. } => "invalid_utf8",
            PathError::ControlCharacter { .. } => "control_character",
            PathError::EncodedSlash { .. } => "encoded_slash",
            PathError::Backslash { .. } => "backslash",
            PathError::Delimiter { .. } => "delimiter",
            PathError::Traversal { .. } => "traversal",
            PathError::DotSegmentWithParameters { .. } => "dot_segment_with_parameters",
        }
    }
}
