//! A printer that floods the link with status bytes, answering every job and request with
//! an endless stream, and a SCPI instrument that answers with megabytes and no newline:
//! every request and every job ends within its timeout with an error naming the device,
//! and memory stays bounded.

use printrig::escpos::encode::{encode_bitmap, EncodeOptions};
use printrig::instrument::printer::escpos::EscposPrinter;
use printrig::instrument::printer::Printer;
use printrig::link::Endpoint;
use printrig::pattern::{render, PatternKind};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Peak resident memory of this process so far, in bytes (Linux `VmHWM`).
fn peak_rss() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").expect("status");
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .expect("VmHWM")
        * 1024
}

/// Accepts every connection and writes DLE EOT status bytes (0x12: online, no error) at it
/// for as long as it stays open, reading and dropping whatever comes.
async fn flooding_printer() -> (u16, tokio::task::JoinHandle<()>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = l.local_addr().expect("addr").port();
    let h = tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            let (mut rd, mut wr) = s.into_split();
            tokio::spawn(async move {
                let mut sink = vec![0u8; 64 * 1024];
                while matches!(rd.read(&mut sink).await, Ok(n) if n > 0) {}
            });
            tokio::spawn(async move {
                let flood = vec![0x12u8; 64 * 1024];
                while wr.write_all(&flood).await.is_ok() {}
            });
        }
    });
    (port, h)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_printer_ends_every_step_in_its_timeout_with_bounded_memory() {
    let (port, server) = flooding_printer().await;
    let before = peak_rss();
    let mut p = EscposPrinter::new(
        "flood-printer",
        Endpoint::Tcp {
            host: "127.0.0.1".into(),
            port,
        },
        Duration::from_secs(2),
    );
    let bound = Duration::from_secs(30);
    let id = tokio::time::timeout(bound, p.identify())
        .await
        .expect("identify ends in time");
    let e = id.expect_err("a flood is no identity").to_string();
    assert!(e.contains("flood-printer") && e.contains("floods"), "{e}");
    // A status byte of the flood is a well-formed answer to DLE EOT: the request may take
    // it, or find the flood; either way it ends in time.
    let st = tokio::time::timeout(bound, p.status())
        .await
        .expect("status ends in time");
    if let Err(e) = st {
        assert!(e.to_string().contains("flood-printer"), "{e}");
    }
    let pattern = render(PatternKind::Solid, 576, 0).expect("pattern");
    let job = encode_bitmap(&pattern.bitmap, &EncodeOptions::default()).expect("job");
    let printed = tokio::time::timeout(bound, p.print(&job, Duration::from_secs(2)))
        .await
        .expect("the job ends in time");
    match printed {
        Ok(r) => {
            let why = r.stopped.expect("the job stopped");
            assert!(why.contains("floods"), "{why}");
            assert!(r.bands_printed.is_empty());
        }
        Err(e) => assert!(e.to_string().contains("flood-printer"), "{e}"),
    }
    let grown = peak_rss().saturating_sub(before);
    assert!(
        grown < 200 * 1024 * 1024,
        "peak memory grew by {} MB",
        grown / (1024 * 1024)
    );
    server.abort();
}

/// A SCPI peer that answers anything with an endless line: 64 KiB blocks of `A`, never a
/// newline, for as long as the connection stays open.
async fn endless_line() -> (u16, tokio::task::JoinHandle<()>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = l.local_addr().expect("addr").port();
    let h = tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let mut first = [0u8; 64];
                if !matches!(s.read(&mut first).await, Ok(n) if n > 0) {
                    return;
                }
                let block = vec![b'A'; 64 * 1024];
                while s.write_all(&block).await.is_ok() {}
            });
        }
    });
    (port, h)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scpi_reply_without_end_stops_at_the_line_bound_naming_the_device() {
    use printrig::instrument::power::{scpi::ScpiPower, Power};
    let (port, server) = endless_line().await;
    let before = peak_rss();
    let mut psu = ScpiPower::new(
        "bench-psu",
        Endpoint::Tcp {
            host: "127.0.0.1".into(),
            port,
        },
        // Long enough that reading until the timeout would hold gigabytes.
        Duration::from_secs(10),
    );
    let e = tokio::time::timeout(Duration::from_secs(30), psu.identify())
        .await
        .expect("identify ends in time")
        .expect_err("an endless line is no identity");
    assert!(
        matches!(e, printrig::instrument::InstrumentError::Protocol { .. }),
        "stopped at the bound, not at the timeout: {e:?}"
    );
    let msg = e.to_string();
    assert!(
        msg.contains("bench-psu") && msg.contains("more than 65536 bytes without a newline"),
        "{msg}"
    );
    let grown = peak_rss().saturating_sub(before);
    assert!(
        grown < 200 * 1024 * 1024,
        "peak memory grew by {} MB",
        grown / (1024 * 1024)
    );
    server.abort();
}
