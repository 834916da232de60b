//! The top-level modules of `src/` form no import cycle, and the layering docs/design.md
//! draws holds: `record` below `run` and `report`, `report` never importing `run`, `plan`
//! knowing nothing of the simulator, `analysis` pure. Read from the source itself: every
//! `crate::<module>` path (also inside `use crate::{…}` groups) in a module's files is an
//! edge from that module to `<module>`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Graph = BTreeMap<String, BTreeSet<String>>;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("src is readable")
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The top-level module a file belongs to (`src/run/case.rs` → `run`); `None` for the
/// crate root and the binary's files.
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (!matches!(name, "lib" | "main" | "cli")).then(|| name.to_string())
}

fn ident_at(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// Every module named right after `crate::`, including each path of a `crate::{…}` group.
fn crate_refs(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    // Comments may mention modules without importing them.
    let code: String = text
        .lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut rest = code.as_str();
    while let Some(i) = rest.find("crate::") {
        let after = &rest[i + "crate::".len()..];
        if let Some(group) = after.strip_prefix('{') {
            // Top-level items of the group: split on commas outside nested braces.
            let mut depth = 0;
            let mut start = 0;
            for (k, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        out.insert(ident_at(group[start..k].trim()).to_string());
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.insert(ident_at(group[start..k].trim()).to_string());
                        start = k + 1;
                    }
                    _ => {}
                }
            }
        } else {
            out.insert(ident_at(after).to_string());
        }
        rest = after;
    }
    out.retain(|m| !m.is_empty() && m.chars().next().is_some_and(|c| c.is_ascii_lowercase()));
    out
}

fn graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut g = Graph::new();
    for f in files {
        let Some(m) = module_of(&src, &f) else {
            continue;
        };
        let text = std::fs::read_to_string(&f).expect("source is readable");
        let deps = g.entry(m.clone()).or_default();
        for d in crate_refs(&text) {
            if d != m {
                deps.insert(d);
            }
        }
    }
    // Keep only edges to modules (crate-root items such as `crate::VERSION` are not).
    let modules: BTreeSet<String> = g.keys().cloned().collect();
    for deps in g.values_mut() {
        deps.retain(|d| modules.contains(d));
    }
    g
}

/// A cycle, as the modules along it, if there is one.
fn find_cycle(g: &Graph) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    fn visit(
        g: &Graph,
        m: &str,
        marks: &mut BTreeMap<String, Mark>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        marks.insert(m.to_string(), Mark::Open);
        path.push(m.to_string());
        for d in g.get(m).into_iter().flatten() {
            match marks.get(d).copied().unwrap_or(Mark::New) {
                Mark::Open => {
                    let from = path.iter().position(|p| p == d).unwrap_or(0);
                    let mut cycle = path[from..].to_vec();
                    cycle.push(d.clone());
                    return Some(cycle);
                }
                Mark::New => {
                    if let Some(c) = visit(g, d, marks, path) {
                        return Some(c);
                    }
                }
                Mark::Done => {}
            }
        }
        path.pop();
        marks.insert(m.to_string(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for m in g.keys() {
        if marks.get(m).copied().unwrap_or(Mark::New) == Mark::New {
            if let Some(c) = visit(g, m, &mut marks, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

fn show(g: &Graph) -> String {
    g.iter()
        .map(|(m, deps)| {
            format!(
                "{m} -> {}",
                deps.iter().cloned().collect::<Vec<_>>().join(", ")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_top_level_modules_form_no_import_cycle() {
    let g = graph();
    eprintln!("{}", show(&g));
    assert!(
        g.contains_key("run") && g.contains_key("record"),
        "{}",
        show(&g)
    );
    if let Some(c) = find_cycle(&g) {
        panic!("import cycle: {}\n\n{}", c.join(" -> "), show(&g));
    }
}

#[test]
fn the_layers_of_the_design_hold() {
    let g = graph();
    // (module, modules it must not import, why)
    let rules: [(&str, &[&str], &str); 9] = [
        ("report", &["run"], "report reads a run through record"),
        (
            "record",
            &["run", "report", "golden", "plan", "sim"],
            "record only keeps what it is given",
        ),
        (
            "plan",
            &["sim", "run", "instrument", "record", "report"],
            "plan files are data",
        ),
        (
            "analysis",
            &[
                "scanfile",
                "record",
                "run",
                "report",
                "golden",
                "instrument",
                "sim",
                "link",
                "util",
            ],
            "analysis is pure",
        ),
        (
            "golden",
            &["run", "report", "record", "instrument", "sim"],
            "golden judges, it does not run",
        ),
        (
            "instrument",
            &["run", "report", "record", "sim"],
            "drivers drive, they do not decide",
        ),
        (
            "history",
            &["run", "report", "merge", "golden", "sim", "instrument"],
            "the history reads runs through record",
        ),
        (
            "merge",
            &["run", "history", "golden", "sim", "instrument"],
            "a merge joins what the shards recorded",
        ),
        (
            "gate",
            &["run", "report", "sim", "instrument", "merge"],
            "the gate compares what runs recorded",
        ),
    ];
    let mut broken = Vec::new();
    for (m, forbidden, why) in rules {
        for d in g.get(m).into_iter().flatten() {
            if forbidden.contains(&d.as_str()) {
                broken.push(format!("{m} imports {d} ({why})"));
            }
        }
    }
    assert!(broken.is_empty(), "{}\n\n{}", broken.join("\n"), show(&g));
}

#[test]
fn the_reader_sees_groups_and_ignores_comments() {
    let refs = crate_refs(
        "use crate::{a::X, b, c::{d, e}};\n// crate::commented\nlet x = crate::f::g();\n",
    );
    assert_eq!(refs.into_iter().collect::<Vec<_>>(), ["a", "b", "c", "f"]);
    let mut g = Graph::new();
    g.entry("a".into()).or_default().insert("b".into());
    g.entry("b".into()).or_default().insert("a".into());
    assert_eq!(
        find_cycle(&g),
        Some(vec!["a".into(), "b".into(), "a".into()])
    );
    g.get_mut("b").expect("b").clear();
    assert_eq!(find_cycle(&g), None);
}
