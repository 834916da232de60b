//! GS ( k, the printer's two-dimensional codes: QR Code model 2 stored, set up and
//! printed as the printer does it (fn 65 model, 67 module size, 69 error correction, 80
//! store, 81 print); the symbol comes from the `qrcode` encoder.
//!
//! Owns the QR symbol state between GS ( k commands. PDF417 and the other symbols are
//! not drawn: their commands are named. It must not lay out: `layout` places the
//! bitmap it returns.

use crate::pattern::Bitmap;
use qrcode::{Color, EcLevel, QrCode};

/// The QR settings and the stored data of the printer's symbol storage area.
#[derive(Debug, Clone)]
pub struct QrSymbol {
    /// Module size in dots (fn 67, 1–16).
    module: u32,
    /// fn 69: 48 L, 49 M, 50 Q, 51 H.
    level: u8,
    /// fn 65: 49 model 1, 50 model 2, 51 micro.
    model: u8,
    data: Vec<u8>,
}

impl Default for QrSymbol {
    fn default() -> Self {
        QrSymbol {
            module: 3,
            level: 48,
            model: 50,
            data: Vec::new(),
        }
    }
}

/// What a GS ( k command asks for.
#[derive(Debug)]
pub enum QrOutcome {
    /// A setting or the data was stored.
    Stored,
    /// The symbol to print.
    Print(Bitmap),
    /// Nothing is drawn; the text names why.
    NotDrawn(String),
}

impl QrSymbol {
    /// Applies a GS ( k command (`data` = cn fn parameters…).
    pub fn apply(&mut self, data: &[u8]) -> QrOutcome {
        let (cn, f, rest) = match data {
            [cn, f, rest @ ..] => (*cn, *f, rest),
            _ => return QrOutcome::NotDrawn("GS ( k without cn and fn".to_string()),
        };
        let symbol = match cn {
            48 => "PDF417",
            49 => "QR Code",
            50 => "MaxiCode",
            51 => "GS1 DataBar",
            52 => "Composite Symbology",
            53 => "Aztec Code",
            54 => "DataMatrix",
            _ => "an unknown 2-D symbol",
        };
        if cn != 49 {
            return QrOutcome::NotDrawn(format!("GS ( k cn {cn} ({symbol})"));
        }
        match (f, rest) {
            (65, [n1, ..]) => {
                self.model = *n1;
                QrOutcome::Stored
            }
            (67, [n]) => {
                self.module = u32::from(*n).clamp(1, 16);
                QrOutcome::Stored
            }
            (69, [n]) => {
                self.level = *n;
                QrOutcome::Stored
            }
            (80, [_m, d @ ..]) => {
                self.data = d.to_vec();
                QrOutcome::Stored
            }
            (81, _) => self.render(),
            (82, _) => QrOutcome::NotDrawn("GS ( k QR fn 82 (size information)".to_string()),
            (f, _) => QrOutcome::NotDrawn(format!("GS ( k QR fn {f}")),
        }
    }

    fn render(&self) -> QrOutcome {
        if self.data.is_empty() {
            return QrOutcome::NotDrawn("GS ( k QR print with no data stored".to_string());
        }
        let level = match self.level {
            49 => EcLevel::M,
            50 => EcLevel::Q,
            51 => EcLevel::H,
            _ => EcLevel::L,
        };
        if self.model != 50 {
            tracing::info!(
                model = self.model,
                "simulated printer: QR model 1 and micro QR print as model 2"
            );
        }
        let code = match QrCode::with_error_correction_level(&self.data, level) {
            Ok(c) => c,
            Err(e) => return QrOutcome::NotDrawn(format!("GS ( k QR: {e}")),
        };
        let n = code.width() as u32;
        let size = n * self.module;
        let mut bm = Bitmap::new(size, size);
        for (i, c) in (0u32..).zip(code.to_colors()) {
            if c == Color::Dark {
                let (x, y) = ((i % n) * self.module, (i / n) * self.module);
                bm.fill_rect(x, y, x + self.module, y + self.module, true);
            }
        }
        QrOutcome::Print(bm)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_data_prints_at_the_module_size() {
        let mut q = QrSymbol::default();
        assert!(matches!(q.apply(b"1C\x04"), QrOutcome::Stored));
        assert!(matches!(q.apply(b"1E1"), QrOutcome::Stored));
        assert!(matches!(q.apply(b"1P0hello"), QrOutcome::Stored));
        match q.apply(b"1Q0") {
            // Version 1 (21 modules) at 4 dots.
            QrOutcome::Print(bm) => assert_eq!((bm.width(), bm.height()), (84, 84)),
            other => panic!("{other:?}"),
        }
        assert!(matches!(q.apply(b"0A\x00"), QrOutcome::NotDrawn(s) if s.contains("PDF417")));
        assert!(matches!(
            QrSymbol::default().apply(b"1Q0"),
            QrOutcome::NotDrawn(_)
        ));
    }
}
