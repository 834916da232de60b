use printrig::analysis::analyze;
use printrig::pattern::{render, PatternKind};
use printrig::sim::{scan, Faults, Head, HeadModel, ScanSettings};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let kind = PatternKind::parse(&args[1]).unwrap();
    let dots: u32 = args[2].parse().unwrap();
    let dpi: f64 = args[3].parse().unwrap();
    let skew: f64 = args[4].parse().unwrap();
    let seed: u64 = args[5].parse().unwrap();
    let faults = Faults::parse_all(args[6..].iter().map(|s| s.as_str())).unwrap();
    let p = render(kind, dots, 0).unwrap();
    let mut head = Head::new(HeadModel::with_dots(dots), faults, seed);
    for y in 0..p.bitmap.height() {
        let _ = head.print_row(p.bitmap.row(y));
    }
    head.feed(40);
    let paper = head.take_page().unwrap();
    let t = std::time::Instant::now();
    let s = scan(&paper, &ScanSettings { dpi, skew_deg: skew, seed, ..Default::default() }).unwrap();
    let ts = t.elapsed();
    let t = std::time::Instant::now();
    let mut a = analyze(&s.image, &p);
    let ta = t.elapsed();
    let j = printrig::golden::judge(&mut a, None, Some(1.0));
    print!("{}", printrig::report::analysis_summary(&a, &j));
    eprintln!("scan {:?} analyze {:?} truth skew {} scale {:?}", ts, ta, s.truth.skew_deg, s.truth.scale);
    if std::env::var("SAVE").is_ok() {
        s.image.save("/tmp/scan.png").unwrap();
        printrig::report::overlay::draw(&s.image, &a).save("/tmp/overlay.png").unwrap();
    }
}
