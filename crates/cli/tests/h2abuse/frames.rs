//! Raw HTTP/2 for the abuse tests: frames written byte by byte (so that a test can send what
//! no client library would), a reader thread collecting what the gateway answers, and the few
//! HPACK encodings the tests need (RFC 9113, RFC 7541).
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use super::support::PATIENCE;

pub const DATA: u8 = 0;
pub const HEADERS: u8 = 1;
pub const RST_STREAM: u8 = 3;
pub const SETTINGS: u8 = 4;
pub const GOAWAY: u8 = 7;
pub const CONTINUATION: u8 = 9;

pub const END_STREAM: u8 = 0x1;
pub const ACK: u8 = 0x1;
pub const END_HEADERS: u8 = 0x4;

pub const SETTINGS_HEADER_TABLE_SIZE: u16 = 0x1;
pub const SETTINGS_MAX_CONCURRENT_STREAMS: u16 = 0x3;

pub const PROTOCOL_ERROR: u32 = 0x1;
pub const REFUSED_STREAM: u32 = 0x7;
pub const ENHANCE_YOUR_CALM: u32 = 0xb;
pub const COMPRESSION_ERROR: u32 = 0x9;

/// One frame.
#[derive(Clone, Debug)]
pub struct Frame {
    pub kind: u8,
    pub flags: u8,
    pub stream: u32,
    pub payload: Vec<u8>,
}

impl Frame {
    pub fn new(kind: u8, flags: u8, stream: u32, payload: Vec<u8>) -> Frame {
        Frame {
            kind,
            flags,
            stream,
            payload,
        }
    }

    /// A whole header block in one HEADERS frame.
    pub fn headers(stream: u32, end_stream: bool, block: &[u8]) -> Frame {
        let flags = END_HEADERS | if end_stream { END_STREAM } else { 0 };
        Frame::new(HEADERS, flags, stream, block.to_vec())
    }

    fn bytes(&self) -> Vec<u8> {
        let len = self.payload.len();
        let mut out = vec![
            (len >> 16) as u8,
            (len >> 8) as u8,
            len as u8,
            self.kind,
            self.flags,
        ];
        out.extend_from_slice(&(self.stream & 0x7fff_ffff).to_be_bytes());
        out.extend_from_slice(&self.payload);
        out
    }

    fn u32_at(&self, at: usize) -> u32 {
        u32::from_be_bytes(self.payload[at..at + 4].try_into().unwrap())
    }
}

/// How a connection ended.
#[derive(Debug, PartialEq)]
pub enum Ended {
    /// The gateway sent GOAWAY with this error code.
    GoAway(u32),
    /// The gateway closed (or reset) the connection without a GOAWAY.
    Closed,
    /// Still open after [`PATIENCE`].
    Open,
}

/// What became of one stream.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    /// Answered with this status (0: a status this decoder does not read).
    Status(u16),
    /// Reset by the gateway with this error code.
    Reset(u32),
    /// The connection ended.
    Ended(Ended),
}

enum Event {
    Frame(Frame),
    End,
}

/// A client connection speaking raw HTTP/2.
pub struct Conn {
    stream: TcpStream,
    events: Receiver<Event>,
    seen: Vec<Frame>,
    ended: bool,
}

impl Conn {
    /// On a new connection to the gateway (cleartext or TLS, [`super::transport`]): sends the
    /// preface and empty SETTINGS, and waits for the gateway's SETTINGS.
    pub fn open(stream: TcpStream) -> Conn {
        Conn::open_with_settings(stream, &[])
    }

    /// [`Conn::open`] announcing `settings`.
    pub fn open_with_settings(stream: TcpStream, settings: &[(u16, u32)]) -> Conn {
        stream.set_write_timeout(Some(PATIENCE)).unwrap();
        let mut reader = stream.try_clone().unwrap();
        let (tx, events) = channel();
        std::thread::spawn(move || {
            let mut header = [0u8; 9];
            loop {
                if reader.read_exact(&mut header).is_err() {
                    let _ = tx.send(Event::End);
                    return;
                }
                let len = (usize::from(header[0]) << 16)
                    | (usize::from(header[1]) << 8)
                    | usize::from(header[2]);
                let mut payload = vec![0u8; len];
                if reader.read_exact(&mut payload).is_err() {
                    let _ = tx.send(Event::End);
                    return;
                }
                let stream = u32::from_be_bytes(header[5..9].try_into().unwrap()) & 0x7fff_ffff;
                if tx
                    .send(Event::Frame(Frame::new(
                        header[3], header[4], stream, payload,
                    )))
                    .is_err()
                {
                    return;
                }
            }
        });
        let mut conn = Conn {
            stream,
            events,
            seen: Vec::new(),
            ended: false,
        };
        let mut payload = Vec::new();
        for (id, value) in settings {
            payload.extend_from_slice(&id.to_be_bytes());
            payload.extend_from_slice(&value.to_be_bytes());
        }
        conn.stream
            .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
            .unwrap();
        conn.send(&Frame::new(SETTINGS, 0, 0, payload));
        let settings = conn.wait_for(|f| f.kind == SETTINGS && f.flags & ACK == 0);
        assert!(settings.is_some(), "no SETTINGS from the gateway");
        conn.send(&Frame::new(SETTINGS, ACK, 0, Vec::new()));
        conn
    }

    /// Sends a frame; fails the test when it cannot.
    pub fn send(&mut self, frame: &Frame) {
        self.stream.write_all(&frame.bytes()).unwrap();
    }

    /// Sends a frame; false when the connection no longer takes it (closed, or not read for
    /// [`PATIENCE`]).
    pub fn try_send(&mut self, frame: &Frame) -> bool {
        self.stream.write_all(&frame.bytes()).is_ok()
    }

    /// Collects frames until one satisfies `wanted` (returned), the connection ends, or
    /// [`PATIENCE`] passes.
    fn wait_for(&mut self, wanted: impl Fn(&Frame) -> bool) -> Option<Frame> {
        if let Some(f) = self.seen.iter().find(|f| wanted(f)) {
            return Some(f.clone());
        }
        let deadline = Instant::now() + PATIENCE;
        while !self.ended {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left.max(Duration::from_millis(1))) {
                Ok(Event::Frame(f)) => {
                    let hit = wanted(&f);
                    self.seen.push(f.clone());
                    if hit {
                        return Some(f);
                    }
                }
                Ok(Event::End) | Err(RecvTimeoutError::Disconnected) => self.ended = true,
                Err(RecvTimeoutError::Timeout) => return None,
            }
        }
        None
    }

    /// The value the gateway's first SETTINGS gave `id`.
    pub fn server_setting(&self, id: u16) -> Option<u32> {
        let settings = self
            .seen
            .iter()
            .find(|f| f.kind == SETTINGS && f.flags & ACK == 0)?;
        settings.payload.chunks(6).find_map(|c| {
            (u16::from_be_bytes([c[0], c[1]]) == id)
                .then(|| u32::from_be_bytes(c[2..6].try_into().unwrap()))
        })
    }

    fn goaway(&self) -> Option<u32> {
        self.seen
            .iter()
            .find(|f| f.kind == GOAWAY)
            .map(|f| f.u32_at(4))
    }

    /// How the connection ends: waits (up to [`PATIENCE`]) for a GOAWAY or the close.
    pub fn finish(&mut self) -> Ended {
        let _ = self.stream.shutdown(std::net::Shutdown::Write);
        self.wait_for(|f| f.kind == GOAWAY);
        match self.goaway() {
            Some(code) => Ended::GoAway(code),
            None if self.ended => Ended::Closed,
            None => Ended::Open,
        }
    }

    /// The status the gateway answered on `stream`; `None` when it did not answer.
    pub fn await_headers(&mut self, stream: u32) -> Option<u16> {
        match self.await_outcome(stream) {
            Outcome::Status(s) => Some(s),
            _ => None,
        }
    }

    /// What became of `stream`: an answer, a reset, or the connection's end.
    pub fn await_outcome(&mut self, stream: u32) -> Outcome {
        let f = self.wait_for(|f| {
            (f.stream == stream && (f.kind == HEADERS || f.kind == RST_STREAM)) || f.kind == GOAWAY
        });
        match f {
            Some(f) if f.kind == HEADERS => Outcome::Status(hpack::status(&f.payload)),
            Some(f) if f.kind == RST_STREAM => Outcome::Reset(f.u32_at(0)),
            Some(f) => Outcome::Ended(Ended::GoAway(f.u32_at(4))),
            None if self.ended => Outcome::Ended(Ended::Closed),
            None => Outcome::Ended(Ended::Open),
        }
    }

    /// Waits until `n` streams were reset with `code` (or the connection ended, or
    /// [`PATIENCE`] passed); how many were.
    pub fn await_resets(&mut self, n: u32, code: u32) -> u32 {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let count = self
                .seen
                .iter()
                .filter(|f| f.kind == RST_STREAM && f.u32_at(0) == code)
                .count() as u32;
            let left = deadline.saturating_duration_since(Instant::now());
            if count >= n || self.ended || left.is_zero() {
                return count;
            }
            match self.events.recv_timeout(left) {
                Ok(Event::Frame(f)) => self.seen.push(f),
                Ok(Event::End) | Err(RecvTimeoutError::Disconnected) => self.ended = true,
                Err(RecvTimeoutError::Timeout) => return count,
            }
        }
    }
}

/// The HPACK encodings the tests use.
pub mod hpack {
    /// An integer with an `n`-bit prefix after the bits `flags` (RFC 7541, section 5.1).
    pub fn int(out: &mut Vec<u8>, flags: u8, n: u32, value: usize) {
        let max = (1usize << n) - 1;
        if value < max {
            out.push(flags | value as u8);
            return;
        }
        out.push(flags | max as u8);
        let mut rest = value - max;
        while rest >= 128 {
            out.push((rest % 128) as u8 | 0x80);
            rest /= 128;
        }
        out.push(rest as u8);
    }

    fn string(out: &mut Vec<u8>, s: &[u8]) {
        int(out, 0, 7, s.len());
        out.extend_from_slice(s);
    }

    /// `method path` to authority `h`, scheme http.
    pub fn request(method: &str, path: &str) -> Vec<u8> {
        let mut out = vec![if method == "GET" { 0x82 } else { 0x83 }, 0x86];
        // :path, a literal without indexing with the static name 4.
        out.push(0x04);
        string(&mut out, path.as_bytes());
        // :authority (static name 1).
        out.push(0x01);
        string(&mut out, b"h");
        out
    }

    /// `GET path`.
    pub fn get(path: &str) -> Vec<u8> {
        request("GET", path)
    }

    /// About `size` bytes of distinct literal header fields (new names, not indexed).
    pub fn literal_fields(size: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let mut i = 0;
        while out.len() + 1100 < size {
            out.push(0x00);
            string(&mut out, format!("x-flood-{i}").as_bytes());
            string(&mut out, &[b'a'; 1000]);
            i += 1;
        }
        out
    }

    /// `GET path` adding a field `x-big` of `n` bytes to the dynamic table.
    pub fn with_big_entry(path: &str, n: usize) -> Vec<u8> {
        let mut out = get(path);
        out.push(0x40);
        string(&mut out, b"x-big");
        string(&mut out, &vec![b'a'; n]);
        out
    }

    /// `GET path` referencing the newest dynamic table entry `times` times.
    pub fn referencing_entry(path: &str, times: usize) -> Vec<u8> {
        let mut out = get(path);
        out.extend(std::iter::repeat_n(0x80 | 62, times));
        out
    }

    /// A dynamic table size update to `size`.
    pub fn table_size_update(size: usize) -> Vec<u8> {
        let mut out = Vec::new();
        int(&mut out, 0x20, 5, size);
        out
    }

    /// The `:status` of a response header block when it is a static-table entry (as every
    /// status hyper sends often is) or a plain literal; 0 otherwise.
    pub fn status(block: &[u8]) -> u16 {
        match block.first() {
            Some(0x88) => 200,
            Some(0x89) => 204,
            Some(0x8a) => 206,
            Some(0x8b) => 304,
            Some(0x8c) => 400,
            Some(0x8d) => 404,
            Some(0x8e) => 500,
            // A literal with the static name 8 (:status), not Huffman-coded.
            Some(0x08 | 0x48) if block.get(1).is_some_and(|l| l & 0x80 == 0) => {
                let len = usize::from(block[1]);
                std::str::from_utf8(&block[2..2 + len])
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0)
            }
            _ => 0,
        }
    }
}
