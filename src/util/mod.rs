//! Small helpers shared by every module: a deterministic random source, atomic file
//! writes, digests, outside text made safe to show. Nothing here knows about printers.

pub mod base64;
pub mod clock;
pub mod compute;
pub mod fsio;
pub mod rng;
pub mod text;

pub use text::{printable, printable_lines};

use sha2::Digest;

/// An error and its sources on one line, `outer: inner: …`, for journals and reports.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        let t = inner.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        src = inner.source();
    }
    s
}

/// SHA-256 of some bytes, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&sha2::Sha256::digest(bytes))
}

/// SHA-256 of a file's contents, lowercase hex, read in blocks rather than whole.
pub fn sha256_file(path: &std::path::Path) -> std::io::Result<String> {
    sha256_reader(std::fs::File::open(path)?)
}

/// SHA-256 of everything a reader gives, lowercase hex, read in blocks.
pub fn sha256_reader(mut r: impl std::io::Read) -> std::io::Result<String> {
    let mut h = sha2::Sha256::new();
    std::io::copy(&mut r, &mut h)?;
    Ok(hex(&h.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ABC: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    #[test]
    fn sha256_is_lowercase_hex() {
        assert_eq!(sha256_hex(b"abc"), ABC);
    }

    #[test]
    fn a_file_streamed_hashes_like_its_bytes() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("abc");
        std::fs::write(&p, b"abc").expect("write");
        assert_eq!(sha256_file(&p).expect("hash"), ABC);
        // More than one read block.
        let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&p, &big).expect("write");
        assert_eq!(sha256_file(&p).expect("hash"), sha256_hex(&big));
        assert!(sha256_file(&dir.path().join("missing")).is_err());
    }
}
