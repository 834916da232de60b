//! Image files: reading scans (any PNG, PNM, TIFF or JPEG a scanner writes) into 8-bit grey
//! with errors that name the file, and writing PNGs atomically.
//!
//! A scan cut short is invalid input, never a picture: decoders fill what a truncated JPEG
//! lacks with grey and say nothing, or say only "failed to fill whole buffer", so before a
//! scan is decoded its structure is walked (PNG: every chunk whole, up to `IEND`; JPEG:
//! every segment and the entropy-coded data up to `EOI`; TIFF: the first image directory
//! and every strip or tile it names; binary PNM: the header and the raster its size
//! needs). A file that lacks part of it is refused, naming what is missing. Scans larger
//! than [`MAX_SCAN_BYTES`] are refused before they are read, and images of more than
//! [`MAX_SCAN_PIXELS`] before they are decoded. A file is never given more memory to
//! decode than its size can need ([`decode_budget`]): a header claiming more is damaged,
//! and a PNG whose compressed data could not inflate to the image its header claims is
//! refused as such before it is decoded.

use image::{DynamicImage, GrayImage};
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ImageFileError {
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is empty (0 bytes): the scan was not written")]
    Empty { path: PathBuf },
    #[error(
        "{path} is not an image this rig reads (PNG, PNM, TIFF or JPEG); it starts with {head}"
    )]
    NotAnImage { path: PathBuf, head: String },
    #[error("{path} is a damaged or truncated {format} image: {detail}")]
    Corrupt {
        path: PathBuf,
        format: String,
        detail: String,
    },
    #[error("{path} is a damaged or truncated {format} image: {missing}")]
    Truncated {
        path: PathBuf,
        format: String,
        missing: String,
    },
    #[error("{path} is {bytes} bytes: larger than the {limit} bytes a scan may be")]
    TooLarge {
        path: PathBuf,
        bytes: u64,
        limit: u64,
    },
    #[error("{path} is {width}×{height} pixels: too small to hold a printed pattern")]
    TooSmall {
        path: PathBuf,
        width: u32,
        height: u32,
    },
    #[error("{path} is {width}×{height} pixels: more than the {limit} pixels a scan may be")]
    TooManyPixels {
        path: PathBuf,
        width: u32,
        height: u32,
        limit: u64,
    },
    #[error("cannot write {path}: {detail}")]
    Write { path: PathBuf, detail: String },
    #[error("cannot write {path}: {source}")]
    WriteFile {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Reads a scan file into 8-bit grey (colour is converted to luma, 16-bit is scaled).
///
/// The file is decoded as it is read, so the file's bytes are never held beside the
/// decoded image: peak memory is the image plus the decoder's working buffers.
pub fn read_scan(path: &Path) -> Result<GrayImage, ImageFileError> {
    let read_err = |source| ImageFileError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_err)?;
    let meta = file.metadata().map_err(read_err)?;
    if !meta.is_file() {
        return Err(read_err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        )));
    }
    if meta.len() == 0 {
        return Err(ImageFileError::Empty {
            path: path.to_path_buf(),
        });
    }
    if meta.len() > MAX_SCAN_BYTES {
        return Err(ImageFileError::TooLarge {
            path: path.to_path_buf(),
            bytes: meta.len(),
            limit: MAX_SCAN_BYTES,
        });
    }
    let mut buffered = std::io::BufReader::with_capacity(1 << 16, file);
    let mut head = [0u8; 16];
    let n = read_full(&mut buffered, &mut head).map_err(read_err)?;
    let Ok(format) = image::guess_format(&head[..n]) else {
        return Err(ImageFileError::NotAnImage {
            path: path.to_path_buf(),
            head: describe_head(&head[..n]),
        });
    };
    check_complete(path, format, &mut buffered)?;
    buffered
        .seek(std::io::SeekFrom::Start(0))
        .map_err(read_err)?;
    decode_bounded(path, format, buffered, meta.len())
}

/// Decodes an image of `file_bytes` bytes once its header says it has at most
/// [`MAX_SCAN_PIXELS`] pixels and fits the file's [`decode_budget`], the decoder held to
/// that budget throughout.
fn decode_bounded<R: std::io::BufRead + Seek>(
    path: &Path,
    format: image::ImageFormat,
    r: R,
    file_bytes: u64,
) -> Result<GrayImage, ImageFileError> {
    let budget = decode_budget(file_bytes);
    let damaged = |missing: String| ImageFileError::Truncated {
        path: path.to_path_buf(),
        format: format!("{format:?}").to_uppercase(),
        missing,
    };
    let over_budget = |e: image::ImageError| match e {
        image::ImageError::Limits(_) => damaged(format!(
            "decoding it takes more memory than a file of {file_bytes} bytes can need (at \
             most {budget} bytes)"
        )),
        e => corrupt(path, format, e),
    };
    let mut reader = image::ImageReader::with_format(r, format);
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(budget);
    reader.limits(limits);
    let decoder = reader.into_decoder().map_err(over_budget)?;
    let (width, height) = image::ImageDecoder::dimensions(&decoder);
    if u64::from(width) * u64::from(height) > MAX_SCAN_PIXELS {
        return Err(ImageFileError::TooManyPixels {
            path: path.to_path_buf(),
            width,
            height,
            limit: MAX_SCAN_PIXELS,
        });
    }
    let claimed = image::ImageDecoder::total_bytes(&decoder);
    if claimed > budget {
        return Err(damaged(format!(
            "its {file_bytes} bytes cannot hold the {width}×{height} image its header claims \
             ({claimed} bytes decoded; a scan file holds at most {DECODE_RATIO} bytes of \
             image a byte)"
        )));
    }
    let img = DynamicImage::from_decoder(decoder).map_err(over_budget)?;
    to_grey(path, img)
}

/// The most bytes of image a scan file holds for each of its bytes: no format a scanner
/// writes packs more (deflate gives back at most 1 032 bytes a byte, LZW about 1 340,
/// baseline JPEG 512 of RGB).
pub const DECODE_RATIO: u64 = 2048;

/// The memory a scan of `file_bytes` bytes may take to decode (its image and the decoder's
/// own buffers): [`DECODE_RATIO`] times its size, at least 16 MiB, at most 512 MiB.
pub fn decode_budget(file_bytes: u64) -> u64 {
    file_bytes
        .saturating_mul(DECODE_RATIO)
        .clamp(16 << 20, 512 << 20)
}

/// Decodes scan bytes held in memory; `path` only names the source in errors.
pub fn decode_scan(path: &Path, bytes: &[u8]) -> Result<GrayImage, ImageFileError> {
    if bytes.is_empty() {
        return Err(ImageFileError::Empty {
            path: path.to_path_buf(),
        });
    }
    let format = image::guess_format(bytes).map_err(|_| ImageFileError::NotAnImage {
        path: path.to_path_buf(),
        head: describe_head(bytes),
    })?;
    check_complete(path, format, &mut std::io::Cursor::new(bytes))?;
    decode_bounded(
        path,
        format,
        std::io::Cursor::new(bytes),
        bytes.len() as u64,
    )
}

/// The largest scan file the rig reads: a 1200-dpi grey scan of a 80 mm receipt a metre
/// long, uncompressed, is about 180 MB.
pub const MAX_SCAN_BYTES: u64 = 512 * 1024 * 1024;

/// The most pixels a scan may have, checked from its header before it is decoded: that
/// 1200-dpi scan of a metre of 80 mm paper is 179 million, a whole A4 flatbed at 1200 dpi
/// 139 million.
pub const MAX_SCAN_PIXELS: u64 = 250_000_000;

/// The most bytes deflate gives back for one byte it was given (the longest match, 258
/// bytes, in as few bits as a code can take): a PNG's image data inflates to at most this
/// many times its size.
const DEFLATE_MAX_RATIO: u64 = 1032;

/// Walks a PNG's chunks or a JPEG's segments to the image's end marker, a TIFF's first
/// directory and every strip or tile it names, a binary PNM's header and raster; other
/// files (ASCII PNM) are left to their decoders.
fn check_complete<R: Read + Seek>(
    path: &Path,
    format: image::ImageFormat,
    r: &mut R,
) -> Result<(), ImageFileError> {
    let missing = match format {
        image::ImageFormat::Png => png_missing(r),
        image::ImageFormat::Jpeg => jpeg_missing(r),
        image::ImageFormat::Tiff => tiff_missing(r),
        image::ImageFormat::Pnm => pnm_missing(r),
        _ => Ok(None),
    }
    .map_err(|source| ImageFileError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    match missing {
        None => Ok(()),
        Some(missing) => Err(ImageFileError::Truncated {
            path: path.to_path_buf(),
            format: format!("{format:?}").to_uppercase(),
            missing,
        }),
    }
}

/// Reads up to `buf.len()` bytes; fewer only at the end of the file.
fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// The bytes a PNG's image data inflates to at the least, from its IHDR chunk's data
/// (`width`, `height`, bit depth, colour type): a filter byte and the packed pixels of every
/// row (an interlaced image has more rows, so more).
fn png_raw_bytes(ihdr: &[u8]) -> Option<u64> {
    let [w0, w1, w2, w3, h0, h1, h2, h3, depth, colour, ..] = *ihdr else {
        return None;
    };
    let (width, height) = (
        u64::from(u32::from_be_bytes([w0, w1, w2, w3])),
        u64::from(u32::from_be_bytes([h0, h1, h2, h3])),
    );
    let channels = match colour {
        0 | 3 => 1,
        2 => 3,
        4 => 2,
        6 => 4,
        _ => return None,
    };
    let row_bits = width.checked_mul(channels * u64::from(depth))?;
    height.checked_mul(1 + row_bits.div_ceil(8))
}

/// What a PNG lacks: `None` when its chunks are whole up to `IEND` and its image data can
/// hold the image its header claims.
fn png_missing<R: Read + Seek>(r: &mut R) -> std::io::Result<Option<String>> {
    r.seek(std::io::SeekFrom::Start(0))?;
    let total = r.seek(std::io::SeekFrom::End(0))?;
    let mut pos = 8u64; // the signature
    let mut last = "the signature".to_string();
    let mut idat = false;
    // Compressed image data, and what the header says it inflates to at the least.
    let mut idat_bytes = 0u64;
    let mut raw: Option<u64> = None;
    loop {
        if pos + 12 > total {
            let what = if idat {
                "the end of its image data and the IEND chunk"
            } else {
                "its image data (no IDAT chunk) and the IEND chunk"
            };
            return Ok(Some(format!(
                "it ends after {total} bytes, within or after {last}; missing {what}"
            )));
        }
        r.seek(std::io::SeekFrom::Start(pos))?;
        let mut head = [0u8; 8];
        if read_full(r, &mut head)? < 8 {
            return Ok(Some(format!(
                "it ends after {total} bytes in a chunk header"
            )));
        }
        let len = u64::from(u32::from_be_bytes([head[0], head[1], head[2], head[3]]));
        let kind = String::from_utf8_lossy(&head[4..8]).into_owned();
        let end = pos + 12 + len;
        if end > total {
            return Ok(Some(format!(
                "its {kind} chunk at byte {pos} holds {len} bytes but the file ends {} bytes \
                 into it; missing the rest of the image data and the IEND chunk",
                total - pos - 8
            )));
        }
        if kind == "IEND" {
            return Ok(match raw {
                Some(raw) if raw > idat_bytes.saturating_mul(DEFLATE_MAX_RATIO) + 1024 => {
                    Some(format!(
                        "its image data ({idat_bytes} bytes) cannot hold what its header \
                         claims (at least {raw} bytes once inflated; deflate gives back at \
                         most {DEFLATE_MAX_RATIO} bytes a byte): the image data is cut short or \
                         the header damaged"
                    ))
                }
                _ => None,
            });
        }
        if kind == "IHDR" && raw.is_none() {
            let mut data = [0u8; 13];
            if len >= 13 && read_full(r, &mut data)? == 13 {
                // A header whose sizes overflow holds more than any scan: the pixel bound
                // refuses it once it is decoded.
                raw = Some(png_raw_bytes(&data).unwrap_or(0));
            }
        }
        if kind == "IDAT" {
            idat_bytes = idat_bytes.saturating_add(len);
        }
        idat |= kind == "IDAT";
        last = format!("the {kind} chunk at byte {pos}");
        pos = end;
    }
}

/// What a JPEG lacks: `None` when its segments and entropy-coded data run whole to `EOI`.
fn jpeg_missing<R: Read + Seek>(r: &mut R) -> std::io::Result<Option<String>> {
    r.seek(std::io::SeekFrom::Start(0))?;
    let total = r.seek(std::io::SeekFrom::End(0))?;
    r.seek(std::io::SeekFrom::Start(2))?; // SOI
    let mut br = std::io::BufReader::with_capacity(1 << 16, r);
    let mut pos = 2u64;
    let mut scans = 0u32;
    let ended = |what: &str, scans: u32| {
        Some(format!(
            "it ends after {total} bytes {what}{}; missing the rest of the image and the \
             end-of-image marker (FF D9)",
            if scans > 0 {
                format!(" (in scan {scans})")
            } else {
                String::new()
            }
        ))
    };
    let byte =
        |br: &mut std::io::BufReader<&mut R>, pos: &mut u64| -> std::io::Result<Option<u8>> {
            let mut b = [0u8; 1];
            let n = read_full(br, &mut b)?;
            *pos += n as u64;
            Ok((n == 1).then_some(b[0]))
        };
    // After a marker segment (or SOI), the next byte should start a marker.
    let mut in_scan = false;
    loop {
        let Some(b) = byte(&mut br, &mut pos)? else {
            return Ok(ended(
                if in_scan {
                    "in the scan data"
                } else {
                    "between segments"
                },
                scans,
            ));
        };
        if b != 0xFF {
            // Entropy-coded data (or stray bytes between segments, the decoder's concern).
            continue;
        }
        // One or more fill bytes 0xFF, then the marker code.
        let mut code = 0xFF;
        while code == 0xFF {
            match byte(&mut br, &mut pos)? {
                Some(c) => code = c,
                None => return Ok(ended("in a marker", scans)),
            }
        }
        match code {
            // A stuffed 0xFF in the scan data, restart markers, TEM, SOI.
            0x00 | 0x01 | 0xD0..=0xD8 => continue,
            0xD9 => return Ok(None),
            _ => {
                let mut len = [0u8; 2];
                let n = read_full(&mut br, &mut len)?;
                pos += n as u64;
                if n < 2 {
                    return Ok(ended("in a segment header", scans));
                }
                let len = u64::from(u16::from_be_bytes(len)).saturating_sub(2);
                if pos + len > total {
                    return Ok(ended(&format!("in the FF {code:02X} segment"), scans));
                }
                br.seek_relative(len as i64)?;
                pos += len;
                in_scan = code == 0xDA;
                if in_scan {
                    scans += 1;
                }
            }
        }
    }
}

/// A TIFF's byte order.
struct TiffLayout {
    big_endian: bool,
}

impl TiffLayout {
    fn uint(&self, b: &[u8]) -> u64 {
        let mut v = 0u64;
        if self.big_endian {
            for &x in b {
                v = (v << 8) | u64::from(x);
            }
        } else {
            for &x in b.iter().rev() {
                v = (v << 8) | u64::from(x);
            }
        }
        v
    }

    /// Bytes of a value of TIFF field type `kind` (SHORT, LONG), if it is one of those
    /// an offset or byte count may have.
    fn size_of(kind: u64) -> Option<u64> {
        match kind {
            3 => Some(2),
            4 | 13 => Some(4),
            _ => None,
        }
    }
}

/// Where a TIFF directory entry's values are: their type's size, how many, and the byte
/// they start at.
#[derive(Clone, Copy)]
struct TiffValues {
    size: u64,
    count: u64,
    at: u64,
}

/// What a TIFF lacks: `None` when its first image directory and every strip (or tile)
/// it names lie whole within the file.
fn tiff_missing<R: Read + Seek>(r: &mut R) -> std::io::Result<Option<String>> {
    r.seek(std::io::SeekFrom::Start(0))?;
    let total = r.seek(std::io::SeekFrom::End(0))?;
    r.seek(std::io::SeekFrom::Start(0))?;
    // Byte order, 42, the first directory's offset. (BigTIFF is not read by this rig.)
    let mut head = [0u8; 8];
    let n = read_full(r, &mut head)? as u64;
    let t = TiffLayout {
        big_endian: head[0] == b'M',
    };
    let (header, word) = (8u64, 4u64);
    if n < header {
        return Ok(Some(format!(
            "it ends after {total} bytes in its header; missing its image directory and image data"
        )));
    }
    let ifd = t.uint(&head[4..8]);
    let (count_size, entry_size) = (2u64, 12u64);
    if ifd.saturating_add(count_size) > total {
        return Ok(Some(format!(
            "its image directory is at byte {ifd}, but the file ends after {total} bytes; \
             missing the directory (what the image is and where its data lies) and the \
             image data after byte {total}"
        )));
    }
    r.seek(std::io::SeekFrom::Start(ifd))?;
    let mut cnt = [0u8; 2];
    read_full(r, &mut cnt)?;
    let entries = t.uint(&cnt);
    let ifd_end = ifd
        .saturating_add(count_size)
        .saturating_add(entries.saturating_mul(entry_size));
    if ifd_end > total {
        return Ok(Some(format!(
            "its image directory at byte {ifd} has {entries} entries but the file ends {} \
             bytes into it; missing the rest of the directory and the image data",
            total - ifd
        )));
    }
    // Offsets and byte counts of the strips, or of the tiles.
    let mut found: [Option<TiffValues>; 4] = [None; 4];
    let mut entry = vec![0u8; entry_size as usize];
    for i in 0..entries {
        r.seek(std::io::SeekFrom::Start(ifd + count_size + i * entry_size))?;
        read_full(r, &mut entry)?;
        let tag = t.uint(&entry[0..2]);
        let slot = match tag {
            273 => 0, // StripOffsets
            279 => 1, // StripByteCounts
            324 => 2, // TileOffsets
            325 => 3, // TileByteCounts
            _ => continue,
        };
        let Some(size) = TiffLayout::size_of(t.uint(&entry[2..4])) else {
            continue;
        };
        let count = t.uint(&entry[4..8]);
        // Values that fit in the entry's last four bytes are kept there.
        let at = if count.saturating_mul(size) <= word {
            ifd + count_size + i * entry_size + 8
        } else {
            t.uint(&entry[8..12])
        };
        found[slot] = Some(TiffValues { size, count, at });
    }
    let (what, offsets, counts) = match found {
        [Some(o), Some(c), _, _] => ("strip", o, c),
        [_, _, Some(o), Some(c)] => ("tile", o, c),
        // No data layout to check: the decoder says what is wrong, if anything.
        _ => return Ok(None),
    };
    for v in [offsets, counts] {
        if v.at.saturating_add(v.count.saturating_mul(v.size)) > total {
            return Ok(Some(format!(
                "the list of its {what}s at byte {} runs past the end of the file (it ends \
                 after {total} bytes); missing where its image data lies and the data",
                v.at
            )));
        }
    }
    let parts = offsets.count.min(counts.count);
    let (mut whole, mut short, mut first_cut) = (0u64, 0u64, None);
    const CHUNK: u64 = 4096;
    let mut start = 0;
    while start < parts {
        let n = CHUNK.min(parts - start);
        let read = |r: &mut R, v: TiffValues| -> std::io::Result<Vec<u64>> {
            let mut b = vec![0u8; (n * v.size) as usize];
            r.seek(std::io::SeekFrom::Start(v.at + start * v.size))?;
            read_full(r, &mut b)?;
            Ok(b.chunks(v.size as usize).map(|c| t.uint(c)).collect())
        };
        let offs = read(r, offsets)?;
        let lens = read(r, counts)?;
        for (k, (&off, &len)) in offs.iter().zip(&lens).enumerate() {
            let end = off.saturating_add(len);
            whole = whole.saturating_add(len);
            if end > total {
                short = short.saturating_add(end - total.max(off));
                first_cut.get_or_insert((start + k as u64, off, len));
            }
        }
        start += n;
    }
    Ok(first_cut.map(|(k, off, len)| {
        let within = if off >= total {
            "starts after the end of the file".to_string()
        } else {
            format!(
                "holds {len} bytes but the file ends {} bytes into it",
                total - off
            )
        };
        format!(
            "{what} {} of {parts} at byte {off} {within} (the file ends after {total} \
             bytes); missing {short} of its {whole} bytes of image data",
            k + 1
        )
    }))
}

/// What a binary PNM (P4, P5, P6, P7) lacks: `None` when its raster is whole after its
/// header. ASCII PNM (P1–P3) is left to the decoder.
fn pnm_missing<R: Read + Seek>(r: &mut R) -> std::io::Result<Option<String>> {
    r.seek(std::io::SeekFrom::Start(0))?;
    let total = r.seek(std::io::SeekFrom::End(0))?;
    r.seek(std::io::SeekFrom::Start(0))?;
    // A header longer than this (comments included) is left to the decoder.
    const MAX_HEADER: usize = 4096;
    let mut head = vec![0u8; MAX_HEADER.min(total as usize)];
    let n = read_full(r, &mut head)?;
    head.truncate(n);
    let kind = head.get(1).copied().unwrap_or(0);
    let short_header = || {
        Some(format!(
            "it ends after {total} bytes in its header; missing its size and its raster"
        ))
    };
    // (width, height, samples per pixel, bytes per sample or 0 for one bit, header end)
    let layout = match kind {
        b'4' | b'5' | b'6' => {
            let fields = if kind == b'4' { 2 } else { 3 };
            let mut values = Vec::new();
            let mut i = 2;
            while values.len() < fields {
                while i < head.len() && (head[i].is_ascii_whitespace() || head[i] == b'#') {
                    if head[i] == b'#' {
                        while i < head.len() && head[i] != b'\n' {
                            i += 1;
                        }
                    } else {
                        i += 1;
                    }
                }
                let from = i;
                while i < head.len() && head[i].is_ascii_digit() {
                    i += 1;
                }
                if i == head.len() {
                    return Ok(if n < MAX_HEADER { short_header() } else { None });
                }
                let Some(v) = std::str::from_utf8(&head[from..i])
                    .ok()
                    .and_then(|d| d.parse::<u64>().ok())
                else {
                    return Ok(None);
                };
                values.push(v);
            }
            // One whitespace byte ends the header.
            let end = i as u64 + 1;
            let (w, h) = (values[0], values[1]);
            match kind {
                b'4' => (w, h, 1, 0, end),
                b'5' => (w, h, 1, if values[2] > 255 { 2 } else { 1 }, end),
                _ => (w, h, 3, if values[2] > 255 { 2 } else { 1 }, end),
            }
        }
        b'7' => {
            let Some(end) = head.windows(7).position(|w| w == b"ENDHDR\n") else {
                return Ok(if n < MAX_HEADER { short_header() } else { None });
            };
            let text = String::from_utf8_lossy(&head[..end]);
            let field = |name: &str| {
                text.lines().find_map(|l| {
                    let mut it = l.split_whitespace();
                    (it.next() == Some(name))
                        .then(|| it.next().and_then(|v| v.parse::<u64>().ok()))
                        .flatten()
                })
            };
            let (Some(w), Some(h), Some(d), Some(max)) = (
                field("WIDTH"),
                field("HEIGHT"),
                field("DEPTH"),
                field("MAXVAL"),
            ) else {
                return Ok(None);
            };
            (w, h, d, if max > 255 { 2 } else { 1 }, (end + 7) as u64)
        }
        _ => return Ok(None),
    };
    let (w, h, samples, bytes, header) = layout;
    let row = if bytes == 0 {
        w.div_ceil(8)
    } else {
        w.saturating_mul(samples).saturating_mul(bytes)
    };
    let needed = row.saturating_mul(h);
    let have = total.saturating_sub(header);
    if have >= needed {
        return Ok(None);
    }
    let rows = have.checked_div(row).unwrap_or(0);
    Ok(Some(format!(
        "its {w}×{h} raster needs {needed} bytes after its {header}-byte header, but the \
         file ends after {total} bytes; missing {} bytes (rows {} to {h})",
        needed - have,
        rows + 1
    )))
}

fn corrupt(path: &Path, format: image::ImageFormat, e: image::ImageError) -> ImageFileError {
    ImageFileError::Corrupt {
        path: path.to_path_buf(),
        format: format!("{format:?}").to_uppercase(),
        detail: e.to_string(),
    }
}

/// The decoded image as 8-bit grey, refused when too small to hold a pattern.
fn to_grey(path: &Path, img: DynamicImage) -> Result<GrayImage, ImageFileError> {
    let gray = match img {
        DynamicImage::ImageLuma8(g) => g,
        other => other.to_luma8(),
    };
    if gray.width() < 32 || gray.height() < 32 {
        return Err(ImageFileError::TooSmall {
            path: path.to_path_buf(),
            width: gray.width(),
            height: gray.height(),
        });
    }
    Ok(gray)
}

fn describe_head(bytes: &[u8]) -> String {
    let head = &bytes[..bytes.len().min(8)];
    if head.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        format!("\"{}\"", String::from_utf8_lossy(head))
    } else {
        head.iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// What a PNG written by the rig holds: 8-bit grey, or 8-bit palette indices with their
/// palette (RGB triples).
#[derive(Debug, Clone, Copy)]
pub enum PngPixels<'a> {
    Grey,
    Indexed { palette: &'a [u8] },
}

/// Encodes 8-bit pixels (`width` × `height`, rows top to bottom) as PNG bytes.
///
/// Fast compression and the "up" filter on every row. The rig writes a scan (simulated
/// stations), an overlay and a thumbnail for every case and decodes every scan: on a noisy
/// 600-dpi scan this encodes in three quarters of the time adaptive filtering takes and
/// decodes in little more than half (no Paeth rows), for about 5 % more bytes. The image
/// data is streamed into IDAT chunks of an output buffer sized up front, so neither it nor
/// an intermediate buffer is regrown and copied.
pub fn encode_png(
    raw: &[u8],
    width: u32,
    height: u32,
    pixels: PngPixels,
) -> Result<Vec<u8>, String> {
    use std::io::Write;
    let expected = width as usize * height as usize;
    if raw.len() != expected {
        return Err(format!(
            "{} bytes of pixels for a {width} × {height} image ({expected} expected)",
            raw.len()
        ));
    }
    // Room for incompressible data: the rows, their filter bytes and the chunk framing.
    let mut buf = Vec::with_capacity(raw.len() + raw.len() / 8 + height as usize + 4096);
    let mut enc = png::Encoder::new(&mut buf, width, height);
    enc.set_depth(png::BitDepth::Eight);
    match pixels {
        PngPixels::Grey => enc.set_color(png::ColorType::Grayscale),
        PngPixels::Indexed { palette } => {
            enc.set_color(png::ColorType::Indexed);
            enc.set_palette(palette.to_vec());
        }
    }
    enc.set_compression(png::Compression::Fast);
    enc.set_filter(png::Filter::Up);
    let mut header = enc.write_header().map_err(|e| e.to_string())?;
    let mut stream = header
        .stream_writer_with_size(IDAT_CHUNK)
        .map_err(|e| e.to_string())?;
    stream.write_all(raw).map_err(|e| e.to_string())?;
    stream.finish().map_err(|e| e.to_string())?;
    header.finish().map_err(|e| e.to_string())?;
    Ok(buf)
}

/// Bytes of compressed image data per IDAT chunk.
const IDAT_CHUNK: usize = 256 * 1024;

/// Writes a grey PNG atomically.
pub fn write_gray_png(path: &Path, img: &GrayImage) -> Result<(), ImageFileError> {
    let bytes =
        encode_png(img.as_raw(), img.width(), img.height(), PngPixels::Grey).map_err(|detail| {
            ImageFileError::Write {
                path: path.to_path_buf(),
                detail,
            }
        })?;
    crate::util::fsio::write_atomic(path, &bytes).map_err(|source| ImageFileError::WriteFile {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noisy(w: u32, h: u32) -> GrayImage {
        let mut rng = crate::util::rng::Rng::new(9);
        GrayImage::from_fn(w, h, |x, _| {
            image::Luma([(200 + (x % 7) as i64 * 3 + rng.below(20) as i64) as u8])
        })
    }

    #[test]
    fn a_grey_png_decodes_to_the_same_pixels() {
        let img = noisy(301, 117);
        let bytes = encode_png(img.as_raw(), 301, 117, PngPixels::Grey).expect("encodes");
        let back = decode_scan(Path::new("t.png"), &bytes).expect("decodes");
        assert_eq!(back.dimensions(), (301, 117));
        assert!(back.as_raw() == img.as_raw());
        assert_eq!(bytes.windows(4).filter(|w| w == b"IEND").count(), 1);
    }

    #[test]
    fn a_palette_png_decodes_through_its_palette() {
        let palette = [0, 0, 0, 255, 0, 0, 10, 20, 30];
        let idx: Vec<u8> = (0..40 * 30).map(|i| (i % 3) as u8).collect();
        let bytes =
            encode_png(&idx, 40, 30, PngPixels::Indexed { palette: &palette }).expect("encodes");
        let rgb = image::load_from_memory(&bytes).expect("decodes").to_rgb8();
        assert_eq!(rgb.get_pixel(0, 0).0, [0, 0, 0]);
        assert_eq!(rgb.get_pixel(1, 0).0, [255, 0, 0]);
        assert_eq!(rgb.get_pixel(2, 0).0, [10, 20, 30]);
    }

    fn jpeg(img: &GrayImage, quality: u8) -> Vec<u8> {
        let mut out = Vec::new();
        let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality);
        enc.encode_image(img).expect("jpeg encodes");
        out
    }

    #[test]
    fn a_whole_jpeg_reads_and_a_cut_one_is_refused_at_every_length() {
        let img = noisy(200, 160);
        for quality in [60, 95] {
            let bytes = jpeg(&img, quality);
            let back = decode_scan(Path::new("s.jpg"), &bytes).expect("whole jpeg decodes");
            assert_eq!(back.dimensions(), (200, 160));
            // 40 % (the decoder alone fills the rest with grey), and every length from the
            // start of the scan data to the last byte.
            let sos = bytes
                .windows(2)
                .position(|w| w == [0xFF, 0xDA])
                .expect("SOS");
            let mut cuts: Vec<usize> = (sos..bytes.len()).step_by(7).collect();
            cuts.extend([bytes.len() * 2 / 5, bytes.len() - 1, bytes.len() - 2, 3]);
            for cut in cuts {
                let e = decode_scan(Path::new("s.jpg"), &bytes[..cut])
                    .err()
                    .unwrap_or_else(|| panic!("cut at {cut} of {} decoded", bytes.len()));
                let m = e.to_string();
                assert!(m.contains("s.jpg"), "{m}");
                if cut >= sos {
                    assert!(m.contains("truncated JPEG") && m.contains("FF D9"), "{m}");
                }
            }
        }
    }

    #[test]
    fn a_cut_png_is_refused_naming_what_is_missing() {
        let img = noisy(120, 90);
        let bytes = encode_png(img.as_raw(), 120, 90, PngPixels::Grey).expect("encodes");
        for cut in [bytes.len() * 2 / 5, bytes.len() - 1, bytes.len() - 12, 40] {
            let e = decode_scan(Path::new("s.png"), &bytes[..cut]).expect_err("cut png");
            let m = e.to_string();
            assert!(m.contains("s.png") && m.contains("truncated PNG"), "{m}");
            assert!(m.contains("IEND"), "{m}");
        }
        // From a file too.
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("cut.png");
        std::fs::write(&p, &bytes[..bytes.len() / 2]).expect("write");
        let m = read_scan(&p).expect_err("cut").to_string();
        assert!(m.contains("cut.png") && m.contains("IDAT chunk"), "{m}");
        std::fs::write(&p, &bytes).expect("write");
        assert_eq!(read_scan(&p).expect("whole").dimensions(), (120, 90));
        let j = dir.path().join("cut.jpg");
        let jb = jpeg(&img, 90);
        std::fs::write(&j, &jb[..jb.len() * 2 / 5]).expect("write");
        let m = read_scan(&j).expect_err("cut").to_string();
        assert!(m.contains("cut.jpg") && m.contains("FF D9"), "{m}");
    }

    /// An 8-bit grey TIFF laid out as scanners write it: header, image directory, then
    /// the strips of `rows_per_strip` rows; big-endian (`MM`) or little-endian (`II`).
    fn tiff(img: &GrayImage, rows_per_strip: u32, big_endian: bool) -> Vec<u8> {
        let (w, h) = img.dimensions();
        let strips: Vec<&[u8]> = img.as_raw().chunks((w * rows_per_strip) as usize).collect();
        let n_entries = 9u32;
        let offsets_at = 8 + 2 + n_entries * 12 + 4;
        let counts_at = offsets_at + strips.len() as u32 * 4;
        let data_at = counts_at + strips.len() as u32 * 4;
        let mut out = Vec::new();
        let put = |out: &mut Vec<u8>, v: u32, n: usize| {
            if big_endian {
                out.extend_from_slice(&v.to_be_bytes()[4 - n..]);
            } else {
                out.extend_from_slice(&v.to_le_bytes()[..n]);
            }
        };
        out.extend_from_slice(if big_endian { b"MM" } else { b"II" });
        put(&mut out, 42, 2);
        put(&mut out, 8, 4);
        put(&mut out, n_entries, 2);
        let one = |out: &mut Vec<u8>, tag: u32, kind: u32, n: u32, v: u32| {
            put(out, tag, 2);
            put(out, kind, 2);
            put(out, n, 4);
            if kind == 3 && n == 1 {
                // A SHORT kept in the entry sits in its first two bytes.
                put(out, v, 2);
                put(out, 0, 2);
            } else {
                put(out, v, 4);
            }
        };
        one(&mut out, 256, 4, 1, w);
        one(&mut out, 257, 4, 1, h);
        one(&mut out, 258, 3, 1, 8);
        one(&mut out, 259, 3, 1, 1);
        one(&mut out, 262, 3, 1, 1);
        one(&mut out, 273, 4, strips.len() as u32, offsets_at);
        one(&mut out, 277, 3, 1, 1);
        one(&mut out, 278, 4, 1, rows_per_strip);
        one(&mut out, 279, 4, strips.len() as u32, counts_at);
        put(&mut out, 0, 4);
        let mut at = data_at;
        for s in &strips {
            put(&mut out, at, 4);
            at += s.len() as u32;
        }
        for s in &strips {
            put(&mut out, s.len() as u32, 4);
        }
        for s in &strips {
            out.extend_from_slice(s);
        }
        out
    }

    #[test]
    fn a_cut_tiff_is_refused_naming_what_is_missing() {
        let img = noisy(120, 90);
        for big_endian in [false, true] {
            let bytes = tiff(&img, 16, big_endian);
            let back = decode_scan(Path::new("s.tif"), &bytes).expect("whole tiff decodes");
            assert!(back.as_raw() == img.as_raw(), "big-endian {big_endian}");
            let data = bytes.len() - 120 * 90;
            for cut in [bytes.len() - 1, bytes.len() * 2 / 5, data + 1, data] {
                let m = decode_scan(Path::new("s.tif"), &bytes[..cut])
                    .expect_err("cut tiff")
                    .to_string();
                assert!(m.contains("s.tif") && m.contains("truncated TIFF"), "{m}");
                assert!(m.contains("strip") && m.contains("of 6"), "{m}");
                let short = bytes.len() - cut;
                assert!(
                    m.contains(&format!("missing {short} of its 10800 bytes")),
                    "{m}"
                );
            }
            // Cut inside the directory, or before it.
            for cut in [30, 12] {
                let m = decode_scan(Path::new("s.tif"), &bytes[..cut])
                    .expect_err("cut tiff")
                    .to_string();
                assert!(
                    m.contains("truncated TIFF") && m.contains("directory"),
                    "{m}"
                );
            }
        }
        // The directory written after the data (as some writers do), cut off.
        let mut w = std::io::Cursor::new(Vec::new());
        DynamicImage::ImageLuma8(img.clone())
            .write_to(&mut w, image::ImageFormat::Tiff)
            .expect("tiff encodes");
        let bytes = w.into_inner();
        assert_eq!(
            decode_scan(Path::new("s.tif"), &bytes)
                .expect("whole")
                .dimensions(),
            (120, 90)
        );
        let m = decode_scan(Path::new("s.tif"), &bytes[..bytes.len() * 2 / 5])
            .expect_err("cut tiff")
            .to_string();
        assert!(m.contains("its image directory is at byte"), "{m}");
    }

    #[test]
    fn a_cut_pnm_is_refused_naming_what_is_missing() {
        let img = noisy(120, 90);
        let grey = [
            b"P5\n# scanned\n120 90\n255\n".to_vec(),
            img.as_raw().clone(),
        ]
        .concat();
        let rgb: Vec<u8> = img.as_raw().iter().flat_map(|&v| [v, v, v]).collect();
        let colour = [b"P6 120 90 255\n".to_vec(), rgb].concat();
        let pam = [
            b"P7\nWIDTH 120\nHEIGHT 90\nDEPTH 1\nMAXVAL 255\nTUPLTYPE GRAYSCALE\nENDHDR\n".to_vec(),
            img.as_raw().clone(),
        ]
        .concat();
        for (bytes, row) in [(grey, 120), (colour, 360), (pam, 120)] {
            let back = decode_scan(Path::new("s.pnm"), &bytes).expect("whole pnm decodes");
            assert!(back.as_raw() == img.as_raw());
            let header = bytes.len() - row * 90;
            for cut in [bytes.len() - 1, bytes.len() * 2 / 5, header] {
                let m = decode_scan(Path::new("s.pnm"), &bytes[..cut])
                    .expect_err("cut pnm")
                    .to_string();
                assert!(m.contains("s.pnm") && m.contains("truncated PNM"), "{m}");
                let rows_whole = (cut - header) / row;
                assert!(
                    m.contains(&format!(
                        "missing {} bytes (rows {} to 90)",
                        bytes.len() - cut,
                        rows_whole + 1
                    )),
                    "{m}"
                );
            }
            let m = decode_scan(Path::new("s.pnm"), &bytes[..9])
                .expect_err("cut pnm")
                .to_string();
            assert!(m.contains("in its header"), "{m}");
        }
    }

    /// A PNG's chunk: length, type, data, CRC.
    fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut c = (data.len() as u32).to_be_bytes().to_vec();
        c.extend_from_slice(kind);
        c.extend_from_slice(data);
        let mut crc = !0u32;
        for &b in kind.iter().chain(data) {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    0xEDB8_8320 ^ (crc >> 1)
                } else {
                    crc >> 1
                };
            }
        }
        c.extend_from_slice(&(!crc).to_be_bytes());
        c
    }

    /// A whole, well-formed PNG that claims `width × height` grey pixels but carries the
    /// image data of a 96 × 64 one.
    fn png_claiming(width: u32, height: u32) -> Vec<u8> {
        let small = encode_png(&[128; 96 * 64], 96, 64, PngPixels::Grey).expect("encodes");
        let mut out = small[..8].to_vec();
        let mut ihdr = width.to_be_bytes().to_vec();
        ihdr.extend_from_slice(&height.to_be_bytes());
        ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
        out.extend(chunk(b"IHDR", &ihdr));
        // The small image's chunks after its IHDR (33 bytes from the start).
        out.extend_from_slice(&small[33..]);
        out
    }

    #[test]
    fn a_png_claiming_more_than_its_data_holds_is_refused_before_it_is_decoded() {
        // Found by the fuzzer: 571 bytes claiming 4 194 400 × 64 pixels made the decoder set
        // aside 268 MB before it found the data short.
        let e = decode_scan(Path::new("f.png"), &png_claiming(4_194_400, 64))
            .expect_err("claims 268 MB");
        let m = e.to_string();
        assert!(
            m.contains("f.png") && m.contains("cannot hold what its header claims"),
            "{m}"
        );
        // A claim past the pixel bound is refused the same way, before the bound is asked.
        let e = decode_scan(Path::new("g.png"), &png_claiming(20_000, 20_000)).expect_err("big");
        assert!(e.to_string().contains("cannot hold"), "{e}");
        // A plain white page packed as tight as an encoder packs it still reads.
        let white = vec![255u8; 2000 * 1500];
        let mut bytes = Vec::new();
        let mut enc = png::Encoder::new(&mut bytes, 2000, 1500);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::High);
        enc.set_filter(png::Filter::Up);
        let mut w = enc.write_header().expect("header");
        w.write_image_data(&white).expect("data");
        w.finish().expect("end");
        assert!(bytes.len() * 500 < white.len(), "{} bytes", bytes.len());
        let back = decode_scan(Path::new("w.png"), &bytes).expect("white page");
        assert_eq!(back.dimensions(), (2000, 1500));
    }

    #[test]
    fn a_tiff_asking_for_more_memory_than_its_size_can_need_is_refused() {
        // Found by the fuzzer: 6 342 bytes of TIFF whose strip offsets claim 8 388 353
        // entries made the decoder set aside 268 MB.
        let mut c = std::io::Cursor::new(Vec::new());
        noisy(96, 64)
            .write_to(&mut c, image::ImageFormat::Tiff)
            .expect("tiff");
        let mut tiff = c.into_inner();
        let ifd = u32::from_le_bytes([tiff[4], tiff[5], tiff[6], tiff[7]]) as usize;
        let entries = u16::from_le_bytes([tiff[ifd], tiff[ifd + 1]]) as usize;
        let at = (0..entries)
            .map(|i| ifd + 2 + 12 * i)
            .find(|&e| u16::from_le_bytes([tiff[e], tiff[e + 1]]) == 273)
            .expect("StripOffsets");
        let whole = tiff.clone();
        tiff[at + 4..at + 8].copy_from_slice(&8_388_353u32.to_le_bytes());
        let e = decode_scan(Path::new("t.tif"), &tiff).expect_err("claims 268 MB");
        let m = e.to_string();
        assert!(
            m.contains("t.tif") && m.contains("list of its strips") && m.contains("past the end"),
            "{m}"
        );
        // From a file too; and the whole one reads.
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("t.tif");
        std::fs::write(&p, &tiff).expect("write");
        assert!(read_scan(&p).is_err());
        std::fs::write(&p, &whole).expect("write");
        assert_eq!(read_scan(&p).expect("whole tiff").dimensions(), (96, 64));
        // A TIFF cut inside its directory.
        let e = decode_scan(Path::new("c.tif"), &whole[..ifd + 20]).expect_err("cut");
        assert!(e.to_string().contains("image directory"), "{e}");
        // A header claiming more image than its file can hold.
        let mut pnm = b"P5\n9000 9000\n255\n".to_vec();
        pnm.extend(std::iter::repeat_n(7u8, 4096));
        let e = decode_scan(Path::new("p.pgm"), &pnm).expect_err("81 MB in 4 kB");
        assert!(e.to_string().contains("9000×9000 raster needs"), "{e}");
        // An ASCII PNM, whose raster no walk can size, is held to the decode budget.
        let mut ascii = b"P2\n9000 9000\n255\n".to_vec();
        ascii.extend(b"7 ".repeat(2048));
        let e = decode_scan(Path::new("a.pgm"), &ascii).expect_err("81 MB in 4 kB");
        assert!(
            e.to_string().contains("cannot hold the 9000×9000 image"),
            "{e}"
        );
        assert_eq!(decode_budget(1), 16 << 20);
        assert_eq!(decode_budget(64 << 10), 128 << 20);
        assert_eq!(decode_budget(1 << 30), 512 << 20);
    }

    #[test]
    fn a_scan_of_more_pixels_than_the_bound_is_refused_from_its_header() {
        // A PNM header: no compression to weigh the claim against.
        let mut pnm = b"P5\n20000 20000\n255\n".to_vec();
        pnm.extend(std::iter::repeat_n(0u8, 4096));
        // (Its size alone would refuse it: the pixel bound is asked first.)
        let e = decode_scan(Path::new("big.pgm"), &pnm).expect_err("400 Mpx");
        let m = e.to_string();
        assert!(m.contains("big.pgm") && m.contains("20000×20000"), "{m}");
    }

    #[test]
    fn pixels_that_do_not_fill_the_image_are_refused() {
        let e = encode_png(&[0; 10], 4, 3, PngPixels::Grey).expect_err("short");
        assert!(e.contains("10 bytes") && e.contains("12 expected"), "{e}");
    }
}
