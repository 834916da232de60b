//! ESC/POS codec: what the encoder sends, the simulated printer's decoder reads back the
//! same dots, in any chunking, and status bytes survive the round trip.

use printrig::escpos::decode::{decode_all, DecodeError, Decoder, Event, EventKind};
use printrig::escpos::encode::{
    band_of_offset, encode_bitmap, realtime_hazards, CutKind, EncodeOptions, Job, RealtimeHazard,
};
use printrig::escpos::status::{
    dle_eot_reply, parse_dle_eot, PrinterState, StatusError, StatusReport,
};
use printrig::pattern::{render, Bitmap, PatternKind};

fn opts(band_rows: u32) -> EncodeOptions {
    EncodeOptions {
        band_rows,
        ..EncodeOptions::default()
    }
}

/// Stacks the raster events' bitmaps vertically.
fn stack_rasters(events: &[Event]) -> Bitmap {
    let mut width = None;
    let mut height = 0;
    let mut dots = Vec::new();
    for e in events {
        if let EventKind::Raster(b) = &e.kind {
            assert_eq!(
                *width.get_or_insert(b.width()),
                b.width(),
                "band widths differ"
            );
            height += b.height();
            dots.extend_from_slice(b.dots());
        }
    }
    Bitmap::from_dots(width.unwrap_or(0), height, dots).expect("consistent sizes")
}

fn process_ids(events: &[Event]) -> Vec<[u8; 4]> {
    events
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::ProcessId { id } => Some(id),
            _ => None,
        })
        .collect()
}

/// Decodes in chunks of 1..=37 bytes chosen by a fixed-seed LCG.
fn decode_chunked(bytes: &[u8], seed: u64) -> (Vec<Event>, Result<(), DecodeError>) {
    let mut state = seed;
    let mut decoder = Decoder::new();
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let n = ((state >> 33) % 37 + 1) as usize;
        let (chunk, tail) = rest.split_at(n.min(rest.len()));
        if let Err(e) = decoder.push(chunk, &mut out) {
            return (out, Err(e));
        }
        rest = tail;
    }
    assert_eq!(decoder.offset(), bytes.len());
    let result = decoder.finish(&mut out);
    (out, result)
}

fn check_job_structure(job: &Job, events: &[Event], what: &str) {
    // Init first, then per band a raster and its process id, then feed and cut.
    assert_eq!(
        events.first().map(|e| &e.kind),
        Some(&EventKind::Init),
        "{what}"
    );
    let rasters: Vec<&Event> = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Raster(_)))
        .collect();
    assert_eq!(rasters.len(), job.bands.len(), "{what}");
    for (band, raster) in job.bands.iter().zip(&rasters) {
        assert_eq!(raster.offset, band.offset, "{what}: band {}", band.index);
        assert_eq!(
            &job.bytes[band.offset..band.offset + 3],
            &[0x1D, 0x76, 0x30],
            "{what}: band {} offset is not a GS v 0",
            band.index
        );
        if let EventKind::Raster(b) = &raster.kind {
            assert_eq!(b.height(), band.rows, "{what}");
        }
        assert_eq!(band_of_offset(job, band.offset), Some(band.index));
        assert_eq!(band_of_offset(job, band.end - 1), Some(band.index));
    }
    let ids = process_ids(events);
    let want: Vec<[u8; 4]> = job.bands.iter().map(|b| b.process_id).collect();
    assert_eq!(ids, want, "{what}: process ids in band order");
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(id, format!("{i:04}").as_bytes(), "{what}");
    }
    // Each process id follows its own band's raster and precedes the next one.
    let order: Vec<char> = events
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::Raster(_) => Some('R'),
            EventKind::ProcessId { .. } => Some('P'),
            _ => None,
        })
        .collect();
    assert_eq!(
        order,
        "RP".repeat(job.bands.len()).chars().collect::<Vec<_>>()
    );
    let tail: Vec<&EventKind> = events
        .iter()
        .skip_while(|e| !matches!(e.kind, EventKind::Feed { .. }))
        .map(|e| &e.kind)
        .collect();
    assert_eq!(
        tail,
        vec![
            &EventKind::Feed { rows: 120 },
            &EventKind::Cut { partial: true }
        ],
        "{what}"
    );
}

#[test]
fn every_pattern_round_trips_bit_for_bit() {
    for kind in PatternKind::ALL {
        for dots in [384, 576, 640] {
            let pattern = render(kind, dots, 11).expect("render");
            for band_rows in [256, 100, 2303] {
                let what = format!("{kind} {dots} band_rows {band_rows}");
                let job = encode_bitmap(&pattern.bitmap, &opts(band_rows)).expect("encode");
                assert_eq!((job.width, job.height), (dots, pattern.bitmap.height()));
                assert_eq!(
                    job.bands.len() as u32,
                    pattern.bitmap.height().div_ceil(band_rows),
                    "{what}"
                );
                let (events, result) = decode_all(&job.bytes);
                result.unwrap_or_else(|e| panic!("{what}: {e}"));
                assert_eq!(stack_rasters(&events), pattern.bitmap, "{what}");
                check_job_structure(&job, &events, &what);
                // Every chance real-time sequence is answered, once, in stream order.
                let rt: Vec<RealtimeHazard> = events
                    .iter()
                    .filter_map(|e| match e.kind {
                        EventKind::RealtimeStatus { n } => Some(RealtimeHazard {
                            offset: e.offset,
                            n,
                        }),
                        _ => None,
                    })
                    .collect();
                assert_eq!(rt, job.realtime_hazards, "{what}");
            }
        }
    }
}

#[test]
fn chunked_decoding_gives_identical_events() {
    for (i, kind) in PatternKind::ALL.into_iter().enumerate() {
        for dots in [384, 576, 640] {
            let pattern = render(kind, dots, 3).expect("render");
            for band_rows in [256, 100, 2303] {
                let job = encode_bitmap(&pattern.bitmap, &opts(band_rows)).expect("encode");
                let (whole, r1) = decode_all(&job.bytes);
                let (chunked, r2) = decode_chunked(&job.bytes, 0x5EED + i as u64 + dots as u64);
                assert_eq!(r1, Ok(()));
                assert_eq!(r2, Ok(()));
                assert_eq!(whole, chunked, "{kind} {dots} {band_rows}");
            }
        }
    }
}

#[test]
fn truncated_streams_keep_the_complete_bands() {
    let pattern = render(PatternKind::Ladder, 576, 1).expect("render");
    let job = encode_bitmap(&pattern.bitmap, &opts(100)).expect("encode");
    assert!(job.bands.len() >= 4);
    let b2 = &job.bands[2];
    let data_len = (576 / 8) * b2.rows as usize;
    let data_start = b2.offset + 8;
    let pid_start = data_start + data_len;
    // (cut at, offset of the incomplete command, its name, bytes still needed, bytes got,
    // complete rasters before the cut)
    let cases = [
        (b2.offset + 5, b2.offset, "GS v 0", 3, 5, 2),
        (data_start, b2.offset, "GS v 0", data_len, 8, 2),
        (
            data_start + 1000,
            b2.offset,
            "GS v 0",
            data_len - 1000,
            1008,
            2,
        ),
        (pid_start + 3, pid_start, "GS ( H", 2, 3, 3),
        (pid_start + 7, pid_start, "GS ( H", 4, 7, 3),
        (b2.offset + 1, b2.offset, "GS", 1, 1, 2),
    ];
    for (cut, offset, command, needed, got, complete) in cases {
        let bytes = &job.bytes[..cut];
        for (events, result) in [decode_all(bytes), decode_chunked(bytes, cut as u64)] {
            assert_eq!(
                result,
                Err(DecodeError::Truncated {
                    offset,
                    command,
                    needed,
                    got
                }),
                "cut at {cut}"
            );
            // Bands 0 and 1 are complete with their process ids; band 2's raster only
            // when the cut falls in its process id.
            let rasters: Vec<&Bitmap> = events
                .iter()
                .filter_map(|e| match &e.kind {
                    EventKind::Raster(b) => Some(b),
                    _ => None,
                })
                .collect();
            assert_eq!(rasters.len(), complete, "cut at {cut}");
            assert_eq!(process_ids(&events), vec![*b"0000", *b"0001"]);
            let stacked = stack_rasters(&events);
            let rows = stacked.height();
            let want_rows: u32 = job.bands[..complete].iter().map(|b| b.rows).sum();
            assert_eq!(rows, want_rows, "cut at {cut}");
            for y in (0..rows).step_by(7) {
                assert_eq!(stacked.row(y), pattern.bitmap.row(y), "cut {cut} row {y}");
            }
        }
    }
    let (_, r) = decode_all(&job.bytes[..data_start + 1000]);
    assert_eq!(
        r.expect_err("truncated").to_string(),
        format!(
            "truncated GS v 0 at byte {}: needs {} more bytes, stream ended after 1008",
            b2.offset,
            data_len - 1000
        )
    );
}

#[test]
fn corrupt_raster_mode_is_invalid_at_its_offset() {
    let mut bytes = b"\x1b@ok\n".to_vec();
    let at = bytes.len();
    bytes.extend_from_slice(&[0x1D, 0x76, 0x30, 9, 1, 0, 1, 0, 0xFF]);
    let (events, result) = decode_all(&bytes);
    let err = result.expect_err("mode 9 is corrupt");
    assert_eq!(
        err,
        DecodeError::Invalid {
            offset: at,
            command: "GS v 0",
            reason: "mode 9".to_string()
        }
    );
    assert_eq!(
        err.to_string(),
        format!("invalid GS v 0 at byte {at}: mode 9")
    );
    let kinds: Vec<EventKind> = events.into_iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        vec![
            EventKind::Init,
            EventKind::Text(b"ok".to_vec()),
            EventKind::LineFeed
        ]
    );
}

#[test]
fn realtime_hazard_in_raster_data_is_listed_answered_and_printed() {
    // Row 5 packs to bytes ... 10 04 02 ... at byte columns 10..13.
    let width = 384;
    let mut bitmap = Bitmap::new(width, 20);
    for (i, byte) in [0x10u8, 0x04, 0x02].into_iter().enumerate() {
        for bit in 0..8 {
            if byte & (0x80 >> bit) != 0 {
                bitmap.set((10 + i as u32) * 8 + bit, 5, true);
            }
        }
    }
    bitmap.fill_rect(0, 0, width, 2, true);
    assert_eq!(
        &bitmap.packed_rows()[5 * 48 + 10..5 * 48 + 13],
        &[0x10, 0x04, 0x02]
    );

    let job = encode_bitmap(&bitmap, &EncodeOptions::default()).expect("encode");
    let hazard_at = job.bands[0].offset + 8 + 5 * 48 + 10;
    assert_eq!(
        job.realtime_hazards,
        vec![RealtimeHazard {
            offset: hazard_at,
            n: 2
        }]
    );
    assert_eq!(realtime_hazards(&job.bytes), job.realtime_hazards);
    assert_eq!(job.hazards_within(hazard_at + 2), 0);
    assert_eq!(job.hazards_within(hazard_at + 3), 1);

    let (events, result) = decode_all(&job.bytes);
    result.expect("clean");
    let rt_index = events
        .iter()
        .position(|e| e.kind == EventKind::RealtimeStatus { n: 2 })
        .expect("printer answers the hazard");
    assert_eq!(events[rt_index].offset, hazard_at);
    let raster_index = events
        .iter()
        .position(|e| matches!(e.kind, EventKind::Raster(_)))
        .expect("raster");
    assert!(
        rt_index < raster_index,
        "status is answered before the raster completes"
    );
    assert_eq!(stack_rasters(&events), bitmap, "image data is unchanged");

    // The three bytes split across pushes: every split point inside and around them.
    for split in hazard_at - 1..=hazard_at + 3 {
        let mut decoder = Decoder::new();
        let mut out = Vec::new();
        decoder.push(&job.bytes[..split], &mut out).expect("push");
        let answered_early = out
            .iter()
            .any(|e| e.kind == EventKind::RealtimeStatus { n: 2 });
        assert_eq!(answered_early, split >= hazard_at + 3, "split {split}");
        assert!(
            !out.iter().any(|e| matches!(e.kind, EventKind::Raster(_))),
            "raster is not complete at {split}"
        );
        decoder.push(&job.bytes[split..], &mut out).expect("push");
        decoder.finish(&mut out).expect("finish");
        assert_eq!(out, events, "split {split}");
    }
}

#[test]
fn raster_scaling_modes() {
    // 1 byte wide, 2 rows: row 0 = 1000 0001, row 1 = 0100 0000.
    let data = [0x81u8, 0x40];
    for (m, sx, sy) in [
        (0u8, 1, 1),
        (1, 2, 1),
        (2, 1, 2),
        (3, 2, 2),
        (51, 2, 2),
        (49, 2, 1),
    ] {
        let mut bytes = vec![0x1D, 0x76, 0x30, m, 1, 0, 2, 0];
        bytes.extend_from_slice(&data);
        let (events, result) = decode_all(&bytes);
        result.expect("clean");
        let [Event {
            offset: 0,
            kind: EventKind::Raster(b),
        }] = events.as_slice()
        else {
            panic!("mode {m}: {events:?}");
        };
        assert_eq!((b.width(), b.height()), (8 * sx, 2 * sy), "mode {m}");
        let want = |x: u32, y: u32| {
            let (sx_dot, sy_row) = (x / sx, y / sy);
            data[sy_row as usize] & (0x80 >> sx_dot) != 0
        };
        for y in 0..b.height() {
            for x in 0..b.width() {
                assert_eq!(b.get(x, y), want(x, y), "mode {m} dot ({x}, {y})");
            }
        }
        assert_eq!(b.count(0, 0, b.width(), b.height()), 3 * (sx * sy) as u64);
    }
}

#[test]
fn column_bit_image_modes() {
    // 8-dot modes: column 0 = 1000 0001 (top and bottom dot), column 1 = 0000 0010.
    for (m, sx) in [(0u8, 2u32), (1, 1)] {
        let bytes = [0x1B, 0x2A, m, 2, 0, 0x81, 0x02];
        let (events, result) = decode_all(&bytes);
        result.expect("clean");
        let [Event {
            kind: EventKind::BitImage(b),
            ..
        }] = events.as_slice()
        else {
            panic!("mode {m}: {events:?}");
        };
        assert_eq!((b.width(), b.height()), (2 * sx, 24), "mode {m}");
        // Each vertical bit is 3 rows tall.
        for x in 0..sx {
            for y in 0..3 {
                assert!(b.get(x, y), "mode {m} top dot ({x}, {y})");
                assert!(b.get(x, 21 + y), "mode {m} bottom dot ({x}, {})", 21 + y);
                assert!(
                    b.get(sx + x, 18 + y),
                    "mode {m} column 1 ({}, {})",
                    sx + x,
                    18 + y
                );
            }
            assert!(!b.get(x, 3) && !b.get(x, 20));
        }
        assert_eq!(
            b.count(0, 0, b.width(), 24),
            (3 * 3 * sx) as u64,
            "mode {m}"
        );
    }
    // 24-dot modes: column 0 = top dot only, column 1 = dot 8 (first bit of byte 2)
    // and the bottom dot.
    for (m, sx) in [(32u8, 2u32), (33, 1)] {
        let bytes = [0x1B, 0x2A, m, 2, 0, 0x80, 0x00, 0x00, 0x00, 0x80, 0x01];
        let (events, result) = decode_all(&bytes);
        result.expect("clean");
        let [Event {
            kind: EventKind::BitImage(b),
            ..
        }] = events.as_slice()
        else {
            panic!("mode {m}: {events:?}");
        };
        assert_eq!((b.width(), b.height()), (2 * sx, 24), "mode {m}");
        for x in 0..sx {
            assert!(b.get(x, 0), "mode {m}");
            assert!(b.get(sx + x, 8), "mode {m}");
            assert!(b.get(sx + x, 23), "mode {m}");
        }
        assert_eq!(b.count(0, 0, b.width(), 24), (3 * sx) as u64, "mode {m}");
    }
}

#[test]
fn unknown_commands_are_skipped_and_text_continues() {
    let bytes = b"\x1b@AB\x1b\xfe\x1d\x99C D\r\n\x1cqE\nF";
    let (events, result) = decode_all(bytes);
    result.expect("clean");
    assert_eq!(
        events,
        vec![
            Event {
                offset: 0,
                kind: EventKind::Init
            },
            Event {
                offset: 2,
                kind: EventKind::Text(b"AB".to_vec())
            },
            Event {
                offset: 4,
                kind: EventKind::Unknown {
                    bytes: vec![0x1B, 0xFE]
                }
            },
            Event {
                offset: 6,
                kind: EventKind::Unknown {
                    bytes: vec![0x1D, 0x99]
                }
            },
            Event {
                offset: 8,
                kind: EventKind::Text(b"C D".to_vec())
            },
            Event {
                offset: 12,
                kind: EventKind::LineFeed
            },
            Event {
                offset: 13,
                kind: EventKind::Unknown {
                    bytes: vec![0x1C, b'q']
                }
            },
            Event {
                offset: 15,
                kind: EventKind::Text(b"E".to_vec())
            },
            Event {
                offset: 16,
                kind: EventKind::LineFeed
            },
            Event {
                offset: 17,
                kind: EventKind::Text(b"F".to_vec())
            },
        ]
    );
    // The trailing text only ends with the stream: identical when fed byte by byte.
    let mut decoder = Decoder::new();
    let mut out = Vec::new();
    for b in bytes {
        decoder
            .push(std::slice::from_ref(b), &mut out)
            .expect("push");
    }
    assert_eq!(out.len(), events.len() - 1, "F is pending until finish");
    decoder.finish(&mut out).expect("finish");
    assert_eq!(out, events);
}

#[test]
fn full_cut_and_no_process_ids() {
    let pattern = render(PatternKind::Solid, 384, 0).expect("render");
    let options = EncodeOptions {
        band_rows: 200,
        process_ids: false,
        feed_rows: 0,
        cut: Some(CutKind::Full),
    };
    let job = encode_bitmap(&pattern.bitmap, &options).expect("encode");
    assert_eq!(&job.bytes[job.bytes.len() - 3..], &[0x1D, 0x56, 0x00]);
    let (events, result) = decode_all(&job.bytes);
    result.expect("clean");
    assert!(process_ids(&events).is_empty());
    assert_eq!(stack_rasters(&events), pattern.bitmap);
    assert_eq!(
        events.last().map(|e| &e.kind),
        Some(&EventKind::Cut { partial: false })
    );
    for pair in job.bands.windows(2) {
        assert_eq!(pair[0].end, pair[1].offset);
    }
}

#[test]
fn status_bytes_round_trip_for_every_request_and_flag() {
    type SetFlag = fn(&mut PrinterState);
    let flags: [(&str, SetFlag); 9] = [
        ("offline", |s| s.offline = true),
        ("cover_open", |s| s.cover_open = true),
        ("paper_end", |s| s.paper_end = true),
        ("paper_near_end", |s| s.paper_near_end = true),
        ("error", |s| s.error = true),
        ("autocutter_error", |s| s.autocutter_error = true),
        ("unrecoverable_error", |s| s.unrecoverable_error = true),
        ("auto_recoverable_error", |s| {
            s.auto_recoverable_error = true
        }),
        ("feed_button", |s| s.feed_button = true),
    ];
    let mut states = vec![("none", PrinterState::default())];
    for (name, set) in flags {
        let mut s = PrinterState::default();
        set(&mut s);
        states.push((name, s));
    }
    let mut all = PrinterState::default();
    for (_, set) in flags {
        set(&mut all);
    }
    states.push(("all", all));

    for (name, state) in states {
        let mut rebuilt = PrinterState::default();
        for n in 1..=4 {
            let byte = dle_eot_reply(n, &state).expect("n in 1..=4");
            assert_eq!(
                byte & 0x93,
                0x12,
                "{name} n={n}: fixed bits in 0x{byte:02X}"
            );
            let report = parse_dle_eot(n, byte).expect("valid status byte");
            report.apply(&mut rebuilt);
        }
        assert_eq!(rebuilt, state, "{name}");
    }

    // The documented bit positions.
    let s = PrinterState {
        offline: true,
        ..PrinterState::default()
    };
    assert_eq!(dle_eot_reply(1, &s), Some(0x1A));
    let s = PrinterState {
        paper_end: true,
        ..PrinterState::default()
    };
    assert_eq!(dle_eot_reply(2, &s), Some(0x32));
    assert_eq!(dle_eot_reply(4, &s), Some(0x72));
    let s = PrinterState {
        paper_near_end: true,
        ..PrinterState::default()
    };
    assert_eq!(dle_eot_reply(4, &s), Some(0x1E));
    assert_eq!(
        parse_dle_eot(3, 0x52),
        Ok(StatusReport::ErrorCause {
            autocutter_error: false,
            unrecoverable_error: false,
            auto_recoverable_error: true
        })
    );
    assert_eq!(dle_eot_reply(0, &s), None);
    assert_eq!(dle_eot_reply(5, &s), None);

    for n in 1..=4 {
        assert_eq!(
            parse_dle_eot(n, 0xFF),
            Err(StatusError::NotStatusByte(0xFF))
        );
        assert_eq!(
            parse_dle_eot(n, 0x10),
            Err(StatusError::NotStatusByte(0x10))
        );
    }
    assert_eq!(parse_dle_eot(5, 0x12), Err(StatusError::BadRequest(5)));
}

/// A receipt as a POS sends it: text in several styles and code pages, tabs, every GS k
/// form, a QR code, GS ( L and GS 8 L graphics, ESC * stripes, a raster, a cut.
fn pos_receipt() -> Vec<u8> {
    let mut j = b"\x1b@\x1bt\x02\x1ba\x01\x1d!\x11SHOP\n\x1d!\x00\x1ba\x00".to_vec();
    j.extend_from_slice(b"\x1bE\x01Item\x1bE\x00\tQty\t\x82\x9c 2,50\n\x1b-\x02under\x1b-\x00\n");
    j.extend_from_slice(b"\x1bD\x04\x0a\x00A\tB\n\x1b3\x10\x1bM\x01font B\n\x1b2");
    j.extend_from_slice(b"\x1dH\x02\x1dh\x30\x1dw\x02\x1dk\x02400638133393\x00");
    j.extend_from_slice(b"\x1dkI\x07{BV\x1dVX1");
    j.extend_from_slice(b"\x1d(k\x04\x001A2\x00\x1d(k\x03\x001C\x04\x1d(k\x0a\x001P0receipt");
    j.extend_from_slice(b"\x1d(k\x03\x001Q0");
    j.extend_from_slice(
        b"\x1d(L\x0e\x000p0\x01\x011\x10\x00\x02\x00\xff\xff\x81\x81\x1d(L\x02\x0002",
    );
    j.extend_from_slice(b"\x1d8L\x0b\x00\x00\x000p0\x02\x021\x08\x00\x01\x00\xaa\x1d(L\x02\x0002");
    j.extend_from_slice(b"\x1b*\x21\x02\x00\xff\x00\xff\x0f\xf0\x0f\n");
    j.extend_from_slice(b"\x1dv0\x00\x01\x00\x02\x00\x10\x04");
    j.extend_from_slice(b"\x1dr\x01\x10\x04\x01\x1dVA\x03");
    j
}

#[test]
fn mutated_receipts_never_panic_allocate_past_their_bytes_or_lose_an_offset() {
    use printrig::sim::{print_job, Faults};
    use printrig::util::rng::Rng;
    let base = pos_receipt();
    let (events, clean) = decode_all(&base);
    clean.expect("the receipt itself is clean");
    let count = |f: fn(&EventKind) -> bool| events.iter().filter(|e| f(&e.kind)).count();
    assert_eq!(count(|k| matches!(k, EventKind::Barcode { .. })), 2);
    assert_eq!(count(|k| matches!(k, EventKind::Function { .. })), 8);
    assert_eq!(count(|k| matches!(k, EventKind::Unknown { .. })), 0);
    let mut rng = Rng::new(0x5eed);
    for round in 0..500 {
        let mut job = base.clone();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(job.len() as u64 + 1) as usize;
            match rng.below(4) {
                0 if at < job.len() => job[at] = rng.below(256) as u8,
                1 => job.insert(at, rng.below(256) as u8),
                2 if at < job.len() => {
                    job.remove(at);
                }
                _ => job.truncate(at),
            }
        }
        let (events, result) = decode_all(&job);
        // What the decoder keeps never exceeds what the stream carried.
        for e in &events {
            assert!(e.offset < job.len().max(1), "round {round}: {e:?}");
            let kept = match &e.kind {
                EventKind::Raster(b) | EventKind::BitImage(b) => {
                    (b.width() as usize * b.height() as usize) / (8 * 4 * 3)
                }
                EventKind::Function { data, .. } | EventKind::Barcode { data, .. } => data.len(),
                EventKind::Text(t) => t.len(),
                _ => 0,
            };
            assert!(
                kept <= job.len(),
                "round {round}: {kept} bytes kept from {}",
                job.len()
            );
        }
        if let Err(e) = &result {
            assert!(e.offset() < job.len(), "round {round}: {e}");
            assert!(
                e.to_string().contains(&format!("at byte {}", e.offset())),
                "{e}"
            );
        }
        // The printer takes whatever the decoder gives, and reports the same error.
        let out = print_job(&job, 576, Faults::default(), round);
        assert_eq!(out.error, result.err(), "round {round}");
    }
}
