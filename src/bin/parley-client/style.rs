//! Colour, sanitising and display width: everything about putting text that came
//! from the network onto somebody's terminal.
//!
//! Other users' text passes through [`sanitize`] before it is shown, so it can neither
//! paint escape sequences nor let a bidirectional override spill over the rest of the
//! line. Colour is a plain on/off flag decided once at start-up ([`colour_wanted`]).

use std::fmt::Write as _;

/// The styles the client paints with. Each maps to one ANSI SGR sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// Status lines (`* bob joined rust`): present but quiet.
    Dim,
    /// Room names and headings.
    Bold,
    /// Refusals and local errors: they must stand out.
    Error,
    /// Human-readable server text (`INFO`) and the client's own help.
    Info,
    /// The `(private)` tag.
    Private,
    /// The `(everyone)` tag.
    Everyone,
    /// A user name in one of the stable name colours (an index into the palette).
    Name(usize),
}

/// Foreground colours for names: the six basic hues and their bright variants, minus
/// red, which is kept for errors so a name never looks like a refusal.
const NAME_PALETTE: [u8; 10] = [32, 33, 34, 35, 36, 92, 93, 94, 95, 96];

impl Style {
    /// The SGR parameters for this style.
    fn sgr(self) -> String {
        match self {
            Style::Dim => "2".to_owned(),
            Style::Bold => "1".to_owned(),
            Style::Error => "1;31".to_owned(),
            Style::Info => "36".to_owned(),
            Style::Private => "1;35".to_owned(),
            Style::Everyone => "1;33".to_owned(),
            Style::Name(i) => NAME_PALETTE[i % NAME_PALETTE.len()].to_string(),
        }
    }
}

/// Applies styles when colour is on and passes text through unchanged when it is off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Painter {
    /// Whether ANSI colour sequences are written at all.
    pub colour: bool,
}

impl Painter {
    /// Wraps already-safe `text` in `style`. Callers sanitise network text first.
    pub fn paint(&self, style: Style, text: &str) -> String {
        if !self.colour || text.is_empty() {
            return text.to_owned();
        }
        format!("\x1b[{}m{text}\x1b[0m", style.sgr())
    }

    /// A user name, sanitised and in its stable colour.
    pub fn name(&self, name: &str) -> String {
        self.paint(Style::Name(name_colour(name)), &sanitize(name))
    }

    /// A room name, sanitised and bold.
    pub fn room(&self, room: &str) -> String {
        self.paint(Style::Bold, &sanitize(room))
    }
}

/// The palette index of `name`: a hash of its lowercase form, because names are
/// unique ignoring case and `Alice` and `alice` are the same person.
pub fn name_colour(name: &str) -> usize {
    // FNV-1a: tiny, stable across runs and platforms (unlike std's RandomState).
    let mut hash: u32 = 0x811c_9dc5;
    for byte in name.bytes() {
        hash ^= u32::from(byte.to_ascii_lowercase());
        hash = hash.wrapping_mul(0x0100_0193);
    }
    // The low bits of FNV-1a mix poorly for short inputs; fold the high half in.
    ((hash ^ (hash >> 16)) as usize) % NAME_PALETTE.len()
}

/// Decides whether to colour output, following <https://no-color.org>: only on a
/// terminal, never when `NO_COLOR` is set to a non-empty value or `TERM` is `dumb`.
pub fn colour_wanted(stdout_is_terminal: bool, no_color: Option<&str>, term: Option<&str>) -> bool {
    stdout_is_terminal && no_color.is_none_or(str::is_empty) && term != Some("dumb")
}

/// Bidirectional controls that open an embedding or override (closed by PDF).
fn opens_embedding(c: char) -> bool {
    matches!(c, '\u{202A}' | '\u{202B}' | '\u{202D}' | '\u{202E}')
}

/// Bidirectional controls that open an isolate (closed by PDI).
fn opens_isolate(c: char) -> bool {
    matches!(c, '\u{2066}' | '\u{2067}' | '\u{2068}')
}

const PDF: char = '\u{202C}';
const PDI: char = '\u{2069}';

/// Makes text from the network safe to print.
///
/// - C0 controls (except TAB) and DEL become caret notation (`ESC` shows as `^[`),
///   C1 controls and the Unicode line/paragraph separators become `<U+XXXX>`: visible,
///   so nothing is hidden, and inert, so nothing moves the cursor or starts a sequence.
/// - Bidirectional embeddings, overrides and isolates are allowed (people write
///   right-to-left languages), but every one left open is closed at the end of the
///   text, and stray closers are dropped, so they cannot reorder what follows.
pub fn sanitize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    // Open bidi scopes, innermost last: true for an isolate, false for an embedding.
    let mut open: Vec<bool> = Vec::new();
    for c in text.chars() {
        match c {
            '\t' => out.push(c),
            '\0'..='\u{1f}' => {
                out.push('^');
                out.push(char::from(c as u8 ^ 0x40));
            }
            '\u{7f}' => out.push_str("^?"),
            '\u{80}'..='\u{9f}' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "<U+{:04X}>", u32::from(c));
            }
            c if opens_embedding(c) => {
                open.push(false);
                out.push(c);
            }
            c if opens_isolate(c) => {
                open.push(true);
                out.push(c);
            }
            PDF => {
                // A PDF only closes an embedding opened inside the current isolate.
                if open.last() == Some(&false) {
                    open.pop();
                    out.push(c);
                }
            }
            PDI => {
                // A PDI closes its isolate and every embedding opened inside it.
                if let Some(pos) = open.iter().rposition(|&isolate| isolate) {
                    open.truncate(pos);
                    out.push(c);
                }
            }
            c => out.push(c),
        }
    }
    while let Some(isolate) = open.pop() {
        out.push(if isolate { PDI } else { PDF });
    }
    out
}

/// The terminal width of one character, as far as this client can tell without a
/// Unicode table crate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CharWidth {
    /// Known to take this many columns.
    Known(usize),
    /// Emoji sequences and similar: terminals (and rustyline) disagree, so callers
    /// consider the whole range from the first to the second number of columns.
    Unsure(usize, usize),
}

/// Classifies `c`. Covers ASCII, combining marks, format characters and the common
/// wide (CJK, Hangul, fullwidth, emoji) blocks.
fn char_width(c: char) -> CharWidth {
    let cp = u32::from(c);
    match cp {
        0x20..=0x7e => CharWidth::Known(1),
        0..=0x1f | 0x7f..=0x9f => CharWidth::Known(0),
        // Combining marks and zero-width format characters.
        0x0300..=0x036f
        | 0x0483..=0x0489
        | 0x0591..=0x05bd
        | 0x0610..=0x061a
        | 0x064b..=0x065f
        | 0x1ab0..=0x1aff
        | 0x1dc0..=0x1dff
        | 0x200b..=0x200c
        | 0x200e..=0x200f
        | 0x202a..=0x202e
        | 0x2060..=0x2069
        | 0x20d0..=0x20ff
        | 0xfe20..=0xfe2f
        | 0xfeff => CharWidth::Known(0),
        // Joiners, variation selectors, skin tones and regional indicators combine
        // with their neighbours in ways that differ between terminals.
        0x200d | 0xfe00..=0xfe0f | 0x1f3fb..=0x1f3ff => CharWidth::Unsure(0, 2),
        0x1f1e6..=0x1f1ff => CharWidth::Unsure(1, 2),
        0x1100..=0x115f
        | 0x2e80..=0x303e
        | 0x3041..=0x33ff
        | 0x3400..=0x4dbf
        | 0x4e00..=0x9fff
        | 0xa000..=0xa4cf
        | 0xac00..=0xd7a3
        | 0xf900..=0xfaff
        | 0xfe30..=0xfe4f
        | 0xff00..=0xff60
        | 0xffe0..=0xffe6
        | 0x1f300..=0x1f64f
        | 0x1f900..=0x1f9ff
        | 0x20000..=0x2fffd
        | 0x30000..=0x3fffd => CharWidth::Known(2),
        // Other symbols that some terminals draw as emoji.
        0x2600..=0x27bf | 0x1f000..=0x1f2ff | 0x1f650..=0x1f8ff | 0x1fa00..=0x1faff => {
            CharWidth::Unsure(1, 2)
        }
        _ => CharWidth::Known(1),
    }
}

/// The least and greatest number of columns each character of `text` may take.
/// A character right after a zero-width joiner may be drawn as part of the
/// previous one (emoji sequences), so it may take no columns at all.
fn width_range(text: &str) -> impl Iterator<Item = (char, usize, usize)> + '_ {
    let mut after_joiner = false;
    text.chars().map(move |c| {
        let (lo, hi) = match char_width(c) {
            CharWidth::Known(w) => (w, w),
            CharWidth::Unsure(lo, hi) => (lo, hi),
        };
        let lo = if after_joiner { 0 } else { lo };
        after_joiner = c == '\u{200d}';
        (c, lo, hi)
    })
}

/// The display width of `text` in columns (unsure characters count at their least).
pub fn display_width(text: &str) -> usize {
    width_range(text).map(|(_, lo, _)| lo).sum()
}

/// How many terminal rows `text` (a prompt plus what was typed after it) occupies
/// when the cursor ends right after it, counted the way rustyline lays out its input
/// line: a wide character that does not fit moves to the next row, and a row filled
/// exactly puts the cursor at the start of the next one. Tabs advance to the next
/// multiple of eight.
///
/// Returns `None` when the answer depends on characters whose width is unsure, so
/// the caller does not erase the wrong rows.
pub fn rows_used(text: &str, columns: usize) -> Option<usize> {
    if columns == 0 {
        return None;
    }
    let narrow = layout_rows(text, columns, false);
    let wide = layout_rows(text, columns, true);
    (narrow == wide).then_some(narrow)
}

/// The row count for [`rows_used`] with unsure characters taken at their widest
/// (`wide`) or narrowest.
fn layout_rows(text: &str, columns: usize, wide: bool) -> usize {
    let (mut row, mut col) = (0usize, 0usize);
    for (c, lo, hi) in width_range(text) {
        let w = if c == '\t' {
            8 - col % 8
        } else if wide {
            hi
        } else {
            lo
        };
        col += w;
        if col > columns {
            row += 1;
            col = w;
        }
    }
    if col == columns {
        row += 1;
    }
    row + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_become_visible_and_inert() {
        assert_eq!(sanitize("a\x1b[31mred"), "a^[[31mred");
        assert_eq!(sanitize("nul\0 del\x7f"), "nul^@ del^?");
        assert_eq!(sanitize("c1\u{9b}31m"), "c1<U+009B>31m");
        assert_eq!(sanitize("cr\rlf\n"), "cr^Mlf^J");
        assert_eq!(sanitize("tab\tkept"), "tab\tkept");
        assert_eq!(sanitize("line\u{2028}sep"), "line<U+2028>sep");
    }

    #[test]
    fn ordinary_unicode_is_untouched() {
        let text = "שלום עולם – grüße, 你好 🙂";
        assert_eq!(sanitize(text), text);
    }

    #[test]
    fn open_bidi_scopes_are_closed_at_the_end() {
        assert_eq!(sanitize("\u{202E}evil"), "\u{202E}evil\u{202C}");
        assert_eq!(
            sanitize("\u{2067}x\u{202B}y"),
            "\u{2067}x\u{202B}y\u{202C}\u{2069}"
        );
        // Balanced text stays as it is.
        assert_eq!(sanitize("\u{2068}x\u{2069}"), "\u{2068}x\u{2069}");
        // A PDI also closes the embeddings inside its isolate.
        assert_eq!(
            sanitize("\u{2066}\u{202A}a\u{2069}b"),
            "\u{2066}\u{202A}a\u{2069}b"
        );
    }

    #[test]
    fn stray_bidi_closers_are_dropped() {
        assert_eq!(sanitize("a\u{202C}b\u{2069}c"), "abc");
        // A PDF cannot close an embedding outside the current isolate.
        assert_eq!(
            sanitize("\u{202B}\u{2066}x\u{202C}"),
            "\u{202B}\u{2066}x\u{2069}\u{202C}"
        );
    }

    #[test]
    fn painting_is_off_without_colour() {
        let plain = Painter { colour: false };
        assert_eq!(plain.paint(Style::Error, "x"), "x");
        assert_eq!(plain.name("bob\x1b"), "bob^[");
        let colour = Painter { colour: true };
        assert_eq!(colour.paint(Style::Error, "x"), "\x1b[1;31mx\x1b[0m");
        assert_eq!(colour.paint(Style::Error, ""), "");
    }

    #[test]
    fn name_colours_are_stable_and_ignore_case() {
        assert_eq!(name_colour("Alice"), name_colour("alice"));
        assert_eq!(name_colour("alice"), name_colour("alice"));
        let distinct: std::collections::HashSet<usize> =
            ["alice", "bob", "carol", "dave", "erin", "frank"]
                .iter()
                .map(|n| name_colour(n))
                .collect();
        assert!(distinct.len() >= 3, "names should spread over the palette");
    }

    #[test]
    fn colour_follows_terminal_and_no_color() {
        assert!(colour_wanted(true, None, Some("xterm")));
        assert!(colour_wanted(true, Some(""), None));
        assert!(!colour_wanted(true, Some("1"), Some("xterm")));
        assert!(!colour_wanted(false, None, Some("xterm")));
        assert!(!colour_wanted(true, None, Some("dumb")));
    }

    #[test]
    fn widths() {
        assert_eq!(display_width("abc"), 3);
        assert_eq!(display_width("你好"), 4);
        assert_eq!(display_width("e\u{301}"), 1);
    }

    #[test]
    fn rows_follow_rustyline_layout() {
        assert_eq!(rows_used("lobby> hi", 80), Some(1));
        assert_eq!(rows_used("", 80), Some(1));
        // Exactly full: the cursor sits at the start of the next row.
        assert_eq!(rows_used(&"x".repeat(10), 10), Some(2));
        assert_eq!(rows_used(&"x".repeat(11), 10), Some(2));
        assert_eq!(rows_used(&"x".repeat(21), 10), Some(3));
        // A wide character that does not fit wraps whole.
        assert_eq!(rows_used(&format!("{}你", "x".repeat(9)), 10), Some(2));
        assert_eq!(rows_used("a\tb", 80), Some(1));
        // Emoji with joiners near a row end: unsure.
        assert_eq!(
            rows_used(&format!("{}\u{1F469}\u{200D}\u{1F680}", "x".repeat(7)), 10),
            None
        );
        // ...but far from the end it does not matter.
        assert_eq!(rows_used("\u{1F469}\u{200D}\u{1F680}", 80), Some(1));
        assert_eq!(rows_used("x", 0), None);
    }
}
