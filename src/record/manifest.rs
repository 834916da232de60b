//! Artifact hashes and the manifest: what the journal says the rig wrote (size, sha256,
//! when), and `manifest.sha256`, the hash of every file in a run directory.
//!
//! Reads files and hashes them; writes nothing (the caller writes the manifest).

use super::journal;
use super::layout::MANIFEST;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// What the journal says the rig wrote to a path: the size and sha256 of the bytes, and
/// when (after the write).
#[derive(Debug, Clone)]
pub struct Recorded {
    pub bytes: u64,
    pub sha256: String,
    pub at: SystemTime,
}

/// The latest journal record of every artifact path (a later attempt rewrites a case's
/// files and records them again).
pub fn recorded_artifacts(events: &[journal::Event]) -> HashMap<String, Recorded> {
    let mut out = HashMap::new();
    for e in events {
        if let journal::Event::Artifact {
            time,
            path,
            sha256,
            bytes,
            ..
        } = e
        {
            let Ok(at) = OffsetDateTime::parse(time, &Rfc3339) else {
                out.remove(path);
                continue;
            };
            out.insert(
                path.clone(),
                Recorded {
                    bytes: *bytes,
                    sha256: sha256.clone(),
                    at: at.into(),
                },
            );
        }
    }
    out
}

/// sha256 of every file in the run directory (but the manifest itself and temp files).
pub fn manifest(dir: &Path) -> String {
    manifest_with(dir, &HashMap::new())
}

/// Something in a run directory the manifest did not read: a symlink, FIFO, device or
/// socket (never followed or opened), or a file that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Skipped {
    /// Relative to the run directory.
    pub path: String,
    /// `symlink`, `FIFO`, `device`, `socket`, or why it could not be read.
    pub why: String,
}

/// The regular files of a run directory (relative name, path), sorted, but the manifest
/// itself and dot files (temp files, the lock); and what was skipped. Symlinks are never
/// followed (a loop or a link to `/dev/zero` costs nothing), FIFOs and devices never
/// opened.
pub fn walk(dir: &Path) -> (Vec<(String, PathBuf)>, Vec<Skipped>) {
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    visit(dir, &mut |entry| {
        let name = entry.rel.to_string_lossy().to_string();
        if entry.kind.is_file() {
            let base = entry.path.file_name().unwrap_or_default().to_string_lossy();
            if name != MANIFEST && !base.starts_with('.') {
                files.push((name, entry.path.to_path_buf()));
            }
        } else {
            skipped.push(Skipped {
                path: name,
                why: crate::util::fsio::kind_of(&entry.kind).into(),
            });
        }
    });
    files.sort();
    skipped.sort_by(|a, b| a.path.cmp(&b.path));
    (files, skipped)
}

/// Something in a run directory, as [`visit`] meets it.
pub(crate) struct Entry<'a> {
    /// Relative to the run directory.
    pub rel: &'a Path,
    pub path: &'a Path,
    /// The entry's own type: a symlink is a symlink, not what it points to.
    pub kind: std::fs::FileType,
}

/// Every entry of a run directory's tree but its folders, each handed to `f`, descending
/// into folders only (never through a symlink, never opening a FIFO or device).
pub(crate) fn visit(dir: &Path, f: &mut dyn FnMut(&Entry<'_>)) {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let Ok(rel) = p.strip_prefix(dir) else {
                continue;
            };
            let Ok(kind) = e.file_type() else {
                continue;
            };
            if kind.is_dir() {
                stack.push(p);
            } else {
                f(&Entry {
                    rel,
                    path: &p,
                    kind,
                });
            }
        }
    }
}

/// What was planted in a run directory: every symlink, FIFO, device or socket in it but
/// the pty links a simulated station makes (`stations/<name>/printer.tty`). A run or a
/// resume refuses to start in a directory holding any, so that nothing it writes or
/// deletes can leave the directory through a link.
pub fn planted(dir: &Path) -> Vec<Skipped> {
    walk(dir)
        .1
        .into_iter()
        .filter(|s| {
            let parts: Vec<&str> = s.path.split('/').collect();
            !(s.why == "symlink" && matches!(parts.as_slice(), ["stations", _, "printer.tty"]))
        })
        .collect()
}

/// [`manifest`], taking the hash the journal recorded for an artifact whose file still has
/// the recorded size and has not been modified since the record: scans and overlays are
/// hashed once, when they are written, not again for the manifest. Any other file is read
/// and hashed.
pub fn manifest_with(dir: &Path, recorded: &HashMap<String, Recorded>) -> String {
    manifest_listing(dir, recorded).0
}

/// [`manifest_with`] and what it skipped ([`walk`]).
pub fn manifest_listing(
    dir: &Path,
    recorded: &HashMap<String, Recorded>,
) -> (String, Vec<Skipped>) {
    let (files, mut skipped) = walk(dir);
    let unchanged = |name: &str, p: &Path| -> Option<&str> {
        let r = recorded.get(name)?;
        let meta = std::fs::symlink_metadata(p).ok()?;
        (meta.is_file() && meta.len() == r.bytes && meta.modified().ok()? <= r.at)
            .then_some(r.sha256.as_str())
    };
    let mut s = String::new();
    for (name, p) in files {
        if let Some(hash) = unchanged(&name, &p) {
            s.push_str(&format!("{hash}  {name}\n"));
            continue;
        }
        match crate::util::fsio::open_regular(&p).and_then(crate::util::sha256_reader) {
            Ok(hash) => s.push_str(&format!("{hash}  {name}\n")),
            Err(e) => skipped.push(Skipped {
                path: name,
                why: e.to_string(),
            }),
        }
    }
    (s, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_manifest_takes_recorded_hashes_only_for_unchanged_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        std::fs::create_dir_all(d.join("cases/a")).expect("mkdir");
        for (name, body) in [("cases/a/scan.png", "scan"), ("cases/a/x.json", "{}")] {
            std::fs::write(d.join(name), body).expect("write");
        }
        std::fs::write(d.join("journal.ndjson"), "j").expect("write");
        let later = SystemTime::now() + Duration::from_secs(3600);
        let rec = |bytes: u64, at: SystemTime| Recorded {
            bytes,
            sha256: "recorded".into(),
            at,
        };
        let mut recorded = HashMap::new();
        // Unchanged since recorded: the recorded hash.
        recorded.insert("cases/a/scan.png".to_string(), rec(4, later));
        // Another size, or written after the record: hashed again.
        recorded.insert("cases/a/x.json".to_string(), rec(3, later));
        recorded.insert("journal.ndjson".to_string(), rec(1, SystemTime::UNIX_EPOCH));
        let m = manifest_with(d, &recorded);
        let plain = manifest(d);
        let hash = |body: &str| crate::util::sha256_hex(body.as_bytes());
        assert_eq!(
            m,
            format!(
                "recorded  cases/a/scan.png\n{}  cases/a/x.json\n{}  journal.ndjson\n",
                hash("{}"),
                hash("j")
            )
        );
        assert_eq!(
            plain,
            format!(
                "{}  cases/a/scan.png\n{}  cases/a/x.json\n{}  journal.ndjson\n",
                hash("scan"),
                hash("{}"),
                hash("j")
            )
        );
    }

    #[test]
    fn links_fifos_and_loops_are_listed_never_followed_or_opened() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        std::fs::create_dir_all(d.join("stations/a")).expect("mkdir");
        std::fs::write(d.join("journal.ndjson"), "j").expect("write");
        let fifo = std::ffi::CString::new(d.join("stations/a/fifo").to_str().expect("utf8"))
            .expect("c path");
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
        std::os::unix::fs::symlink("/dev/zero", d.join("zero")).expect("link");
        std::os::unix::fs::symlink(d, d.join("stations/loop")).expect("loop");
        std::os::unix::fs::symlink(d.join("stations"), d.join("stations/a/up")).expect("loop");
        let (m, skipped) = manifest_listing(d, &HashMap::new());
        assert_eq!(
            m,
            format!("{}  journal.ndjson\n", crate::util::sha256_hex(b"j"))
        );
        let listed: Vec<(&str, &str)> = skipped
            .iter()
            .map(|s| (s.path.as_str(), s.why.as_str()))
            .collect();
        assert_eq!(
            listed,
            [
                ("stations/a/fifo", "FIFO"),
                ("stations/a/up", "symlink"),
                ("stations/loop", "symlink"),
                ("zero", "symlink")
            ]
        );
    }

    #[test]
    fn the_latest_record_of_a_path_counts() {
        let art = |time: &str, sha: &str| journal::Event::Artifact {
            time: time.into(),
            case: "c".into(),
            attempt: 1,
            path: "cases/c/scan.png".into(),
            sha256: sha.into(),
            bytes: 9,
        };
        let r = recorded_artifacts(&[
            art("2026-11-24T04:00:00.000001Z", "first"),
            art("2026-11-24T04:00:01.5Z", "second"),
        ]);
        let got = r.get("cases/c/scan.png").expect("recorded");
        assert_eq!(got.sha256, "second");
        let want: SystemTime = OffsetDateTime::parse("2026-11-24T04:00:01.5Z", &Rfc3339)
            .expect("time")
            .into();
        assert_eq!(got.at, want);
        // A record whose time does not parse is not trusted.
        let r = recorded_artifacts(&[art("2026-11-24T04:00:00Z", "a"), art("yesterday", "b")]);
        assert!(r.is_empty());
    }
}
