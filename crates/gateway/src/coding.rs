//! Content codings (`Content-Encoding`: gzip, deflate, br), inflated within a cap. Shared by
//! the upstream's answers (read for the response checks) and clients' request bodies
//! (`server.limits.compressed_body: inflate`): a body is never inflated past the cap, so a
//! decompression bomb costs at most the cap.

use std::io::Read;

use bytes::Bytes;
use http::HeaderMap;
use http::header;

/// An inflated body this many times larger than its compressed size is a bomb.
pub(crate) const BOMB_RATIO: usize = 100;

/// A content coding the gateway can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Coding {
    Identity,
    Gzip,
    Deflate,
    Brotli,
}

/// The coding of a message from its `Content-Encoding` fields: `None` when it is one the
/// gateway cannot read, or several (`gzip, br`, or two fields).
pub(crate) fn coding_of(headers: &HeaderMap) -> Option<Coding> {
    let mut codings = headers.get_all(header::CONTENT_ENCODING).iter();
    let Some(value) = codings.next() else {
        return Some(Coding::Identity);
    };
    if codings.next().is_some() {
        return None;
    }
    match value.to_str().ok()?.trim().to_ascii_lowercase().as_str() {
        "identity" | "" => Some(Coding::Identity),
        "gzip" | "x-gzip" => Some(Coding::Gzip),
        "deflate" => Some(Coding::Deflate),
        "br" => Some(Coding::Brotli),
        _ => None,
    }
}

/// Why a body could not be inflated.
#[derive(Debug)]
pub(crate) enum Inflate {
    /// Not valid in its coding (the decoder's error).
    Invalid(String),
    /// It inflates past the cap; `used` compressed bytes had been read when the cap was
    /// reached. `bomb`: more than [`BOMB_RATIO`] times its compressed size.
    Over { used: usize, bomb: bool },
}

/// A reader that counts what the decoder consumed.
struct Counting<'a> {
    data: &'a [u8],
    consumed: std::rc::Rc<std::cell::Cell<usize>>,
}

impl Read for Counting<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.data.read(buf)?;
        self.consumed.set(self.consumed.get() + n);
        Ok(n)
    }
}

/// Inflates `data` within `max` bytes (never holding more than `max + 1`).
pub(crate) fn inflate(data: &Bytes, coding: Coding, max: usize) -> Result<Bytes, Inflate> {
    let consumed = std::rc::Rc::new(std::cell::Cell::new(0usize));
    // Small reads, so that what was consumed when the cap is reached is close to what it took.
    let input = std::io::BufReader::with_capacity(
        512,
        Counting {
            data: data.as_ref(),
            consumed: consumed.clone(),
        },
    );
    let reader: Box<dyn Read + '_> = match coding {
        Coding::Identity => return Ok(data.clone()),
        Coding::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(input)),
        Coding::Deflate => {
            // `deflate` is zlib-wrapped by the RFC, raw in some servers: try both.
            if data.first().is_some_and(|b| b & 0x0f == 8) {
                Box::new(flate2::bufread::ZlibDecoder::new(input))
            } else {
                Box::new(flate2::bufread::DeflateDecoder::new(input))
            }
        }
        Coding::Brotli => Box::new(brotli_decompressor::Decompressor::new(input, 512)),
    };
    let mut out = Vec::new();
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    reader
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| Inflate::Invalid(e.to_string()))?;
    if out.len() > max {
        let used = consumed.get().max(1);
        return Err(Inflate::Over {
            used,
            bomb: out.len() / used > BOMB_RATIO,
        });
    }
    Ok(Bytes::from(out))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Write;

    /// `data` gzip-compressed (also for the response stage's tests).
    pub(crate) fn gzip(data: &[u8]) -> Bytes {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        Bytes::from(e.finish().unwrap())
    }

    #[test]
    fn bodies_inflate_within_the_cap_and_bombs_are_told_apart() {
        let doc = br#"{"a":"hello"}"#;
        assert_eq!(inflate(&gzip(doc), Coding::Gzip, 1024).unwrap(), &doc[..]);
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(doc).unwrap();
        let z = Bytes::from(z.finish().unwrap());
        assert_eq!(inflate(&z, Coding::Deflate, 1024).unwrap(), &doc[..]);
        // 10 MB of zeros compress to about 10 KB: inflating stops at the cap.
        let bomb = gzip(&vec![0u8; 10 << 20]);
        assert!(matches!(
            inflate(&bomb, Coding::Gzip, 64 << 10),
            Err(Inflate::Over { bomb: true, .. })
        ));
        // Over the cap without being a bomb.
        let random: Vec<u8> = (0..4096u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        assert!(matches!(
            inflate(&gzip(&random), Coding::Gzip, 2048),
            Err(Inflate::Over { bomb: false, .. })
        ));
        assert!(matches!(
            inflate(&Bytes::from_static(b"not gzip"), Coding::Gzip, 1024),
            Err(Inflate::Invalid(_))
        ));
    }

    #[test]
    fn codings_are_read_from_the_fields() {
        let of = |values: &[&str]| {
            let mut h = HeaderMap::new();
            for v in values {
                h.append(header::CONTENT_ENCODING, v.parse().unwrap());
            }
            coding_of(&h)
        };
        assert_eq!(of(&[]), Some(Coding::Identity));
        assert_eq!(of(&["GZIP"]), Some(Coding::Gzip));
        assert_eq!(of(&["x-gzip"]), Some(Coding::Gzip));
        assert_eq!(of(&["br"]), Some(Coding::Brotli));
        assert_eq!(of(&["deflate"]), Some(Coding::Deflate));
        assert_eq!(of(&["zstd"]), None);
        assert_eq!(of(&["gzip, br"]), None);
        assert_eq!(of(&["gzip", "gzip"]), None);
    }
}
