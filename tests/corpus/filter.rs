//! Separable Gaussian blur of an f32 image (edges clamped), shared by the heat spread in
//! the paper, the scanner's optics and the defocus of a curled edge.

fn kernel(sigma: f64) -> Vec<f32> {
    let r = (3.0 * sigma).ceil().max(1.0) as usize;
    let mut k: Vec<f64> = (0..=2 * r)
        .map(|i| {
            let x = i as f64 - r as f64;
            (-0.5 * x * x / (sigma * sigma)).exp()
        })
        .collect();
    let s: f64 = k.iter().sum();
    k.iter_mut().for_each(|v| *v /= s);
    k.into_iter().map(|v| v as f32).collect()
}

/// Blurs `data` (`w` × `h`, row-major) in place with a Gaussian of `sigma` pixels.
/// Sigmas under 0.15 px are a no-op.
pub fn gaussian(data: &mut [f32], w: usize, h: usize, sigma: f64) {
    if sigma < 0.15 || w == 0 || h == 0 {
        return;
    }
    let k = kernel(sigma);
    let r = k.len() / 2;
    // Along rows: each row padded by its edge values.
    let mut line = vec![0f32; w + 2 * r];
    for row in data.chunks_exact_mut(w) {
        let first = row[0];
        if row.iter().all(|&v| v == first) {
            continue;
        }
        line[r..r + w].copy_from_slice(row);
        let last = row[w - 1];
        line[..r].iter_mut().for_each(|v| *v = first);
        line[r + w..].iter_mut().for_each(|v| *v = last);
        for (x, out) in row.iter_mut().enumerate() {
            let win = &line[x..x + 2 * r + 1];
            *out = win.iter().zip(&k).map(|(a, b)| a * b).sum();
        }
    }
    // Along columns: every output row is a weighted sum of whole input rows.
    let src = data.to_vec();
    for y in 0..h {
        let out = &mut data[y * w..(y + 1) * w];
        out.iter_mut().for_each(|v| *v = 0.0);
        for (t, &kt) in k.iter().enumerate() {
            let yy = (y + t).saturating_sub(r).min(h - 1);
            let row = &src[yy * w..(yy + 1) * w];
            for (o, &v) in out.iter_mut().zip(row) {
                *o += kt * v;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blur_keeps_the_mean_and_spreads_a_point() {
        let (w, h) = (21, 17);
        let mut img = vec![0f32; w * h];
        img[8 * w + 10] = 1.0;
        gaussian(&mut img, w, h, 1.5);
        let total: f32 = img.iter().sum();
        assert!((total - 1.0).abs() < 1e-4, "{total}");
        assert!(img[8 * w + 10] < 0.1 && img[8 * w + 11] > 0.0);
        assert!((img[8 * w + 9] - img[8 * w + 11]).abs() < 1e-6);
    }
}
