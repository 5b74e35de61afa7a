//! Small terminal facts and repairs that rustyline does not offer: the screen width,
//! whether the line editor currently has the terminal in raw mode, holding back
//! keystrokes between two edits, reading a line without the line editor, reading a
//! password with echo off, and restoring the terminal when the process must exit
//! from another thread in the middle of an edit.

use std::io::{self, Write as _};
use std::sync::OnceLock;

/// The terminal settings from before the client touched anything (terminal mode only).
static ORIGINAL: OnceLock<libc::termios> = OnceLock::new();

/// Reads the settings of standard input, if it is a terminal.
fn get() -> Option<libc::termios> {
    // SAFETY: termios is plain data; tcgetattr fills it in or fails.
    let mut t: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: valid fd number and a pointer to a live termios.
    (unsafe { libc::tcgetattr(libc::STDIN_FILENO, &mut t) } == 0).then_some(t)
}

/// Applies settings to standard input.
fn set(t: &libc::termios) {
    // SAFETY: valid fd number and a pointer to a live termios. A failure leaves the
    // terminal as it was, which is all we could do about it anyway.
    unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, t) };
}

/// Remembers the current settings so [`restore_for_exit`] can put them back.
pub fn save_original() {
    if let Some(t) = get() {
        let _ = ORIGINAL.set(t);
    }
}

/// Puts the terminal back as it was before the client started, after clearing the
/// input line and turning off bracketed paste (which the line editor turns on).
/// Does nothing outside terminal mode.
pub fn restore_for_exit() {
    if let Some(t) = ORIGINAL.get() {
        let mut out = io::stdout().lock();
        let _ = out.write_all(b"\r\x1b[K\x1b[?2004l");
        let _ = out.flush();
        set(t);
    }
}

/// Whether the line editor is not reading keys right now. [`HeldKeys`] sets INPCK
/// (input parity checking, which does nothing without parity, as on every virtual
/// terminal) as a marker, and the line editor clears it while it edits and puts it
/// back afterwards.
pub fn editor_idle() -> bool {
    get().is_none_or(|t| t.c_iflag & libc::INPCK != 0)
}

/// Reads one line from standard input in the terminal's own line mode (canonical
/// mode: the terminal edits the line and hands it over whole on Enter), for when the
/// line editor cannot be used. Returns the bytes with their newline, or `None` at
/// the end of input (Ctrl-D on an empty line). Bytes are read straight from the
/// descriptor, so nothing is left in a buffer that the line editor, which reads the
/// descriptor too, would never see; in this mode one read never returns more than
/// one line.
pub fn read_cooked_line() -> io::Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        // SAFETY: reads at most `chunk.len()` bytes into the live array `chunk`.
        let n = unsafe { libc::read(libc::STDIN_FILENO, chunk.as_mut_ptr().cast(), chunk.len()) };
        match usize::try_from(n) {
            Err(_) => {
                let err = io::Error::last_os_error();
                if err.kind() != io::ErrorKind::Interrupted {
                    return Err(err);
                }
            }
            // End of input; a line ended by Ctrl-D instead of Enter is still a line.
            Ok(0) => return Ok((!line.is_empty()).then_some(line)),
            Ok(n) => {
                line.extend_from_slice(&chunk[..n]);
                if line.last() == Some(&b'\n') {
                    return Ok(Some(line));
                }
            }
        }
    }
}

/// The width of the terminal on standard output, in columns.
pub fn columns() -> Option<usize> {
    // SAFETY: winsize is plain data that TIOCGWINSZ fills in.
    let mut size: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: valid fd and a pointer to a live winsize, as TIOCGWINSZ expects.
    let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) } == 0;
    (ok && size.ws_col > 0).then_some(usize::from(size.ws_col))
}

/// While alive, keys typed between two edits are neither echoed nor interpreted by
/// the terminal (no line buffering, no signals, no end-of-file character): they
/// wait as plain bytes for the line editor's next edit. Without this, a key typed
/// in the moment between pressing Enter and the next prompt would be echoed over
/// the output, and a quick Ctrl-D or Ctrl-C would be swallowed by the terminal's
/// line discipline instead of reaching the editor. The line editor saves and
/// restores whatever mode it finds, so it returns to this one after every edit.
pub struct HeldKeys {
    /// The settings to restore.
    saved: libc::termios,
}

impl HeldKeys {
    /// Holds keys back, if standard input is a terminal.
    pub fn new() -> Option<HeldKeys> {
        let saved = get()?;
        let mut held = saved;
        held.c_lflag &= !(libc::ECHO | libc::ICANON | libc::ISIG);
        // Enter stays `\r`, as the line editor expects it.
        held.c_iflag &= !libc::ICRNL;
        held.c_iflag |= libc::INPCK; // the marker for `editor_idle`
        held.c_cc[libc::VMIN] = 1;
        held.c_cc[libc::VTIME] = 0;
        set(&held);
        Some(HeldKeys { saved })
    }
}

impl Drop for HeldKeys {
    fn drop(&mut self) {
        set(&self.saved);
    }
}

/// While alive, keys typed on standard input are not shown, and the terminal handles
/// none of them itself: no line editing, and above all no signal for Ctrl-C, which
/// would kill the client with echo still off. [`crate::password::HiddenLine`]
/// handles those keys instead. Dropping it (also when unwinding) puts back the
/// settings it found; should the process end from another thread meanwhile,
/// [`restore_for_exit`] puts back the original ones.
pub struct EchoOff {
    /// The settings to restore, if standard input is a terminal.
    saved: Option<libc::termios>,
}

impl EchoOff {
    /// Turns echo off, if standard input is a terminal.
    pub fn new() -> EchoOff {
        let saved = get();
        if let Some(t) = saved {
            set(&hidden(t));
        }
        EchoOff { saved }
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        if let Some(t) = &self.saved {
            set(t);
        }
    }
}

/// `t` with echo off and every key passed through as a byte, one at a time.
fn hidden(mut t: libc::termios) -> libc::termios {
    t.c_lflag &= !(libc::ECHO | libc::ECHONL | libc::ICANON | libc::ISIG | libc::IEXTEN);
    t.c_cc[libc::VMIN] = 1;
    t.c_cc[libc::VTIME] = 0;
    t
}

/// Reads one byte from standard input; `None` at its end. One byte at a time, so
/// that nothing typed after the password is taken from the line editor.
pub fn read_byte() -> io::Result<Option<u8>> {
    let mut byte = 0u8;
    loop {
        // SAFETY: reads at most one byte into the live `byte`.
        let n = unsafe { libc::read(libc::STDIN_FILENO, (&mut byte as *mut u8).cast(), 1) };
        match n {
            1 => return Ok(Some(byte)),
            0 => return Ok(None),
            _ => {
                let err = io::Error::last_os_error();
                if err.kind() != io::ErrorKind::Interrupted {
                    return Err(err);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_mode_shows_nothing_and_sends_no_signals() {
        // SAFETY: termios is plain data.
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        t.c_lflag = libc::ECHO | libc::ECHOE | libc::ICANON | libc::ISIG | libc::IEXTEN;
        t.c_iflag = libc::ICRNL;
        let h = hidden(t);
        assert_eq!(
            h.c_lflag & (libc::ECHO | libc::ICANON | libc::ISIG | libc::IEXTEN),
            0
        );
        // Everything else is left as it was.
        assert_eq!(h.c_lflag & libc::ECHOE, libc::ECHOE);
        assert_eq!(h.c_iflag, libc::ICRNL);
        assert_eq!(h.c_cc[libc::VMIN], 1);
        assert_eq!(h.c_cc[libc::VTIME], 0);
    }

    #[test]
    fn echo_off_does_nothing_without_a_terminal() {
        // Test runs have no terminal on standard input (or, if they do, get it back).
        let before = get().map(|t| t.c_lflag);
        drop(EchoOff::new());
        assert_eq!(get().map(|t| t.c_lflag), before);
    }
}
