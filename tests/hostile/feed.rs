//! A feed bomb: `ESC d 255` repeated. The paper a job moves is bounded by the roll; the
//! printer reports paper end, as a real one would, instead of printing kilometres.

use crate::common::cmd::*;

#[test]
fn a_feed_bomb_stops_at_paper_end_with_bounded_output() {
    let tmp = tempfile::tempdir().expect("tmp");
    // 30 KB: 10 000 × 255 rows, 2.55 million rows (320 m of paper at 8 dots/mm).
    let mut bomb = vec![0x1B, 0x40];
    for _ in 0..10_000 {
        bomb.extend_from_slice(&[0x1B, 0x64, 255]);
    }
    let job = tmp.path().join("bomb.bin");
    std::fs::write(&job, &bomb).expect("write");
    let out = tmp.path().join("page.png");
    let o = run(&[
        "sim",
        "print",
        job.to_str().expect("utf8"),
        "--head-dots",
        "384",
        "-o",
        out.to_str().expect("utf8"),
    ]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("paper end"), "{}", text(&o));
    // What came out is bounded by the roll (one page, at most the longest page kept).
    let written: Vec<_> = std::fs::read_dir(tmp.path())
        .expect("list")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".png"))
        .collect();
    assert!(!written.is_empty() && written.len() <= 7, "{written:?}");
    let rows: u64 = written
        .iter()
        .map(|e| u64::from(image::image_dimensions(e.path()).expect("png").1))
        .sum();
    assert!(
        rows <= printrig::sim::head::DEFAULT_ROLL_ROWS,
        "{rows} rows"
    );
}
