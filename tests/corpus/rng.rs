//! The corpus's own random source: SplitMix64 for bits, Box–Muller for normal deviates,
//! and a table of normal deviates for the per-pixel sensor noise.

const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

fn finalize(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Combines two values into a well-spread seed.
pub fn mix(a: u64, b: u64) -> u64 {
    finalize(a ^ finalize(b.wrapping_add(GAMMA)).rotate_left(23))
}

#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
    spare: Option<f64>,
}

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng {
            state: mix(seed, 0x5EED_C0DE),
            spare: None,
        }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GAMMA);
        finalize(self.state)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [lo, hi).
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// Uniform integer in `lo..=hi`.
    pub fn int(&mut self, lo: u32, hi: u32) -> u32 {
        if hi <= lo {
            return lo;
        }
        let n = (hi - lo) as u64 + 1;
        lo + (((self.next_u64() >> 32) * n) >> 32) as u32
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// +1 or −1.
    pub fn sign(&mut self) -> f64 {
        if self.next_u64() >> 63 == 1 {
            1.0
        } else {
            -1.0
        }
    }

    /// Standard normal deviate (Box–Muller, the second value of each pair kept).
    pub fn normal(&mut self) -> f64 {
        if let Some(z) = self.spare.take() {
            return z;
        }
        let u1 = 1.0 - self.unit(); // (0, 1]: the logarithm stays finite
        let u2 = self.unit();
        let r = (-2.0 * u1.ln()).sqrt();
        let (s, c) = (std::f64::consts::TAU * u2).sin_cos();
        self.spare = Some(r * s);
        r * c
    }

    /// A normal deviate cut at ±`limit` standard deviations.
    pub fn normal_within(&mut self, limit: f64) -> f64 {
        self.normal().clamp(-limit, limit)
    }

    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.int(0, items.len() as u32 - 1) as usize]
    }

    /// An independent stream for one part of a sample, so that adding draws to one part
    /// does not shift every other part.
    pub fn fork(&mut self) -> Rng {
        Rng::new(self.next_u64())
    }
}

/// Normal deviates for millions of pixels: a table filled by Box–Muller (small enough to
/// stay in the first-level cache), read at random 12-bit indices, five per 64-bit draw.
pub struct Normals {
    table: Vec<f32>,
    rng: Rng,
    bits: u64,
    left: u32,
}

impl Normals {
    pub fn new(mut rng: Rng) -> Normals {
        let table = (0..1 << 12).map(|_| rng.normal() as f32).collect();
        Normals {
            table,
            rng,
            bits: 0,
            left: 0,
        }
    }

    #[inline]
    pub fn next(&mut self) -> f32 {
        if self.left == 0 {
            self.bits = self.rng.next_u64();
            self.left = 5;
        }
        let i = (self.bits & 0xFFF) as usize;
        self.bits >>= 12;
        self.left -= 1;
        self.table[i]
    }
}
