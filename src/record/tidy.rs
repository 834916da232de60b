//! What a killed process leaves in a run directory that is nobody's record: the temp files
//! of the atomic writer (`.<name>.tmp-<pid>`) it was writing when it died.
//!
//! Owns telling those from everything else and removing them. Must not remove anything
//! else (a user's file, whatever its name, a folder, a link or what a link points to), nor
//! run while another process may write into the directory: the caller holds its lock.

use crate::util::fsio::{process_alive, temp_writer};
use std::path::{Path, PathBuf};

/// Removes the atomic writer's temp files in run directory `dir` (walked without following
/// links) whose writer is dead: its pid is not a running process, or is one of `dead`
/// (pids of earlier processes of this directory that have ended, which the system may have
/// given to another process since). Only regular files named as such temp files are
/// removed. Returns what was removed, relative to `dir`.
pub fn remove_dead_temps(dir: &Path, dead: &[u32]) -> Vec<PathBuf> {
    let mut stale = Vec::new();
    super::manifest::visit(dir, &mut |entry| {
        if !entry.kind.is_file() {
            return;
        }
        let Some(pid) = entry.path.file_name().and_then(temp_writer) else {
            return;
        };
        if dead.contains(&pid) || !process_alive(pid) {
            stale.push(entry.rel.to_path_buf());
        }
    });
    stale.sort();
    let mut removed = Vec::new();
    for rel in stale {
        let path = dir.join(&rel);
        // Still the regular file it was when the walk met it.
        let regular = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file());
        if !regular {
            continue;
        }
        match std::fs::remove_file(&path) {
            Ok(()) => {
                tracing::info!(path = %path.display(), "removed a temp file a dead process left");
                removed.push(rel);
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot remove a dead process's temp file")
            }
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_temp_files_of_dead_writers_go() {
        let dir = tempfile::tempdir().expect("tmp");
        let run = dir.path();
        std::fs::create_dir_all(run.join("cases/a")).expect("mkdir");
        let mut child = std::process::Command::new("true").spawn().expect("spawn");
        let gone = child.id();
        child.wait().expect("reaped");
        let me = std::process::id();
        let files = [
            (format!("cases/a/.scan.png.tmp-{gone}"), false),
            (format!(".summary.json.tmp-{gone}"), false),
            // A live writer's, unless it is named as an earlier process of the run.
            (format!("cases/a/.thumb.png.tmp-{me}"), true),
            // Lookalikes.
            (format!("summary.json.tmp-{gone}"), true),
            (format!("cases/a/.notes.tmp-{gone}x"), true),
            ("cases/a/.notes.tmp-".to_string(), true),
        ];
        for (f, _) in &files {
            std::fs::write(run.join(f), "x").expect("write");
        }
        // A folder named like a temp file, and a link to a file outside.
        std::fs::create_dir(run.join(format!(".d.tmp-{gone}"))).expect("mkdir");
        let outside = dir.path().join("outside");
        std::fs::create_dir(&outside).expect("mkdir");
        std::fs::write(outside.join("keep"), "k").expect("write");
        std::os::unix::fs::symlink(outside.join("keep"), run.join(format!(".l.tmp-{gone}")))
            .expect("link");
        let removed = remove_dead_temps(run, &[]);
        assert_eq!(removed.len(), 2, "{removed:?}");
        for (f, stays) in &files {
            assert_eq!(run.join(f).exists(), *stays, "{f}");
        }
        assert!(run.join(format!(".d.tmp-{gone}")).is_dir());
        assert!(std::fs::symlink_metadata(run.join(format!(".l.tmp-{gone}"))).is_ok());
        assert!(outside.join("keep").is_file());
        // Named as an earlier process of the run: its pid running now is another process.
        let removed = remove_dead_temps(run, &[me]);
        assert_eq!(
            removed,
            [PathBuf::from(format!("cases/a/.thumb.png.tmp-{me}"))]
        );
    }
}
