//! Where something is in a station or plan file, and the errors that say so.
//!
//! Owns [`Location`] and [`Declared`] (file, 1-based line and column), [`PlanError`], [`PlanErrors`] and the
//! conversion of byte offsets into lines and columns. It must not read files or know the
//! shape of either file format.

use std::fmt;
use std::path::{Path, PathBuf};

/// A position in a file: 1-based line, 1-based column counted in characters.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Location {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// A value as a file declares it, with where it was written, so that whoever checks it
/// later (the simulator, for a sim station's parameters) can name the place.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Declared<T> {
    pub value: T,
    pub at: Location,
}

impl<T> Declared<T> {
    /// An error about this value: `what: message` at its place.
    pub fn error(&self, what: &str, message: impl std::fmt::Display) -> PlanError {
        PlanError::at(self.at.clone(), format!("{what}: {message}"))
    }
}

/// One problem with a station or plan file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PlanError {
    /// Where the problem is; `None` when it concerns the whole file (unreadable, empty).
    pub location: Option<Location>,
    pub message: String,
    /// The file the error is about (also in `location` when there is one).
    pub file: PathBuf,
}

impl PlanError {
    /// An error at a position.
    pub fn at(location: Location, message: impl Into<String>) -> PlanError {
        PlanError {
            file: location.file.clone(),
            location: Some(location),
            message: message.into(),
        }
    }

    /// An error about a whole file.
    pub fn file(file: &Path, message: impl Into<String>) -> PlanError {
        PlanError {
            location: None,
            message: message.into(),
            file: file.to_path_buf(),
        }
    }
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Some(loc) => write!(f, "{loc}: {}", self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

/// Every problem found in a file (never empty when returned as an error), in file order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PlanErrors(pub Vec<PlanError>);

impl PlanErrors {
    /// The exit code of a command that stops on invalid station or plan files.
    pub const EXIT_CODE: i32 = 2;

    /// Sorts by position (errors about the whole file first) and drops repeats.
    pub(crate) fn sorted(mut errors: Vec<PlanError>) -> PlanErrors {
        errors.sort_by(|a, b| {
            let key = |e: &PlanError| e.location.as_ref().map(|l| (l.line, l.column));
            key(a).cmp(&key(b))
        });
        errors.dedup();
        PlanErrors(errors)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, PlanError> {
        self.0.iter()
    }
}

impl fmt::Display for PlanErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl From<PlanError> for PlanErrors {
    fn from(e: PlanError) -> Self {
        PlanErrors(vec![e])
    }
}

/// Turns byte offsets of one file's text into [`Location`]s.
#[derive(Debug, Clone)]
pub(crate) struct LineIndex<'s> {
    file: PathBuf,
    text: &'s str,
    /// Byte offset of the first character of every line.
    starts: Vec<usize>,
}

impl<'s> LineIndex<'s> {
    pub(crate) fn new(file: &Path, text: &'s str) -> LineIndex<'s> {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        LineIndex {
            file: file.to_path_buf(),
            text,
            starts,
        }
    }

    pub(crate) fn file(&self) -> &Path {
        &self.file
    }

    /// The location of a byte offset (clamped to the text; an offset inside a character
    /// counts as that character).
    pub(crate) fn locate(&self, offset: usize) -> Location {
        let offset = offset.min(self.text.len());
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let start = self.starts.get(line - 1).copied().unwrap_or(0);
        let column = self
            .text
            .get(start..)
            .unwrap_or("")
            .char_indices()
            .take_while(|(i, _)| start + i < offset)
            .count()
            + 1;
        Location {
            file: self.file.clone(),
            line,
            column,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_become_one_based_lines_and_character_columns() {
        let text = "a = 1\nname = \"é\" # x\n\nlast";
        let idx = LineIndex::new(Path::new("f.toml"), text);
        let at = |o| {
            let l = idx.locate(o);
            (l.line, l.column)
        };
        assert_eq!(at(0), (1, 1));
        assert_eq!(at(4), (1, 5));
        assert_eq!(at(5), (1, 6), "the newline itself is on line 1");
        assert_eq!(at(6), (2, 1));
        // "é" is two bytes: the '"' after it is at byte 6 + 10 but in column 10.
        assert_eq!(&text[16..17], "\"");
        assert_eq!(at(16), (2, 10));
        assert_eq!(at(text.len() - 4), (4, 1));
        assert_eq!(at(text.len() + 100), (4, 5), "clamped to the end");
    }

    #[test]
    fn errors_display_with_and_without_a_location() {
        let idx = LineIndex::new(Path::new("p.toml"), "x\ny = 2\n");
        let e = PlanError::at(idx.locate(4), "bad value");
        assert_eq!(e.to_string(), "p.toml:2:3: bad value");
        let f = PlanError::file(Path::new("p.toml"), "cannot read");
        assert_eq!(f.to_string(), "p.toml: cannot read");
        let all = PlanErrors::sorted(vec![e.clone(), f.clone(), e.clone()]);
        assert_eq!(
            all.to_string(),
            "p.toml: cannot read\np.toml:2:3: bad value"
        );
    }
}
