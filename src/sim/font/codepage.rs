//! Code pages (ESC t) and international character sets (ESC R): which character a
//! job's byte stands for.
//!
//! Owns the byte → character tables of the code pages the simulated printer knows and the
//! twelve ASCII positions each international set replaces. It must not draw: `font`
//! draws the character.

/// A code page: the characters of bytes 0x80..=0xFF, by ESC t number.
#[derive(Debug, Clone, Copy)]
pub struct CodeTable {
    /// Its ESC t number.
    pub number: u8,
    pub name: &'static str,
    /// 128 characters, byte 0x80 first (U+FFFD where the page has no character).
    upper: &'static str,
}

/// The code pages the simulated printer knows (ESC t n; any other n prints as PC437).
pub const SUPPORTED: &[CodeTable] = &[
    CodeTable {
        number: 0,
        name: "PC437",
        upper: "ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u{A0}",
    },
    CodeTable {
        number: 2,
        name: "PC850",
        upper: "ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜø£Ø×ƒáíóúñÑªº¿®¬½¼¡«»░▒▓│┤ÁÂÀ©╣║╗╝¢¥┐└┴┬├─┼ãÃ╚╔╩╦╠═╬¤ðÐÊËÈıÍÎÏ┘┌█▄¦Ì▀ÓßÔÒõÕµþÞÚÛÙýÝ¯´\u{AD}±‗¾¶§÷¸°¨·¹³²■\u{A0}",
    },
    CodeTable {
        number: 16,
        name: "WPC1252",
        upper: "€\u{FFFD}‚ƒ„…†‡ˆ‰Š‹Œ\u{FFFD}Ž\u{FFFD}\u{FFFD}‘’“”•–—˜™š›œ\u{FFFD}žŸ\u{A0}¡¢£¤¥¦§¨©ª«¬\u{AD}®¯°±²³´µ¶·¸¹º»¼½¾¿ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖ×ØÙÚÛÜÝÞßàáâãäåæçèéêëìíîïðñòóôõö÷øùúûüýþÿ",
    },
    CodeTable {
        number: 17,
        name: "PC866",
        upper: "АБВГДЕЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯабвгдежзийклмноп░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀рстуфхцчшщъыьэюяЁёЄєЇїЎў°∙·√№¤■\u{A0}",
    },
    CodeTable {
        number: 19,
        name: "PC858",
        upper: "ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜø£Ø×ƒáíóúñÑªº¿®¬½¼¡«»░▒▓│┤ÁÂÀ©╣║╗╝¢¥┐└┴┬├─┼ãÃ╚╔╩╦╠═╬¤ðÐÊËÈ€ÍÎÏ┘┌█▄¦Ì▀ÓßÔÒõÕµþÞÚÛÙýÝ¯´\u{AD}±‗¾¶§÷¸°¨·¹³²■\u{A0}",
    },
];

/// The code page of ESC t `number`, if the simulated printer knows it.
pub fn table(number: u8) -> Option<&'static CodeTable> {
    SUPPORTED.iter().find(|t| t.number == number)
}

/// The ASCII positions an international character set replaces, in this order.
const NATIONAL_POSITIONS: [u8; 12] = [
    0x23, 0x24, 0x40, 0x5B, 0x5C, 0x5D, 0x5E, 0x60, 0x7B, 0x7C, 0x7D, 0x7E,
];

/// International character sets (ESC R n, n = index): the characters at
/// `NATIONAL_POSITIONS`. `₧` stands for the peseta sign of Spain I.
const NATIONAL_SETS: [&str; 11] = [
    "#$@[\\]^`{|}~", // 0 U.S.A.
    "#$à°ç§^`éùè¨",  // 1 France
    "#$§ÄÖÜ^`äöüß",  // 2 Germany
    "£$@[\\]^`{|}~", // 3 U.K.
    "#$@ÆØÅ^`æøå~",  // 4 Denmark I
    "#¤ÉÄÖÅÜéäöåü",  // 5 Sweden
    "#$@°\\é^ùàòèì", // 6 Italy
    "₧$@¡Ñ¿^`¨ñ}~",  // 7 Spain I
    "#$@[¥]^`{|}~",  // 8 Japan
    "#¤ÉÆØÅÜéæøåü",  // 9 Norway
    "#$ÉÆØÅÜéæøåü",  // 10 Denmark II
];

/// How many international sets are known (ESC R n with n below this).
pub const NATIONAL_SET_COUNT: u8 = NATIONAL_SETS.len() as u8;

/// The character byte `b` prints as under code page `table_number` and international set
/// `national`; `None` for a byte the page has no character for (or a control byte).
pub fn to_char(table_number: u8, national: u8, b: u8) -> Option<char> {
    match b {
        0x20..=0x7E => {
            let set = NATIONAL_SETS
                .get(usize::from(national))
                .unwrap_or(&NATIONAL_SETS[0]);
            match NATIONAL_POSITIONS.iter().position(|&p| p == b) {
                Some(i) => set.chars().nth(i),
                None => Some(char::from(b)),
            }
        }
        0x80..=0xFF => {
            let t = table(table_number).unwrap_or(&SUPPORTED[0]);
            t.upper
                .chars()
                .nth(usize::from(b - 0x80))
                .filter(|&c| c != '\u{FFFD}')
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_whole() {
        for t in SUPPORTED {
            assert_eq!(t.upper.chars().count(), 128, "{}", t.name);
        }
        for s in NATIONAL_SETS {
            assert_eq!(s.chars().count(), 12, "{s}");
        }
    }

    #[test]
    fn bytes_map_as_the_code_pages_say() {
        assert_eq!(to_char(0, 0, 0x82), Some('é'));
        assert_eq!(to_char(0, 0, 0xC4), Some('─'));
        assert_eq!(to_char(2, 0, 0xD5), Some('ı'));
        assert_eq!(to_char(19, 0, 0xD5), Some('€'));
        assert_eq!(to_char(16, 0, 0x80), Some('€'));
        assert_eq!(to_char(16, 0, 0x81), None);
        assert_eq!(to_char(17, 0, 0x80), Some('А'));
        assert_eq!(to_char(17, 0, 0xEF), Some('я'));
        assert_eq!(to_char(0, 2, b'@'), Some('§'));
        assert_eq!(to_char(0, 3, b'#'), Some('£'));
        assert_eq!(to_char(0, 0, b'A'), Some('A'));
        // An unknown page prints as PC437.
        assert_eq!(to_char(99, 0, 0x82), Some('é'));
    }
}
