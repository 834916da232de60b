//! A journal torn where a killed run leaves it: the case is run again and recorded once.

use crate::common::cmd::*;
use crate::TWO_CASES;

fn last_case_ends(journal: &str) -> Vec<String> {
    journal
        .lines()
        .filter(|l| l.contains("\"case_end\"") && l.contains("\"last\":true"))
        .filter_map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).ok()?;
            Some(v["case"].as_str()?.to_string())
        })
        .collect()
}

#[test]
fn a_case_end_without_its_newline_is_run_again_and_recorded_once() {
    let tmp = tempfile::tempdir().expect("tmp");
    let plan = write(tmp.path(), "two.toml", TWO_CASES);
    let results = tmp.path().join("results");
    let o = run_plan(&plan, &results, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let dir = run_dir(&results);
    let jpath = dir.join("journal.ndjson");
    let whole = std::fs::read_to_string(&jpath).expect("journal");
    // Cut the journal just before the newline that ends the last case_end: a complete
    // event whose line was never finished.
    let end = whole.rfind("{\"event\":\"case_end\"").expect("a case_end");
    let nl = end + whole[end..].find('\n').expect("its newline");
    std::fs::write(&jpath, &whole[..nl]).expect("tear");
    let o = run(&["run", "--resume", dir.to_str().expect("utf8"), "--quiet"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let s = summary(&dir);
    assert_eq!(s["counts"]["pass"], 2, "{s:#}");
    assert_eq!(s["verdict"], "pass");
    let mut ends = last_case_ends(&std::fs::read_to_string(&jpath).expect("journal"));
    ends.sort();
    assert_eq!(
        ends,
        ["sim-58mm/solid/nominal/r1", "sim-58mm/solid/nominal/r2"]
    );
}
