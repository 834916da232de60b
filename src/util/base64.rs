//! Standard base64 (RFC 4648, with padding), for images inlined in the HTML report.

const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

pub fn encode(data: &[u8]) -> String {
    let sym = |n: u32, shift: u32| TABLE[((n >> shift) & 63) as usize];
    let mut out = Vec::with_capacity(data.len().div_ceil(3) * 4);
    let mut whole = data.chunks_exact(3);
    for c in &mut whole {
        let n = (c[0] as u32) << 16 | (c[1] as u32) << 8 | c[2] as u32;
        out.extend_from_slice(&[sym(n, 18), sym(n, 12), sym(n, 6), sym(n, 0)]);
    }
    match *whole.remainder() {
        [a] => {
            let n = (a as u32) << 16;
            out.extend_from_slice(&[sym(n, 18), sym(n, 12), b'=', b'=']);
        }
        [a, b] => {
            let n = (a as u32) << 16 | (b as u32) << 8;
            out.extend_from_slice(&[sym(n, 18), sym(n, 12), sym(n, 6), b'=']);
        }
        _ => {}
    }
    // Only symbols from TABLE and '=': always ASCII.
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (i, o) in cases {
            assert_eq!(super::encode(i.as_bytes()), o);
        }
    }

    #[test]
    fn every_byte_value_round_trips() {
        let data: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
        for len in [0, 1, 2, 3, 254, 255, 256, 511, 512] {
            let enc = super::encode(&data[..len]);
            assert_eq!(enc.len(), len.div_ceil(3) * 4);
            let val = |c: u8| super::TABLE.iter().position(|&t| t == c).map(|v| v as u32);
            let mut dec = Vec::new();
            for q in enc.as_bytes().chunks(4) {
                let n = q.iter().fold(0u32, |n, &c| n << 6 | val(c).unwrap_or(0));
                let keep = q.iter().filter(|&&c| c != b'=').count() - 1;
                dec.extend_from_slice(&n.to_be_bytes()[1..1 + keep]);
            }
            assert_eq!(dec, &data[..len]);
        }
    }
}
