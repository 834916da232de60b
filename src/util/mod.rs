//! Small helpers shared by every module: a deterministic random source and atomic file
//! writes. Nothing here knows about printers.

pub mod base64;
pub mod clock;
pub mod fsio;
pub mod rng;

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
