//! The simulated printer and scanner: fault parameters, the print head that turns dot
//! rows into grey paper, the printer's job path (ESC/POS in, pages and replies out) and
//! the flatbed scanner that turns paper into a scan.
//!
//! Deterministic for a seed (all randomness comes from [`crate::util::rng::Rng`]). The
//! physics (`head`, `scanner`) knows nothing of ESC/POS; `printer` feeds decoded rows to
//! the head and applies power cuts; none of these open links, sleep or touch files.
//! `station` is the one part that does: it serves the simulated instruments on loopback
//! TCP and ptys, with the real wire protocols. `config` is how a simulated station
//! behaves, its defaults and limits, resolved from a station file.

pub mod barcode;
pub mod config;
pub mod faults;
pub mod font;
pub mod graphics;
pub mod head;
pub mod layout;
pub mod printer;
pub mod qr;
pub mod scanner;
pub mod station;

pub use config::SimConfig;
pub use faults::{FaultError, Faults, PowerCut, Side};
pub use head::{Head, HeadModel, HeadStatus, RowOutcome};
pub use printer::{print_job, print_job_to, PageSink, PrintOutcome, SimPrinter, Stop};
pub use scanner::{scan, Scan, ScanError, ScanSettings, ScanTruth, PAPER_DPI};

use crate::util::rng::Rng;
use std::sync::OnceLock;

/// Grey level of blank paper on the simulated page (the scanner maps it to its white).
pub const PAPER_WHITE: f64 = 250.0;
/// Grey level of a fully inked dot on the simulated page (8 % of the paper's reflectance).
pub const INK_BLACK: f64 = 20.0;

/// A table of standard normal values drawn once from a seed, read through a cheap hash:
/// per-pixel noise at a table lookup's cost instead of a Box–Muller per pixel.
#[derive(Debug, Clone)]
pub(crate) struct Normals {
    table: Vec<f32>,
}

impl Normals {
    const BITS: u32 = 16;

    pub(crate) fn new(rng: &mut Rng) -> Normals {
        let table = (0..1usize << Self::BITS)
            .map(|_| rng.normal() as f32)
            .collect();
        Normals { table }
    }

    /// The normal value for a 64-bit key (any well-mixed key; see [`mix`]).
    #[inline]
    pub(crate) fn at(&self, key: u64) -> f32 {
        // The top bits of a mixed key are the best distributed.
        let i = (key >> (64 - Self::BITS)) as usize;
        self.table.get(i).copied().unwrap_or(0.0)
    }
}

/// Blocks in [`normal_blocks`].
pub(crate) const NORMAL_BLOCKS: usize = 1 << 14;

/// A fixed table of standard normal values in blocks of four (read with one load), drawn
/// once per process from a constant seed and scaled to mean 0 and variance 1 exactly. A
/// scan picks its own path through it from its seed, so noise stays deterministic for a
/// seed without drawing a table per scan.
pub(crate) fn normal_blocks() -> &'static [[f32; 4]; NORMAL_BLOCKS] {
    static TABLE: OnceLock<Box<[[f32; 4]; NORMAL_BLOCKS]>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut rng = Rng::new(0x4E4F_524D_414C_5321);
        let v: Vec<f64> = (0..4 * NORMAL_BLOCKS).map(|_| rng.normal()).collect();
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let sd = (v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n).sqrt();
        let sd = if sd > 0.0 { sd } else { 1.0 };
        let blocks: Vec<[f32; 4]> = v
            .chunks_exact(4)
            .map(|c| [c[0], c[1], c[2], c[3]].map(|x| ((x - mean) / sd) as f32))
            .collect();
        blocks
            .into_boxed_slice()
            .try_into()
            .unwrap_or_else(|_| Box::new([[0.0; 4]; NORMAL_BLOCKS]))
    })
}

/// A 64-bit mixing function (the SplitMix64 finaliser): neighbouring inputs give
/// unrelated outputs.
#[inline]
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A fast per-row stream of keys for [`Normals::at`]: a 64-bit LCG whose high bits are
/// well distributed, started from a mixed row key.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeyStream(u64);

impl KeyStream {
    #[inline]
    pub(crate) fn new(seed: u64) -> KeyStream {
        KeyStream(mix(seed))
    }

    #[inline]
    pub(crate) fn next_key(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_normal_table_is_standard_and_fixed() {
        let blocks = normal_blocks();
        let t = blocks.as_flattened();
        let n = t.len() as f64;
        let mean = t.iter().map(|&x| x as f64).sum::<f64>() / n;
        let var = t.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
        assert!(mean.abs() < 1e-6, "mean {mean}");
        assert!((var - 1.0).abs() < 1e-5, "var {var}");
        let beyond_2 = t.iter().filter(|x| x.abs() > 2.0).count() as f64 / n;
        assert!((beyond_2 - 0.0455).abs() < 0.005, "tail {beyond_2}");
        assert!(std::ptr::eq(blocks, normal_blocks()));
    }

    #[test]
    fn normals_table_has_unit_spread_along_a_key_stream() {
        let n = Normals::new(&mut Rng::new(5));
        let mut ks = KeyStream::new(17);
        let v: Vec<f64> = (0..50_000).map(|_| n.at(ks.next_key()) as f64).collect();
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / v.len() as f64;
        assert!(mean.abs() < 0.03, "mean {mean}");
        assert!((var - 1.0).abs() < 0.05, "var {var}");
        // neighbours are uncorrelated
        let c = v.windows(2).map(|w| w[0] * w[1]).sum::<f64>() / (v.len() - 1) as f64;
        assert!(c.abs() < 0.03, "lag-1 correlation {c}");
    }
}
