//! The terminal itself: raw mode through `stty` (saved with `stty -g` and
//! put back on every way out: a normal return, an error, the server going
//! away, a panic), the alternate screen and bracketed paste, and the
//! window size. Nothing here knows what is drawn.

use std::io::{self, Write};
use std::process::{Command, Stdio};
use std::sync::{Mutex, PoisonError};

/// Switches to the alternate screen, turns on bracketed paste, clears.
const ENTER: &str = "\x1b[?1049h\x1b[?2004h\x1b[0m\x1b[H\x1b[2J";
/// Undoes `ENTER` and any scroll region, colour or hidden cursor.
const LEAVE: &str = "\x1b[r\x1b[0m\x1b[?25h\x1b[?2004l\x1b[?1049l";

/// The settings `stty -g` printed before raw mode, while raw mode is on.
/// A global, because a panic hook must be able to restore them.
static SAVED: Mutex<Option<String>> = Mutex::new(None);

/// Raw mode and the full screen while it lives; restored on drop.
pub struct FullScreen {
    _private: (),
}

impl FullScreen {
    /// Saves the terminal's settings, switches to raw mode without echo,
    /// and enters the alternate screen; a panic anywhere restores the
    /// terminal before the panic message is printed.
    ///
    /// # Errors
    /// `stty` is missing or failed (then nothing was changed).
    pub fn enter() -> io::Result<FullScreen> {
        let saved = stty_output(&["-g"])?;
        stty(&["raw", "-echo"])?;
        *SAVED.lock().unwrap_or_else(PoisonError::into_inner) = Some(saved.trim().to_string());
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
            // A panic in either thread leaves the screen useless: leave.
            std::process::exit(101);
        }));
        let mut out = io::stdout().lock();
        out.write_all(ENTER.as_bytes())?;
        out.flush()?;
        Ok(FullScreen { _private: () })
    }
}

impl Drop for FullScreen {
    fn drop(&mut self) {
        restore();
    }
}

/// Puts the terminal back as it was before [`FullScreen::enter`]; does
/// nothing if it already is. Safe to call from any thread, any number of times.
pub fn restore() {
    let saved = SAVED.lock().unwrap_or_else(PoisonError::into_inner).take();
    if let Some(saved) = saved {
        let mut out = io::stdout().lock();
        let _ = out.write_all(LEAVE.as_bytes());
        let _ = out.flush();
        let _ = stty(&[&saved]);
    }
}

/// Runs `stty ARGS` on the terminal on standard input.
fn stty(args: &[&str]) -> io::Result<()> {
    let status = Command::new("stty")
        .args(args)
        .stdin(Stdio::inherit())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()?;
    if status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!("stty {} failed", args.join(" "))))
    }
}

fn stty_output(args: &[&str]) -> io::Result<String> {
    let output = Command::new("stty")
        .args(args)
        .stdin(Stdio::inherit())
        .stderr(Stdio::null())
        .output()?;
    if !output.status.success() {
        return Err(io::Error::other(format!("stty {} failed", args.join(" "))));
    }
    String::from_utf8(output.stdout).map_err(|_| io::Error::other("stty printed non-UTF-8"))
}

/// The terminal's size in columns and rows, if it can be read.
pub fn size() -> Option<(usize, usize)> {
    #[cfg(target_os = "linux")]
    {
        if let Some(size) = ioctl_size() {
            return Some(size);
        }
    }
    // Elsewhere (or if the ioctl failed): ask stty, which prints "ROWS COLS".
    let text = stty_output(&["size"]).ok()?;
    let mut parts = text.split_whitespace().map(str::parse::<usize>);
    let rows = parts.next()?.ok()?;
    let cols = parts.next()?.ok()?;
    (rows > 0 && cols > 0).then_some((cols, rows))
}

/// `TIOCGWINSZ` on standard output: cheap enough to ask several times a
/// second (spawning `stty size` that often would not be).
#[cfg(target_os = "linux")]
fn ioctl_size() -> Option<(usize, usize)> {
    use std::os::raw::{c_int, c_ulong};
    #[repr(C)]
    struct WinSize {
        rows: u16,
        cols: u16,
        x_pixels: u16,
        y_pixels: u16,
    }
    extern "C" {
        fn ioctl(fd: c_int, request: c_ulong, ...) -> c_int;
    }
    const TIOCGWINSZ: c_ulong = 0x5413;
    const STDOUT: c_int = 1;
    let mut size = WinSize {
        rows: 0,
        cols: 0,
        x_pixels: 0,
        y_pixels: 0,
    };
    // SAFETY: TIOCGWINSZ writes one `struct winsize` (four u16, the layout
    // above) through the pointer, which points at a live, writable value.
    let rc = unsafe { ioctl(STDOUT, TIOCGWINSZ, &mut size as *mut WinSize) };
    (rc == 0 && size.rows > 0 && size.cols > 0)
        .then_some((usize::from(size.cols), usize::from(size.rows)))
}
