//! The farm examples of docs/ci.md (docs/ci/*.yml) stay true to the `rig` they call: each
//! file parses as YAML, and every `rig` command in its scripts parses with the arguments
//! `rig` takes today (the same parser the binary uses), its shard argument included.

#[allow(dead_code)]
#[path = "../src/cli.rs"]
mod cli;

use clap::Parser;
use std::process::Command;

/// Parses a CI file with Python's YAML parser and prints every shell command line of its
/// scripts (GitHub's `run`, GitLab's `script`, `before_script`, `after_script`), split as
/// the shell splits it, with the CI's variables given example values. JSON out.
const EXTRACT: &str = r##"
import json, re, shlex, sys, yaml
doc = yaml.safe_load(open(sys.argv[1], encoding="utf-8"))
values = {"${{ matrix.shard }}": "1", "$CI_NODE_INDEX": "1", "$CI_NODE_TOTAL": "3"}
lines = []
def script(text):
    for line in str(text).replace("\\\n", " ").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            lines.append(line)
def walk(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "run" and isinstance(v, str):
                script(v)
            elif k in ("script", "before_script", "after_script"):
                for item in (v if isinstance(v, list) else [v]):
                    script(item)
            else:
                walk(v)
    elif isinstance(node, list):
        for v in node:
            walk(v)
walk(doc)
out = []
for line in lines:
    for k, v in values.items():
        line = line.replace(k, v)
    argv = []
    for tok in shlex.split(line):
        if tok in ("||", "&&", ";", "|"):
            break
        argv.append(tok)
    out.append(argv)
print(json.dumps(out))
"##;

fn commands(file: &str) -> Vec<Vec<String>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let o = Command::new("python3")
        .args(["-c", EXTRACT])
        .arg(&path)
        .output()
        .expect("python3 runs");
    assert!(
        o.status.success(),
        "{file} does not parse: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).expect("json")
}

fn check(file: &str) -> Vec<Vec<String>> {
    let rig: Vec<Vec<String>> = commands(file)
        .into_iter()
        .filter(|a| a.first().is_some_and(|c| c == "rig"))
        .collect();
    for argv in &rig {
        if let Err(e) = cli::Cli::try_parse_from(argv) {
            panic!("{file}: `{}` is not a rig command: {e}", argv.join(" "));
        }
        if let Some(i) = argv.iter().position(|a| a == "--shard") {
            let s = &argv[i + 1];
            assert!(
                printrig::plan::parse_shard(s).is_ok(),
                "{file}: --shard {s}"
            );
        }
    }
    // The farm: shards run, are merged into the history, and the history is asked.
    let has = |words: &[&str]| {
        rig.iter()
            .any(|a| words.iter().all(|w| a.iter().any(|t| t == w)))
    };
    assert!(has(&["run", "--shard"]), "{file}: a shard run");
    assert!(
        has(&["merge", "-o", "--history"]),
        "{file}: a merge into the history"
    );
    assert!(has(&["history", "new"]), "{file}: new failures");
    rig
}

#[test]
fn the_github_actions_farm_calls_rig_as_it_is() {
    let rig = check("docs/ci/github-actions.yml");
    assert!(rig.len() >= 4, "{rig:?}");
}

#[test]
fn the_gitlab_farm_calls_rig_as_it_is() {
    let rig = check("docs/ci/gitlab-ci.yml");
    assert!(rig.len() >= 4, "{rig:?}");
}

#[test]
fn a_command_rig_does_not_take_is_caught() {
    let bad = ["rig", "merge", "a", "--out", "b"];
    assert!(cli::Cli::try_parse_from(bad).is_err());
    let bad = ["rig", "history", "flakey"];
    assert!(cli::Cli::try_parse_from(bad).is_err());
}
