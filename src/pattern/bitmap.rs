//! A 1-bit image on the printer's dot grid: one byte per dot, 1 = the dot is printed.

use image::GrayImage;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bitmap {
    width: u32,
    height: u32,
    dots: Vec<u8>,
}

impl Bitmap {
    pub fn new(width: u32, height: u32) -> Self {
        Bitmap {
            width,
            height,
            dots: vec![0; width as usize * height as usize],
        }
    }

    /// Builds a bitmap from one byte per dot (non-zero = printed). Returns `None` when the
    /// length does not match.
    pub fn from_dots(width: u32, height: u32, dots: Vec<u8>) -> Option<Self> {
        if dots.len() != width as usize * height as usize {
            return None;
        }
        let dots = dots.into_iter().map(|d| u8::from(d != 0)).collect();
        Some(Bitmap {
            width,
            height,
            dots,
        })
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    pub fn get(&self, x: u32, y: u32) -> bool {
        x < self.width && y < self.height && self.dots[(y * self.width + x) as usize] != 0
    }

    pub fn set(&mut self, x: u32, y: u32, on: bool) {
        if x < self.width && y < self.height {
            self.dots[(y * self.width + x) as usize] = u8::from(on);
        }
    }

    /// Sets every dot in `[x0, x1) × [y0, y1)`, clipped to the bitmap.
    pub fn fill_rect(&mut self, x0: u32, y0: u32, x1: u32, y1: u32, on: bool) {
        let x1 = x1.min(self.width);
        let y1 = y1.min(self.height);
        for y in y0..y1 {
            let row = (y * self.width) as usize;
            for x in x0..x1 {
                self.dots[row + x as usize] = u8::from(on);
            }
        }
    }

    /// One row, one byte per dot.
    pub fn row(&self, y: u32) -> &[u8] {
        let w = self.width as usize;
        let start = y as usize * w;
        &self.dots[start..start + w]
    }

    pub fn dots(&self) -> &[u8] {
        &self.dots
    }

    /// Number of printed dots in `[x0, x1) × [y0, y1)`.
    pub fn count(&self, x0: u32, y0: u32, x1: u32, y1: u32) -> u64 {
        let x1 = x1.min(self.width);
        let y1 = y1.min(self.height);
        let mut n = 0u64;
        for y in y0..y1 {
            let row = self.row(y);
            n += row[x0 as usize..x1 as usize]
                .iter()
                .map(|&d| d as u64)
                .sum::<u64>();
        }
        n
    }

    /// Rows packed MSB-first, `width / 8` bytes a row (the GS v 0 layout). Width must be a
    /// multiple of 8 for an exact fit; a partial last byte is padded with white.
    pub fn packed_rows(&self) -> Vec<u8> {
        let bpr = self.width.div_ceil(8) as usize;
        let mut out = vec![0u8; bpr * self.height as usize];
        for y in 0..self.height {
            let row = self.row(y);
            let dst = &mut out[y as usize * bpr..(y as usize + 1) * bpr];
            for (x, &d) in row.iter().enumerate() {
                if d != 0 {
                    dst[x / 8] |= 0x80 >> (x % 8);
                }
            }
        }
        out
    }

    /// Black-on-white 8-bit image, 1 px = 1 dot.
    pub fn to_gray(&self) -> GrayImage {
        let px = self
            .dots
            .iter()
            .map(|&d| if d != 0 { 0 } else { 255 })
            .collect();
        GrayImage::from_raw(self.width, self.height, px).expect("buffer sized from dimensions")
    }
}
