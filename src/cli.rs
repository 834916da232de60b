//! Command-line arguments of `rig`. Parsing only: every command calls into the library.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "rig",
    version,
    about = "printrig: hardware-in-the-loop test rig for receipt and POS printers",
    long_about = "Prints calibrated test patterns, scans them, measures ink coverage per printer dot column and judges the print against golden records."
)]
pub struct Cli {
    /// Log detail on stderr (error, warn, info, debug, trace); RIG_LOG overrides.
    #[arg(long, global = true, default_value = "warn")]
    pub log: String,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Calibrated test patterns.
    #[command(subcommand)]
    Patterns(PatternsCmd),
    /// The simulated printer and scanner.
    #[command(subcommand)]
    Sim(SimCmd),
    /// Analyse a scan: registration, coverage per dot column, defects, verdict.
    ///
    /// Exit codes: 0 pass or marginal, 1 fail, 2 invalid input.
    Analyze(AnalyzeArgs),
    /// Golden records.
    #[command(subcommand)]
    Golden(GoldenCmd),
    /// Run a plan on its stations (the simulated ones when no station file is given).
    ///
    /// Exit codes: 0 pass/marginal, 1 any fail, 3 no fail but some error/aborted, 2 bad usage
    /// or invalid input (a results directory that cannot be created included), 4 the rig
    /// cannot write its own files (disk full or read-only, quota, file size limit: resume
    /// with --resume once there is room), 130 interrupted (the run can be resumed with
    /// --resume).
    Run(RunArgs),
    /// Rebuild summary.json, junit.xml, report.html and manifest.sha256 of a run from its
    /// journal and artifacts, after checking every artifact against the sha256 the journal
    /// recorded.
    ///
    /// Takes the run directory's lock first: a run directory a rig process is running,
    /// resuming or merging into is not rewritten (exit 2, naming the process).
    ///
    /// Exit codes: 0 rebuilt, 2 a missing or changed artifact (named; nothing is rewritten)
    /// or a run directory in use by another rig process.
    Report {
        /// The run's results directory (results/<run-id>).
        dir: PathBuf,
        /// The history for the cases' trend strips (default: history.sqlite beside the
        /// run directory, when there is one).
        #[arg(long, value_name = "FILE")]
        history: Option<PathBuf>,
    },
    /// The history of every run (an SQLite file): runs, a case's trend, a station's drift,
    /// flaky cases, new failures; and importing runs made before or elsewhere.
    ///
    /// Exit codes: 0 answered, 2 no history, no such case or station, or a run directory
    /// that cannot be read.
    History(HistoryArgs),
    /// Join the results directories of one plan's shards (`rig run --shard I/N` on each rig
    /// host) into one: journal, case files, summary.json, junit.xml, report.html and a
    /// manifest that verifies. Every shard 1..N must be there exactly once, all of the same
    /// plan.
    ///
    /// Exit codes: as `rig run` for the merged verdict (0 pass/marginal, 1 any fail, 3
    /// error without fail); 2 a missing, duplicated or foreign shard, changed evidence, or
    /// an output that exists (one a rig process holds is named with its pid).
    Merge {
        /// The shards' run directories.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// The merged results directory (must not exist yet).
        #[arg(short, long, value_name = "OUT")]
        output: PathBuf,
        /// Also add the merged run to this history.
        #[arg(long, value_name = "FILE")]
        history: Option<PathBuf>,
    },
    /// Compare a candidate firmware's runs with its baseline's: cases paired by printer
    /// model, pattern and condition, repeats pooled, every metric (verdict rates, defects,
    /// solid and band density, column and element coverage, print time) decided against
    /// its margin in the plan's [plan.gate]. See docs/gate.md.
    ///
    /// Exit codes: 0 no regression (every pair equivalent or better), 1 a regression, 3 no
    /// regression but something inconclusive or a print lost to an error, 2 the runs
    /// cannot be compared (different plans, missing pairs, unreadable runs).
    Gate(GateArgs),
    /// How long a plan will take on its stations, without running it: cases, chamber
    /// soaks (once per condition) and the most it can take if every step ran to its
    /// timeout.
    Estimate {
        plan: PathBuf,
        /// Station file (default: the simulated stations built into `rig`).
        #[arg(long)]
        stations: Option<PathBuf>,
        /// Refuse a plan of more cases than this.
        #[arg(long, value_name = "N", default_value_t = printrig::plan::DEFAULT_MAX_CASES)]
        max_cases: u64,
    },
    /// Check every artifact of a run (scans, analyses, overlays, job bytes) against the
    /// sha256 its journal recorded; writes nothing.
    ///
    /// Exit codes: 0 every artifact matches, 2 some are missing or changed (each named).
    Verify {
        /// The run's results directory (results/<run-id>).
        dir: PathBuf,
    },
}

#[derive(Args, Debug, Clone)]
pub struct PatternSel {
    /// Pattern name (see `rig patterns list`).
    pub name: String,
    /// Head width in dots (384 for 58 mm, 576 for 80 mm at 203 dpi; any multiple of 8 from 256 to 2048).
    #[arg(long)]
    pub dots: u32,
    /// Serial number written in the pattern id strip.
    #[arg(long, default_value_t = 0)]
    pub serial: u16,
}

#[derive(Subcommand, Debug)]
pub enum PatternsCmd {
    /// List the patterns and what each reveals.
    List,
    /// Render a pattern to a PNG, 1 pixel per dot.
    Render {
        #[command(flatten)]
        sel: PatternSel,
        #[arg(short, long)]
        output: PathBuf,
        /// Also write the pattern's region description (JSON).
        #[arg(long)]
        layout: Option<PathBuf>,
    },
    /// Encode a pattern as an ESC/POS job (raster bands with process ids, feed, cut).
    Escpos {
        #[command(flatten)]
        sel: PatternSel,
        #[arg(short, long)]
        output: PathBuf,
        /// Rows per GS v 0 band (1..=2303).
        #[arg(long, default_value_t = 256)]
        band_rows: u32,
        /// Leave out the per-band process ids (GS ( H).
        #[arg(long)]
        no_process_ids: bool,
        /// Paper fed after the image, in dots (8 per mm), before the cut: sets how long
        /// the torn-off receipt is.
        #[arg(long, default_value_t = printrig::escpos::encode::EncodeOptions::default().feed_rows)]
        feed: u32,
        /// Also write the job's band map and real-time hazards (JSON).
        #[arg(long)]
        manifest: Option<PathBuf>,
    },
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// The plan file (e.g. rig/plans/smoke.toml); not needed with --resume.
    pub plan: Option<PathBuf>,
    /// The station file; default: the simulated stations built into rig.
    #[arg(long)]
    pub stations: Option<PathBuf>,
    /// Where run directories are created.
    #[arg(long, default_value = "results")]
    pub results: PathBuf,
    /// Where golden records live (<dir>/<model>/<pattern>.json); default: golden, or
    /// with --resume the records the run started with (a resume refuses records changed
    /// since, unless --golden-dir is given again: then it is recorded in the journal).
    #[arg(long)]
    pub golden_dir: Option<PathBuf>,
    /// Resume an interrupted run: re-run only its unfinished cases.
    #[arg(long, value_name = "DIR")]
    pub resume: Option<PathBuf>,
    /// Run only shard I of N (1-based), e.g. 2/4: each case belongs to one shard, stable
    /// across plan edits, so a CI matrix of N jobs covers the plan once.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// No progress bars.
    #[arg(long)]
    pub quiet: bool,
    /// The history to record the run into (default: history.sqlite in the results
    /// directory).
    #[arg(long, value_name = "FILE")]
    pub history: Option<PathBuf>,
    /// Install this firmware version on every station first (its
    /// [station.printer.firmware_install], or a simulated station's image), power-cycle
    /// the printer where the station can, and check it reports the version (GS I 65).
    #[arg(long, value_name = "VERSION")]
    pub firmware: Option<String>,
    /// Refuse a plan of more cases than this (counted before the plan is expanded).
    #[arg(long, value_name = "N", default_value_t = printrig::plan::DEFAULT_MAX_CASES)]
    pub max_cases: u64,
}

#[derive(Args, Debug)]
pub struct HistoryArgs {
    /// The results directory whose history.sqlite to read.
    #[arg(long, global = true, default_value = "results")]
    pub results: PathBuf,
    /// The history file (instead of the one in --results).
    #[arg(long, global = true, value_name = "FILE")]
    pub history: Option<PathBuf>,
    /// Print JSON.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: HistoryCmd,
}

#[derive(Subcommand, Debug)]
pub enum HistoryCmd {
    /// The runs, newest first, with their counts and verdicts.
    Runs {
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Only runs of this plan (its `name`).
        #[arg(long)]
        plan: Option<String>,
    },
    /// One case over the runs: verdict, firmware and key measurements per run.
    Trend {
        /// The case id (station/pattern/condition/rN).
        case: String,
        #[arg(long, default_value_t = 30)]
        limit: usize,
    },
    /// A station's drift: solid density and per-element coverage over its runs, per
    /// condition, with the elements losing most.
    Station {
        name: String,
        #[arg(long, default_value_t = 60)]
        limit: usize,
    },
    /// Cases whose verdict flips, with an exponentially weighted flip rate over the last
    /// runs (flagged above the threshold).
    Flaky {
        /// How many of the latest runs to look at.
        #[arg(long, default_value_t = 20)]
        window: usize,
        #[arg(long, default_value_t = 0.3)]
        threshold: f64,
        #[arg(long)]
        plan: Option<String>,
    },
    /// Failures of the latest run that were not failing in the run before, and how long
    /// the others have been failing.
    New {
        #[arg(long)]
        plan: Option<String>,
    },
    /// Add runs made before (or on another host); a run already held is left as it is.
    Import {
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum SimCmd {
    /// Print an ESC/POS job on the simulated printer: the paper as a PNG, 1 pixel per dot.
    #[command(after_help = crate_faults_help())]
    Print {
        /// The ESC/POS job file.
        job: PathBuf,
        #[arg(short, long)]
        output: PathBuf,
        /// A fault, KIND=VALUE; repeat to combine (see below).
        #[arg(long = "fault", value_name = "KIND=VALUE")]
        faults: Vec<String>,
        /// Seed for dot spread, paper texture and every other random part.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Head width in dots: 576 for 80 mm paper, 384 for 58 mm (at 203 dpi).
        #[arg(long, alias = "head-dots", default_value_t = 576)]
        dots: u32,
        /// Paper on the roll, metres (0.01..=1000; 8 dot rows a millimetre): a job that
        /// would move more ends at paper end.
        #[arg(long, default_value_t = printrig::sim::config::ROLL_M.default)]
        roll_m: f64,
    },
    /// Start the simulated stations of a station file (printer on a pty and/or TCP, SCPI
    /// PSU and chamber, control port) and print where they listen, until Ctrl-C.
    Station {
        /// Station file (default: the built-in simulated stations).
        file: Option<PathBuf>,
        /// Only this station.
        #[arg(long)]
        station: Option<String>,
        /// Where scans and the pty link go.
        #[arg(long, default_value = "sim-station")]
        dir: PathBuf,
    },
    /// Scan a simulated paper: resolution, skew, placement, blur, noise.
    Scan {
        /// The paper PNG from `rig sim print`.
        paper: PathBuf,
        #[arg(short, long)]
        output: PathBuf,
        /// Scan resolution, 150..=1200.
        #[arg(long, default_value_t = 600.0)]
        dpi: f64,
        /// Skew of the paper on the bed in degrees, -3..=3.
        #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
        skew: f64,
        /// Bare bed scanned around the paper on every side, mm (0..=100).
        #[arg(long, default_value_t = printrig::sim::ScanSettings::default().bed_margin_mm, allow_hyphen_values = true)]
        bed_margin: f64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

fn crate_faults_help() -> &'static str {
    printrig::sim::faults::Faults::HELP
}

#[derive(Args, Debug)]
pub struct AnalyzeArgs {
    /// The scan (PNG, PNM, TIFF or JPEG).
    pub scan: PathBuf,
    /// Pattern the page should show.
    #[arg(long)]
    pub pattern: String,
    /// Head width in dots.
    #[arg(long)]
    pub dots: u32,
    /// Serial number the page should carry.
    #[arg(long, default_value_t = 0)]
    pub serial: u16,
    /// Golden record to judge against.
    #[arg(long)]
    pub golden: Option<PathBuf>,
    /// Nominal solid density of the model, for the `light` check without a golden record.
    #[arg(long)]
    pub nominal_density: Option<f64>,
    /// Print the analysis as JSON (docs/analysis-json.md) instead of a summary.
    #[arg(long)]
    pub json: bool,
    /// Write a PNG of the scan with the defects marked.
    #[arg(long)]
    pub overlay: Option<PathBuf>,
    /// Also write the analysis JSON to this file (whatever is printed).
    #[arg(long)]
    pub json_out: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum GoldenCmd {
    /// Make a golden record from scans of healthy prints: one, or several copies of the
    /// same page (the record is their median, its tolerances widened to their spread).
    Bless {
        #[arg(required = true, num_args = 1..)]
        scans: Vec<PathBuf>,
        #[arg(long)]
        pattern: String,
        #[arg(long)]
        dots: u32,
        #[arg(long, default_value_t = 0)]
        serial: u16,
        /// Printer model the record belongs to (e.g. sim-80mm).
        #[arg(long)]
        model: String,
        /// Condition the record is for (e.g. cold), if not nominal.
        #[arg(long)]
        condition: Option<String>,
        #[arg(short, long)]
        output: PathBuf,
        /// Replace an existing record (what changed is printed).
        #[arg(long)]
        force: bool,
        /// Bless even though the analysis reports defects.
        #[arg(long)]
        allow_defects: bool,
    },
    /// Make the first records of a model on the rig itself: on one station per model of
    /// the plan, print every pattern of the plan at nominal N times, scan and analyse each
    /// copy, and write `DIR/<model>/<pattern>.pending.json` (beside its scans) where the
    /// copies agree. Runs never read a pending record: review and accept it.
    ///
    /// Exit codes: 0 every pattern captured, 1 some refused (named), 2 bad input or a
    /// station that fails pre-flight.
    Capture {
        plan: PathBuf,
        /// Station file (default: the simulated stations built into `rig`).
        #[arg(long)]
        stations: Option<PathBuf>,
        #[arg(long, default_value = "golden")]
        golden_dir: PathBuf,
        /// Copies of every pattern (at least 2: their spread sets the tolerances).
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(2..=20))]
        copies: u32,
    },
    /// Show every pending record against the record in use (what would change).
    Review {
        #[arg(default_value = "golden")]
        golden_dir: PathBuf,
    },
    /// Turn pending records into the records runs use: every one (--all) or those named.
    Accept {
        #[arg(long, default_value = "golden")]
        golden_dir: PathBuf,
        /// Accept every pending record under the golden dir.
        #[arg(long, conflicts_with = "files")]
        all: bool,
        /// Pending records (`…/<pattern>.pending.json`) to accept.
        files: Vec<PathBuf>,
    },
}

#[derive(Args, Debug)]
pub struct GateArgs {
    /// The baseline firmware's run directories.
    #[arg(long, num_args = 1.., value_name = "RUN_DIR", conflicts_with = "baseline_firmware")]
    pub baseline: Vec<PathBuf>,
    /// The candidate firmware's run directories.
    #[arg(long, num_args = 1.., value_name = "RUN_DIR", conflicts_with = "candidate_firmware")]
    pub candidate: Vec<PathBuf>,
    /// Take the runs from this history instead (with --baseline-firmware and
    /// --candidate-firmware).
    #[arg(long, value_name = "FILE", requires_all = ["baseline_firmware", "candidate_firmware"])]
    pub history: Option<PathBuf>,
    /// With --history: the baseline's firmware version (every run that printed on it).
    #[arg(long, value_name = "VERSION", requires = "history")]
    pub baseline_firmware: Option<String>,
    /// With --history: the candidate's firmware version.
    #[arg(long, value_name = "VERSION", requires = "history")]
    pub candidate_firmware: Option<String>,
    /// With --history: only runs of this plan.
    #[arg(long, value_name = "NAME", requires = "history")]
    pub plan: Option<String>,
    /// Print the whole answer as JSON instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Also write Markdown (for a pull request) to FILE.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// Also write JUnit XML (one testcase per pair) to FILE.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Show every metric in the table, not only those that are not equivalent.
    #[arg(long)]
    pub all: bool,
}
