//! Image files: reading scans (any PNG, PNM, TIFF or JPEG a scanner writes) into 8-bit grey
//! with errors that name the file, and writing PNGs atomically.

use image::{DynamicImage, GrayImage};
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
    #[error("{path} is {width}×{height} pixels: too small to hold a printed pattern")]
    TooSmall {
        path: PathBuf,
        width: u32,
        height: u32,
    },
    #[error("cannot write {path}: {detail}")]
    Write { path: PathBuf, detail: String },
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
    if file.metadata().map_err(read_err)?.len() == 0 {
        return Err(ImageFileError::Empty {
            path: path.to_path_buf(),
        });
    }
    let reader = image::ImageReader::new(std::io::BufReader::with_capacity(1 << 16, file))
        .with_guessed_format()
        .map_err(read_err)?;
    let Some(format) = reader.format() else {
        let mut head = [0u8; 8];
        let n = std::fs::File::open(path)
            .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
            .map_err(read_err)?;
        return Err(ImageFileError::NotAnImage {
            path: path.to_path_buf(),
            head: describe_head(&head[..n]),
        });
    };
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
    let img =
        image::load_from_memory_with_format(bytes, format).map_err(|e| corrupt(path, format, e))?;
    to_grey(path, img)
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
    crate::util::fsio::write_atomic(path, &bytes).map_err(|e| ImageFileError::Write {
        path: path.to_path_buf(),
        detail: e.to_string(),
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

    #[test]
    fn pixels_that_do_not_fill_the_image_are_refused() {
        let e = encode_png(&[0; 10], 4, 3, PngPixels::Grey).expect_err("short");
        assert!(e.contains("10 bytes") && e.contains("12 expected"), "{e}");
    }
}
