//! The `rig` command: parses arguments, calls the library, prints through `report`, and
//! maps outcomes to exit codes (0 pass/marginal, 1 fail, 2 bad usage or invalid input; `rig
//! run` also 3 a rig error, 4 its own storage failed, 130 interrupted).

mod cli;

use anyhow::{Context, Result};
use clap::Parser;
use cli::{
    AnalyzeArgs, Cli, Command, GoldenCmd, HistoryArgs, HistoryCmd, PatternsCmd, RunArgs, SimCmd,
};
use printrig::escpos::encode::{encode_bitmap, EncodeOptions};
use printrig::golden::check::{check_file, CheckSpec};
use printrig::report::progress::Display;
use printrig::sim::{self, Faults, ScanSettings};
use printrig::util::fsio::write_atomic;
use printrig::{golden, pattern, report, scanfile};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = std::env::var("RIG_LOG").unwrap_or_else(|_| cli.log.clone());
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match run(cli.command) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cmd: Command) -> Result<u8> {
    match cmd {
        Command::Patterns(p) => patterns(p),
        Command::Sim(s) => sim_cmd(s),
        Command::Analyze(a) => analyze(a),
        Command::Golden(g) => golden_cmd(g),
        Command::Run(r) => run_cmd(r),
        Command::Report { dir, history } => {
            let history = history.or_else(|| {
                let beside = dir.parent()?.join(printrig::history::FILE);
                beside.is_file().then_some(beside)
            });
            let r = report::files::rebuild_verified(&dir, history.as_deref())?;
            print!("{}", report::run_summary(&r, &dir));
            Ok(0)
        }
        Command::History(h) => history_cmd(h),
        Command::Merge {
            dirs,
            output,
            history,
        } => merge_cmd(&dirs, &output, history.as_deref()),
        Command::Gate(a) => gate_cmd(a),
        Command::Estimate {
            plan,
            stations,
            max_cases,
        } => match printrig::run::start::plan_estimate(&plan, stations.as_deref(), max_cases) {
            Ok(e) => {
                print!("{}", report::estimate(&e));
                Ok(0)
            }
            Err(e) => {
                eprintln!("error: {e}");
                Ok(2)
            }
        },
        Command::Verify { dir } => {
            let (r, checked) = report::files::verify(&dir)?;
            print!("{}", report::verified(&r, &checked, &dir));
            Ok(if checked.ok() { 0 } else { 2 })
        }
    }
}

fn patterns(cmd: PatternsCmd) -> Result<u8> {
    match cmd {
        PatternsCmd::List => {
            print!("{}", report::patterns_table());
        }
        PatternsCmd::Render {
            sel,
            output,
            layout,
        } => {
            let p = pattern::render_named(&sel.name, sel.dots, sel.serial)?;
            scanfile::write_gray_png(&output, &p.bitmap.to_gray())?;
            if let Some(l) = layout {
                let json = serde_json::to_string_pretty(&p.layout)?;
                write_atomic(&l, json.as_bytes())
                    .with_context(|| format!("writing {}", l.display()))?;
            }
            print!("{}", report::rendered(&p.layout, &output));
        }
        PatternsCmd::Escpos {
            sel,
            output,
            band_rows,
            no_process_ids,
            feed,
            manifest,
        } => {
            let p = pattern::render_named(&sel.name, sel.dots, sel.serial)?;
            let opts = EncodeOptions {
                band_rows,
                process_ids: !no_process_ids,
                feed_rows: feed,
                ..EncodeOptions::default()
            };
            let job = encode_bitmap(&p.bitmap, &opts)?;
            write_atomic(&output, &job.bytes)
                .with_context(|| format!("writing {}", output.display()))?;
            if let Some(m) = manifest {
                let json = serde_json::to_string_pretty(&job)?;
                write_atomic(&m, json.as_bytes())
                    .with_context(|| format!("writing {}", m.display()))?;
            }
            print!("{}", report::encoded(&p.layout, &job, &output));
        }
    }
    Ok(0)
}

/// Page `i` (from 0) of a print to `base`: `paper.png`, `paper-2.png`, `paper-3.png`, …
fn page_path(base: &Path, i: usize) -> PathBuf {
    if i == 0 {
        return base.to_path_buf();
    }
    let stem = base
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = base
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    base.with_file_name(format!("{stem}-{}{ext}", i + 1))
}

fn sim_cmd(cmd: SimCmd) -> Result<u8> {
    match cmd {
        SimCmd::Station { file, station, dir } => return sim_station(file, station, dir),
        SimCmd::Print {
            job,
            output,
            faults,
            seed,
            dots,
            roll_m,
        } => {
            let faults = Faults::parse_all(faults.iter().map(String::as_str))?;
            if let Err(e) = sim::config::ROLL_M.check(roll_m) {
                anyhow::bail!("--roll-m {e}");
            }
            let bytes =
                std::fs::read(&job).with_context(|| format!("reading {}", job.display()))?;
            if bytes.is_empty() {
                anyhow::bail!("{} is empty: no job to print", job.display());
            }
            if let Some(what) = printrig::escpos::decode::foreign_format(&bytes) {
                anyhow::bail!(
                    "{} is {what}, not an ESC/POS job (make a job with `rig patterns escpos`, or send the receipt from a POS client)",
                    job.display()
                );
            }
            if !(8..=4096).contains(&dots) {
                anyhow::bail!("--dots {dots}: a head is 8 to 4096 dots wide");
            }
            let mut model = sim::HeadModel::with_dots(dots);
            model.roll_rows = sim::config::roll_rows(roll_m);
            // Each page is written the moment it is cut: a job of any length holds one
            // page in memory. The first write that fails stops the writing.
            let written = std::sync::Arc::new(std::sync::Mutex::new((Vec::new(), None)));
            let sink: sim::PageSink = {
                let written = written.clone();
                let output = output.clone();
                Box::new(move |page| {
                    let mut w = written.lock().unwrap_or_else(|p| p.into_inner());
                    let (files, failed): &mut (Vec<PathBuf>, Option<scanfile::ImageFileError>) =
                        &mut w;
                    if failed.is_some() {
                        return;
                    }
                    let f = page_path(&output, files.len());
                    match scanfile::write_gray_png(&f, &page) {
                        Ok(()) => files.push(f),
                        Err(e) => *failed = Some(e),
                    }
                })
            };
            let out = sim::print_job_to(&bytes, model, faults, seed, sink);
            let (files, failed) =
                std::mem::take(&mut *written.lock().unwrap_or_else(|p| p.into_inner()));
            if let Some(e) = failed {
                return Err(e.into());
            }
            print!("{}", report::print_summary(&out, &files));
            if let Some(e) = &out.error {
                eprintln!(
                    "error: {}: {e} (the paper printed up to there was written)",
                    job.display()
                );
                return Ok(2);
            }
        }
        SimCmd::Scan {
            paper,
            output,
            dpi,
            skew,
            bed_margin,
            seed,
        } => {
            let img = scanfile::read_scan(&paper)?;
            let s = sim::scan(
                &img,
                &ScanSettings {
                    dpi,
                    skew_deg: skew,
                    bed_margin_mm: bed_margin,
                    seed,
                    ..ScanSettings::default()
                },
            )?;
            scanfile::write_gray_png(&output, &s.image)?;
            print!("{}", report::scanned(&s.image, dpi, skew, &output));
        }
    }
    Ok(0)
}

fn analyze(a: AnalyzeArgs) -> Result<u8> {
    let spec = CheckSpec {
        pattern: a.pattern,
        dots: a.dots,
        serial: a.serial,
        golden: a.golden,
        nominal_density: a.nominal_density,
    };
    let c = check_file(&a.scan, &spec)?;
    if let Some(o) = &a.overlay {
        let img = report::overlay::draw(
            &c.scan,
            &c.analysis,
            report::overlay::Marks::of(&c.judgement, &[]),
        );
        let png = report::overlay::png(&img).map_err(|e| anyhow::anyhow!("{e}"))?;
        write_atomic(o, &png).with_context(|| format!("writing {}", o.display()))?;
    }
    let json = report::analysis_json(&c.analysis, &c.judgement);
    if let Some(p) = &a.json_out {
        write_atomic(p, json.as_bytes()).with_context(|| format!("writing {}", p.display()))?;
    }
    if a.json {
        print!("{json}");
    } else {
        print!("{}", report::analysis_summary(&c.analysis, &c.judgement));
    }
    Ok(c.judgement.verdict.exit_code() as u8)
}

fn golden_cmd(cmd: GoldenCmd) -> Result<u8> {
    match cmd {
        GoldenCmd::Capture {
            plan,
            stations,
            golden_dir,
            copies,
        } => {
            let opts = printrig::run::capture::CaptureOptions {
                plan,
                stations,
                golden_dir,
                copies,
            };
            match runtime()?.block_on(printrig::run::capture::capture(&opts)) {
                Ok(c) => {
                    print!("{}", report::captured(&c));
                    let refused = c.captured.iter().any(|x| x.outcome.is_err());
                    return Ok(u8::from(refused));
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    return Ok(2);
                }
            }
        }
        GoldenCmd::Review { golden_dir } => {
            let list = golden::pending::list(&golden_dir)?;
            if list.is_empty() {
                println!("no pending records under {}", golden_dir.display());
            }
            for p in list {
                print!("{}", report::pending_review(&golden::pending::review(&p)?));
            }
        }
        GoldenCmd::Accept {
            golden_dir,
            all,
            files,
        } => {
            let list = if all {
                golden::pending::list(&golden_dir)?
            } else {
                files
            };
            if list.is_empty() {
                anyhow::bail!(
                    "nothing to accept: name pending records, or pass --all (see `rig golden review {}`)",
                    golden_dir.display()
                );
            }
            for p in list {
                let (to, old) = golden::pending::accept(&p)?;
                print!("{}", report::accepted(&p, &to, old.is_some()));
            }
        }
        GoldenCmd::Bless {
            scans,
            pattern,
            dots,
            serial,
            model,
            condition,
            output,
            force,
            allow_defects,
        } => {
            if output.exists() && !force {
                anyhow::bail!(
                    "{} already exists: pass --force to replace it",
                    output.display()
                );
            }
            let spec = CheckSpec {
                pattern,
                dots,
                serial,
                golden: None,
                nominal_density: None,
            };
            let named: Vec<(&Path, String)> = scans
                .iter()
                .map(|s| (s.as_path(), s.display().to_string()))
                .collect();
            let g = golden::check::bless_scans(
                &named,
                &spec,
                &model,
                condition.as_deref(),
                allow_defects,
            )?;
            let old = golden::save(&output, &g, force)?;
            print!("{}", report::blessed(&g, old.as_ref(), &output));
        }
    }
    Ok(0)
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

fn run_cmd(a: RunArgs) -> Result<u8> {
    use std::io::IsTerminal;
    let shard = match &a.shard {
        Some(s) => match printrig::plan::parse_shard(s) {
            Ok(x) => Some(x),
            Err(e) => {
                eprintln!("error: --shard {s}: {e}");
                return Ok(2);
            }
        },
        None => None,
    };
    let opts = printrig::run::start::RunOptions {
        plan: a.plan,
        stations: a.stations,
        results: a.results,
        resume: a.resume,
        shard,
        golden_dir: a.golden_dir,
        history: a.history,
        firmware: a.firmware,
        max_cases: a.max_cases,
        progress: if a.quiet {
            Display::Quiet
        } else if std::io::stdout().is_terminal() {
            Display::Bars
        } else {
            Display::Lines
        },
    };
    let quiet = a.quiet;
    let started = printrig::run::start::run_with(opts, |s| {
        if !quiet {
            print!("{}", report::estimate(&s.estimate));
            print!("{}", report::instruments(&s.instruments));
        }
    });
    match runtime()?.block_on(started) {
        Ok(out) => {
            print!("{}", report::run_summary(&out.results, &out.dir));
            match &out.history {
                Ok(p) => println!("history: {}", p.display()),
                Err(e) => println!("history not recorded: {e}"),
            }
            if out.interrupted {
                println!(
                    "interrupted: resume with `rig run --resume {}`",
                    out.dir.display()
                );
            }
            Ok(out.exit_code.clamp(0, 255) as u8)
        }
        Err(e) if e.is_invalid_input() => {
            eprintln!("error: {e}");
            Ok(2)
        }
        // The rig itself failed (its disk is full, it cannot write its results): not a
        // verdict on the printer.
        Err(e) => {
            eprintln!("error: {}", printrig::util::error_chain(&e));
            Ok(e.exit_code().clamp(0, 255) as u8)
        }
    }
}

fn gate_cmd(a: cli::GateArgs) -> Result<u8> {
    use printrig::gate;
    let sides = || -> Result<(gate::prints::SideRuns, gate::prints::SideRuns), gate::GateError> {
        match (&a.history, &a.baseline_firmware, &a.candidate_firmware) {
            (Some(h), Some(bf), Some(cf)) => {
                let plan = a.plan.as_deref();
                let b = gate::prints::from_history(h, bf, plan)?;
                let c = gate::prints::from_history(h, cf, plan)?;
                Ok((
                    gate::prints::load(&b, Some(bf))?,
                    gate::prints::load(&c, Some(cf))?,
                ))
            }
            _ => Ok((
                gate::prints::load(&a.baseline, None)?,
                gate::prints::load(&a.candidate, None)?,
            )),
        }
    };
    let report = match sides().and_then(|(b, c)| gate::compare(&b, &c)) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {}", printrig::util::error_chain(&e));
            return Ok(gate::EXIT_INCOMPARABLE as u8);
        }
    };
    if let Some(path) = &a.markdown {
        write_atomic(path, report::gate::markdown(&report).as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &a.junit {
        write_atomic(path, report::gate::junit(&report).as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if a.json {
        println!("{}", report::gate::json(&report));
    } else {
        print!("{}", report::gate::console(&report, a.all));
    }
    Ok(report.exit_code.clamp(0, 255) as u8)
}

fn merge_cmd(dirs: &[PathBuf], out: &Path, history: Option<&Path>) -> Result<u8> {
    let merged = match printrig::merge::merge(dirs, out) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {}", printrig::util::error_chain(&e));
            return Ok(2);
        }
    };
    print!("{}", report::run_summary(&merged.results, &merged.dir));
    println!(
        "merged {} shard(s), {} artifact(s)",
        merged.results.merged_from.len(),
        merged.artifacts
    );
    if let Some(h) = history {
        let added = printrig::history::History::open(h, true).and_then(|mut h| h.import(out));
        match added {
            Ok(i) => print!("{}", report::history_imported(&[i], h)),
            Err(e) => eprintln!(
                "warning: the merged run is not in the history: {}",
                printrig::util::error_chain(&e)
            ),
        }
    }
    Ok(merged.results.exit_code.clamp(0, 255) as u8)
}

fn history_cmd(a: HistoryArgs) -> Result<u8> {
    use printrig::history::{self, query, History};
    let path = history::locate(a.history.as_deref(), &a.results);
    let json = a.json;
    let out = |text: String, value: serde_json::Value| {
        if json {
            println!(
                "{}",
                serde_json::to_string_pretty(&value).unwrap_or_default()
            );
        } else {
            print!("{text}");
        }
    };
    let answer = (|| -> Result<(), history::HistoryError> {
        if let HistoryCmd::Import { dirs } = &a.command {
            let mut h = History::open(&path, true)?;
            let mut done = Vec::new();
            for d in dirs {
                done.push(h.import(d)?);
            }
            out(
                report::history_imported(&done, h.path()),
                serde_json::json!(done),
            );
            return Ok(());
        }
        let h = History::open(&path, false)?;
        match &a.command {
            HistoryCmd::Runs { limit, plan } => {
                let r = query::runs(&h, *limit, plan.as_deref())?;
                out(report::history_runs(&r), serde_json::json!(r));
            }
            HistoryCmd::Trend { case, limit } => {
                let t = query::trend(&h, case, *limit)?;
                out(report::history_trend(case, &t), serde_json::json!(t));
            }
            HistoryCmd::Station { name, limit } => {
                let d = query::station(&h, name, *limit)?;
                out(report::history_station(&d), serde_json::json!(d));
            }
            HistoryCmd::Flaky {
                window,
                threshold,
                plan,
            } => {
                let f = query::flaky(&h, *window, *threshold, plan.as_deref())?;
                out(
                    report::history_flaky(&f, *window, *threshold),
                    serde_json::json!(f),
                );
            }
            HistoryCmd::New { plan } => {
                let n = query::new_failures(&h, plan.as_deref())?;
                out(report::history_new(n.as_ref()), serde_json::json!(n));
            }
            HistoryCmd::Import { .. } => {}
        }
        Ok(())
    })();
    match answer {
        Ok(()) => Ok(0),
        Err(e) => {
            eprintln!("error: {}", printrig::util::error_chain(&e));
            Ok(2)
        }
    }
}

fn sim_station(file: Option<PathBuf>, only: Option<String>, dir: PathBuf) -> Result<u8> {
    let stations = printrig::run::load_stations(file.as_deref());
    let stations = match stations {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(2);
        }
    };
    let rt = runtime()?;
    rt.block_on(async {
        let mut running = Vec::new();
        // A TCP printer listens on 9100, a network printer's port, when it is free (the
        // next station's on the next free port).
        let mut port = printrig::sim::station::PRINTER_PORT;
        for st in stations.stations.iter().filter(|s| s.is_sim()) {
            if only.as_ref().is_some_and(|o| *o != st.name) {
                continue;
            }
            if let Some(s) =
                printrig::run::assemble::start_sim_on(st, &dir.join(&st.name), Some(port)).await?
            {
                print!("{}", report::sim_station_lines(&s));
                if let Some(a) = s.printer_tcp() {
                    port = a.port().saturating_add(1);
                }
                running.push(s);
            }
        }
        if running.is_empty() {
            anyhow::bail!("no simulated station to start");
        }
        // Listen before saying so: a Ctrl-C right after the line must stop, not kill.
        let mut interrupt =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
                .context("listening for Ctrl-C")?;
        println!("running; Ctrl-C stops");
        interrupt.recv().await;
        for s in running {
            s.stop().await;
        }
        Ok(0)
    })
}
