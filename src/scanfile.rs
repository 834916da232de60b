//! Image files: reading scans (any PNG, PNM, TIFF or JPEG a scanner writes) into 8-bit grey
//! with errors that name the file, and writing PNGs atomically.
//!
//! A scan cut short is invalid input, never a picture: decoders fill what a truncated JPEG
//! lacks with grey and say nothing, so before a PNG or JPEG is decoded its structure is
//! walked to its end marker (PNG: every chunk whole, up to `IEND`; JPEG: every segment and
//! the entropy-coded data up to `EOI`). A file without it is refused, naming what is
//! missing. Scans larger than [`MAX_SCAN_BYTES`] are refused before they are read.

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
    let reader = image::ImageReader::with_format(buffered, format);
    let img = reader.decode().map_err(|e| corrupt(path, format, e))?;
    to_grey(path, img)
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
    let img =
        image::load_from_memory_with_format(bytes, format).map_err(|e| corrupt(path, format, e))?;
    to_grey(path, img)
}

/// The largest scan file the rig reads: a 1200-dpi grey scan of a 80 mm receipt a metre
/// long, uncompressed, is about 180 MB.
pub const MAX_SCAN_BYTES: u64 = 512 * 1024 * 1024;

/// Walks a PNG's chunks or a JPEG's segments to the image's end marker; other formats are
/// left to their decoders (which report a short TIFF strip or PNM raster themselves).
fn check_complete<R: Read + Seek>(
    path: &Path,
    format: image::ImageFormat,
    r: &mut R,
) -> Result<(), ImageFileError> {
    let missing = match format {
        image::ImageFormat::Png => png_missing(r),
        image::ImageFormat::Jpeg => jpeg_missing(r),
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

/// What a PNG lacks: `None` when its chunks are whole up to `IEND`.
fn png_missing<R: Read + Seek>(r: &mut R) -> std::io::Result<Option<String>> {
    r.seek(std::io::SeekFrom::Start(0))?;
    let total = r.seek(std::io::SeekFrom::End(0))?;
    let mut pos = 8u64; // the signature
    let mut last = "the signature".to_string();
    let mut idat = false;
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
            return Ok(None);
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

    #[test]
    fn pixels_that_do_not_fill_the_image_are_refused() {
        let e = encode_png(&[0; 10], 4, 3, PngPixels::Grey).expect_err("short");
        assert!(e.contains("10 bytes") && e.contains("12 expected"), "{e}");
    }
}
