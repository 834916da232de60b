//! A fresh machine: the README's test command installs what the tests need and then runs
//! them, and CI runs exactly that command. Read from the files themselves, and the set-up
//! script run for real (a second run installs nothing).

use std::path::Path;
use std::process::Command;

fn read(rel: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The command lines of a shell script: neither comments nor blank nor `set`/`cd` lines.
fn commands(script: &str) -> Vec<String> {
    script
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter(|l| !l.starts_with("set ") && !l.starts_with("cd "))
        .map(str::to_string)
        .collect()
}

/// The commands of the README's set-up block (the first `sh` block), comments cut off.
fn readme_setup() -> Vec<String> {
    let readme = read("README.md");
    let start = readme
        .find("## Set-up")
        .expect("the README has a set-up section");
    let block = &readme[start..];
    let open = block.find("```sh\n").expect("a sh block") + "```sh\n".len();
    let close = open + block[open..].find("```").expect("the block ends");
    block[open..close]
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn the_readme_test_command_is_what_ci_runs() {
    let setup = readme_setup();
    assert_eq!(setup.len(), 2, "two commands: {setup:?}");
    assert!(
        setup[0].contains(" run "),
        "the first runs a job: {setup:?}"
    );
    assert_eq!(setup[1], "scripts/test.sh");
    let ci = commands(&read(".ci/run"));
    assert_eq!(
        ci.last().map(String::as_str),
        Some("scripts/test.sh"),
        ".ci/run ends with the README's test command: {ci:?}"
    );
    assert!(
        !ci.iter().any(|c| c.starts_with("cargo test")),
        "CI runs the tests only through scripts/test.sh: {ci:?}"
    );
}

#[test]
fn the_test_command_installs_before_it_tests() {
    let test = commands(&read("scripts/test.sh"));
    let setup = test
        .iter()
        .position(|c| c == "scripts/setup.sh")
        .expect("test.sh runs setup.sh");
    let cargo = test
        .iter()
        .position(|c| c.contains("cargo test"))
        .expect("test.sh runs cargo test");
    assert!(setup < cargo, "{test:?}");
    // Every program the tests start that the toolchain does not bring is installed.
    let script = read("scripts/setup.sh");
    for program in [
        "scanimage:sane-utils",
        "python3:python3",
        "kill:procps",
        "yaml:python3-yaml",
        "zbarimg:zbar-tools",
        "ensurepip:python3-venv",
        "python-escpos==",
    ] {
        assert!(script.contains(program), "setup.sh installs {program}");
    }
}

#[test]
fn setup_is_idempotent() {
    let root = env!("CARGO_MANIFEST_DIR");
    for run in 1..=2 {
        let out = Command::new("bash")
            .arg(Path::new(root).join("scripts/setup.sh"))
            .current_dir(root)
            .output()
            .expect("bash runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "run {run}: {err}");
        if run == 2 {
            assert!(!err.contains("installing"), "a second run installs: {err}");
        }
    }
    for program in ["scanimage", "python3", "kill", "zbarimg"] {
        let found = Command::new("bash")
            .args(["-c", &format!("command -v {program}")])
            .output()
            .expect("bash runs");
        assert!(found.status.success(), "{program} is on PATH after setup");
    }
    let yaml = Command::new("python3")
        .args(["-c", "import yaml"])
        .output()
        .expect("python3 runs");
    assert!(yaml.status.success(), "python3 imports yaml after setup");
}
