//! Encoding a bitmap into the print job the rig sends.
//!
//! Owns the job layout: initialise, the image in GS v 0 bands each followed by a
//! process id, paper feed and cut, plus the byte offsets the rig needs to follow a job on
//! the wire. It must not alter the image: where raster bytes happen to spell a real-time
//! command it lists the hazard instead of rewriting the data.

use super::{DLE, EOT, ESC, GS, MAX_RASTER_DOTS, MAX_RASTER_ROWS};
use crate::pattern::Bitmap;
use serde::{Deserialize, Serialize};

/// Most bands a job may have when process ids are on (ids are four decimal digits).
pub const MAX_BANDS: u32 = 10_000;
/// Longest paper feed after the image, in dots (about 8 m at 203 dpi).
pub const MAX_FEED_ROWS: u32 = 65_535;
/// Bytes of a GS v 0 header (`1D 76 30 m xL xH yL yH`).
pub const RASTER_HEADER_LEN: usize = 8;
/// Bytes of a GS ( H process-id command.
pub const PROCESS_ID_LEN: usize = 11;

/// How the job ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CutKind {
    Full,
    Partial,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncodeOptions {
    /// Rows per GS v 0 command, `1..=2303`.
    pub band_rows: u32,
    /// Follow every band with a GS ( H process id.
    pub process_ids: bool,
    /// Paper feed after the image, in dots (`0..=MAX_FEED_ROWS`).
    pub feed_rows: u32,
    /// Cut after the feed, if any.
    pub cut: Option<CutKind>,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        EncodeOptions {
            band_rows: 256,
            process_ids: true,
            feed_rows: 120,
            cut: Some(CutKind::Partial),
        }
    }
}

/// A finished job: the bytes to send and where everything sits in them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    #[serde(skip)]
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
    pub bands: Vec<JobBand>,
    pub realtime_hazards: Vec<RealtimeHazard>,
}

/// One GS v 0 band of a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobBand {
    pub index: u32,
    /// First image row of the band and its number of rows.
    pub row_start: u32,
    pub rows: u32,
    /// Byte offset of the band's GS v 0.
    pub offset: usize,
    /// Byte offset just after the band's process-id command (after its image data when
    /// process ids are off).
    pub end: usize,
    /// The four ASCII digits the printer echoes once the band is printed (`"0000"` for
    /// band 0, ...). All zeros bytes when process ids are off.
    pub process_id: [u8; 4],
}

/// A chance `10 04 n` (n in 1..=4) in the stream: the printer answers it with one status
/// byte although it is image data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RealtimeHazard {
    /// Offset of the 0x10 byte.
    pub offset: usize,
    pub n: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error("cannot encode an empty bitmap ({width} x {height} dots)")]
    Empty { width: u32, height: u32 },
    #[error("bitmap width {0} is not a multiple of 8 dots (GS v 0 sends whole bytes)")]
    WidthNotMultipleOf8(u32),
    #[error("bitmap width {0} exceeds the {MAX_RASTER_DOTS}-dot raster limit")]
    TooWide(u32),
    #[error("band_rows {0} is out of range: use 1 to {MAX_RASTER_ROWS}")]
    BandRows(u32),
    #[error(
        "{bands} bands do not fit in four-digit process ids (at most {MAX_BANDS}): raise band_rows"
    )]
    TooManyBands { bands: u32 },
    #[error("feed of {0} dots exceeds the limit of {MAX_FEED_ROWS}")]
    FeedTooLong(u32),
}

/// The process id of band `index`: its number as four ASCII decimal digits.
pub fn process_id_for_band(index: u32) -> Option<[u8; 4]> {
    if index >= MAX_BANDS {
        return None;
    }
    let digit = |div: u32| b'0' + ((index / div) % 10) as u8;
    Some([digit(1000), digit(100), digit(10), digit(1)])
}

/// The band number a process id names, if it is four ASCII decimal digits.
pub fn band_of_process_id(id: [u8; 4]) -> Option<u32> {
    id.iter().try_fold(0u32, |acc, &d| {
        d.is_ascii_digit().then(|| acc * 10 + u32::from(d - b'0'))
    })
}

/// Encodes a bitmap (1 px = 1 dot) into a job.
pub fn encode_bitmap(bitmap: &Bitmap, opts: &EncodeOptions) -> Result<Job, EncodeError> {
    let (width, height) = (bitmap.width(), bitmap.height());
    if width == 0 || height == 0 {
        return Err(EncodeError::Empty { width, height });
    }
    if width % 8 != 0 {
        return Err(EncodeError::WidthNotMultipleOf8(width));
    }
    if width > MAX_RASTER_DOTS {
        return Err(EncodeError::TooWide(width));
    }
    if !(1..=MAX_RASTER_ROWS).contains(&opts.band_rows) {
        return Err(EncodeError::BandRows(opts.band_rows));
    }
    let band_count = height.div_ceil(opts.band_rows);
    if opts.process_ids && band_count > MAX_BANDS {
        return Err(EncodeError::TooManyBands { bands: band_count });
    }
    if opts.feed_rows > MAX_FEED_ROWS {
        return Err(EncodeError::FeedTooLong(opts.feed_rows));
    }

    let width_bytes = width / 8;
    let packed = bitmap.packed_rows();
    let band_bytes = width_bytes as usize * opts.band_rows as usize;
    let mut bytes = Vec::with_capacity(
        packed.len() + band_count as usize * (RASTER_HEADER_LEN + PROCESS_ID_LEN) + 64,
    );
    bytes.extend_from_slice(&[ESC, b'@']);

    let mut bands = Vec::with_capacity(band_count as usize);
    let mut row_start = 0u32;
    for (index, data) in (0u32..).zip(packed.chunks(band_bytes)) {
        // `data` holds whole rows: packed_rows gives width_bytes per row.
        let rows = (data.len() / width_bytes as usize) as u32;
        let offset = bytes.len();
        let [xl, xh, ..] = width_bytes.to_le_bytes();
        let [yl, yh, ..] = rows.to_le_bytes();
        bytes.extend_from_slice(&[GS, b'v', b'0', 0, xl, xh, yl, yh]);
        bytes.extend_from_slice(data);
        let mut process_id = [0u8; 4];
        if opts.process_ids {
            // Checked above: index < band_count <= MAX_BANDS.
            process_id = process_id_for_band(index)
                .ok_or(EncodeError::TooManyBands { bands: band_count })?;
            bytes.extend_from_slice(&[GS, b'(', b'H', 6, 0, 0x30, 0x30]);
            bytes.extend_from_slice(&process_id);
        }
        bands.push(JobBand {
            index,
            row_start,
            rows,
            offset,
            end: bytes.len(),
            process_id,
        });
        row_start += rows;
    }

    let mut feed = opts.feed_rows;
    while feed > 0 {
        let n = feed.min(255);
        bytes.extend_from_slice(&[ESC, b'J', n as u8]);
        feed -= n;
    }
    match opts.cut {
        Some(CutKind::Full) => bytes.extend_from_slice(&[GS, b'V', 0]),
        Some(CutKind::Partial) => bytes.extend_from_slice(&[GS, b'V', 1]),
        None => {}
    }

    let realtime_hazards = realtime_hazards(&bytes);
    Ok(Job {
        bytes,
        width,
        height,
        bands,
        realtime_hazards,
    })
}

/// Every `10 04 n` (n in 1..=4) in `bytes`. Such sequences cannot overlap (neither 0x04
/// nor 1..=4 is 0x10), so each byte belongs to at most one hazard.
pub fn realtime_hazards(bytes: &[u8]) -> Vec<RealtimeHazard> {
    bytes
        .windows(3)
        .enumerate()
        .filter_map(|(offset, w)| match *w {
            [DLE, EOT, n @ 1..=4] => Some(RealtimeHazard { offset, n }),
            _ => None,
        })
        .collect()
}

/// The band whose bytes (from its GS v 0 up to its `end`) include `offset`; `None` for
/// the initialise, feed and cut bytes around the bands.
pub fn band_of_offset(job: &Job, offset: usize) -> Option<u32> {
    let i = job.bands.partition_point(|b| b.end <= offset);
    job.bands
        .get(i)
        .filter(|b| b.offset <= offset)
        .map(|b| b.index)
}

impl Job {
    /// Number of extra status bytes the printer owes once `sent` bytes of the job have
    /// been sent (hazards whose three bytes are all among them).
    pub fn hazards_within(&self, sent: usize) -> usize {
        self.realtime_hazards
            .iter()
            .filter(|h| h.offset + 3 <= sent)
            .count()
    }

    /// The band a process-id reply confirms as printed.
    pub fn band_of_process_id(&self, id: [u8; 4]) -> Option<&JobBand> {
        self.bands
            .iter()
            .find(|b| b.process_id == id && id != [0; 4])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bitmap(width: u32, height: u32) -> Bitmap {
        let mut b = Bitmap::new(width, height);
        for y in 0..height {
            b.set(y % width, y, true);
        }
        b
    }

    #[test]
    fn layout_of_a_small_job() {
        let opts = EncodeOptions {
            band_rows: 3,
            feed_rows: 300,
            ..EncodeOptions::default()
        };
        let job = encode_bitmap(&bitmap(16, 7), &opts).expect("encode");
        assert_eq!(job.bands.len(), 3);
        assert_eq!(&job.bytes[..2], &[0x1B, 0x40]);
        let b0 = &job.bands[0];
        assert_eq!(b0.offset, 2);
        assert_eq!(
            &job.bytes[2..10],
            &[0x1D, 0x76, 0x30, 0, 2, 0, 3, 0],
            "header of band 0"
        );
        assert_eq!(b0.end, 2 + 8 + 6 + 11);
        assert_eq!(&job.bytes[b0.end - 11..b0.end], b"\x1d(H\x06\x00000000");
        let last = &job.bands[2];
        assert_eq!((last.row_start, last.rows), (6, 1));
        assert_eq!(&last.process_id, b"0002");
        assert_eq!(
            &job.bytes[last.end..],
            &[0x1B, 0x4A, 255, 0x1B, 0x4A, 45, 0x1D, 0x56, 1]
        );
        assert_eq!(band_of_offset(&job, 0), None);
        assert_eq!(band_of_offset(&job, 2), Some(0));
        assert_eq!(band_of_offset(&job, b0.end), Some(1));
        assert_eq!(band_of_offset(&job, last.end - 1), Some(2));
        assert_eq!(band_of_offset(&job, last.end), None);
    }

    #[test]
    fn options_are_checked() {
        let ok = bitmap(16, 4);
        let with = |band_rows, feed_rows| EncodeOptions {
            band_rows,
            feed_rows,
            ..EncodeOptions::default()
        };
        assert_eq!(
            encode_bitmap(&bitmap(12, 4), &EncodeOptions::default()),
            Err(EncodeError::WidthNotMultipleOf8(12))
        );
        assert_eq!(
            encode_bitmap(&ok, &with(0, 0)),
            Err(EncodeError::BandRows(0))
        );
        assert_eq!(
            encode_bitmap(&ok, &with(2304, 0)),
            Err(EncodeError::BandRows(2304))
        );
        assert!(encode_bitmap(&ok, &with(2303, 0)).is_ok());
        assert_eq!(
            encode_bitmap(&ok, &with(1, MAX_FEED_ROWS + 1)),
            Err(EncodeError::FeedTooLong(MAX_FEED_ROWS + 1))
        );
        assert!(matches!(
            encode_bitmap(&Bitmap::new(8, 0), &EncodeOptions::default()),
            Err(EncodeError::Empty { .. })
        ));
        assert_eq!(
            encode_bitmap(&bitmap(8, 10_001), &with(1, 0)),
            Err(EncodeError::TooManyBands { bands: 10_001 })
        );
        let no_ids = EncodeOptions {
            band_rows: 1,
            process_ids: false,
            feed_rows: 0,
            cut: None,
        };
        let job = encode_bitmap(&bitmap(8, 10_001), &no_ids).expect("no ids, no band limit");
        assert_eq!(job.bands.len(), 10_001);
        assert_eq!(job.bands[5].end, job.bands[6].offset);
        assert_eq!(job.bytes.len(), 2 + 10_001 * 9);
    }

    #[test]
    fn process_ids_are_four_digits() {
        assert_eq!(process_id_for_band(0), Some(*b"0000"));
        assert_eq!(process_id_for_band(42), Some(*b"0042"));
        assert_eq!(process_id_for_band(9999), Some(*b"9999"));
        assert_eq!(process_id_for_band(10_000), None);
        assert_eq!(band_of_process_id(*b"0042"), Some(42));
        assert_eq!(band_of_process_id(*b"00x2"), None);
    }

    #[test]
    fn hazards_are_found_anywhere() {
        let bytes = [
            0x10, 0x04, 0x01, 0x10, 0x10, 0x04, 0x04, 0x10, 0x04, 0x05, 0x10, 0x04,
        ];
        assert_eq!(
            realtime_hazards(&bytes),
            vec![
                RealtimeHazard { offset: 0, n: 1 },
                RealtimeHazard { offset: 4, n: 4 }
            ]
        );
        assert!(realtime_hazards(&[0x10, 0x04]).is_empty());
    }
}
