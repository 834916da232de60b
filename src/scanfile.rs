//! Image files: reading scans (any PNG, PNM, TIFF or JPEG a scanner writes) into 8-bit grey
//! with errors that name the file, and writing PNGs atomically.

use image::codecs::png::{CompressionType, FilterType as PngFilter, PngEncoder};
use image::{DynamicImage, ExtendedColorType, GrayImage, ImageEncoder, RgbImage};
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

fn encode_png(raw: &[u8], w: u32, h: u32, color: ExtendedColorType) -> Result<Vec<u8>, String> {
    let mut buf = Vec::new();
    // Fast compression: scans and overlays are written once per case on the rig's hot
    // path; a few percent of file size is not worth several times the encode time.
    PngEncoder::new_with_quality(&mut buf, CompressionType::Fast, PngFilter::Adaptive)
        .write_image(raw, w, h, color)
        .map_err(|e| e.to_string())?;
    Ok(buf)
}

/// A colour image as PNG bytes (overlays and thumbnails kept as run artifacts).
pub fn rgb_png_bytes(img: &RgbImage) -> Result<Vec<u8>, String> {
    encode_png(
        img.as_raw(),
        img.width(),
        img.height(),
        ExtendedColorType::Rgb8,
    )
}

/// Writes a grey PNG atomically.
pub fn write_gray_png(path: &Path, img: &GrayImage) -> Result<(), ImageFileError> {
    write_png(
        path,
        img.as_raw(),
        img.width(),
        img.height(),
        ExtendedColorType::L8,
    )
}

/// Writes a colour PNG atomically.
pub fn write_rgb_png(path: &Path, img: &RgbImage) -> Result<(), ImageFileError> {
    write_png(
        path,
        img.as_raw(),
        img.width(),
        img.height(),
        ExtendedColorType::Rgb8,
    )
}

fn write_png(
    path: &Path,
    raw: &[u8],
    w: u32,
    h: u32,
    color: ExtendedColorType,
) -> Result<(), ImageFileError> {
    let bytes = encode_png(raw, w, h, color).map_err(|detail| ImageFileError::Write {
        path: path.to_path_buf(),
        detail,
    })?;
    crate::util::fsio::write_atomic(path, &bytes).map_err(|e| ImageFileError::Write {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })
}
