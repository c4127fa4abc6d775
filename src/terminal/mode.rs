//! The terminal itself: raw mode through `stty` (saved with `stty -g` and
//! put back on every way out: a normal return, an error, the server going
//! away, a panic, `exit`), the alternate screen and bracketed paste, and
//! the window size. Nothing here knows what is drawn. The server console
//! uses [`KeyMode`]: keys one by one, without the full screen.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::process::{Command, Stdio};
use std::sync::{Mutex, PoisonError};

/// Switches to the alternate screen, turns on bracketed paste, clears.
const ENTER: &str = "\x1b[?1049h\x1b[?2004h\x1b[0m\x1b[H\x1b[2J";
/// Undoes `ENTER` and any scroll region, colour or hidden cursor.
const LEAVE: &str = "\x1b[r\x1b[0m\x1b[?25h\x1b[?2004l\x1b[?1049l";

/// What puts the terminal back: the settings `stty -g` printed before we
/// changed them, and what to write first. A global, because a panic hook
/// and an `atexit` handler must be able to restore them.
static SAVED: Mutex<Option<Saved>> = Mutex::new(None);

struct Saved {
    settings: String,
    leave: &'static str,
}

/// Saves the settings, applies `stty ARGS`, and arranges for the settings
/// to come back (with `leave` written first) at [`restore`], at a panic
/// and at `exit`.
fn change(args: &[&str], leave: &'static str) -> io::Result<()> {
    let settings = stty_output(&["-g"])?.trim().to_string();
    stty(args)?;
    *SAVED.lock().unwrap_or_else(PoisonError::into_inner) = Some(Saved { settings, leave });
    restore_on_exit();
    Ok(())
}

/// Registers [`restore`] with the C library's `atexit` (once), so that a
/// `std::process::exit` anywhere, or returning from `main`, restores the
/// terminal; and a panic hook that restores it before the message.
fn restore_on_exit() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        extern "C" fn at_exit() {
            restore();
        }
        extern "C" {
            fn atexit(callback: extern "C" fn()) -> std::os::raw::c_int;
        }
        // SAFETY: `at_exit` is a plain `extern "C" fn()` that lives for the
        // whole program; atexit only stores the pointer.
        unsafe {
            atexit(at_exit);
        }
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
    });
}

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
        change(&["raw", "-echo"], LEAVE)?;
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
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

/// Keys one at a time, without echo, and Ctrl-C as a key (the program
/// decides what it means), on the normal screen, while it lives.
pub struct KeyMode {
    _private: (),
}

impl KeyMode {
    /// Switches the terminal to key-at-a-time input without echo; `leave`
    /// is written when the terminal is restored (to erase an input line).
    ///
    /// # Errors
    /// `stty` is missing or failed (then nothing was changed).
    pub fn enter(leave: &'static str) -> io::Result<KeyMode> {
        change(
            &[
                "-icanon", "-echo", "-isig", "-ixon", "min", "1", "time", "0",
            ],
            leave,
        )?;
        Ok(KeyMode { _private: () })
    }
}

impl Drop for KeyMode {
    fn drop(&mut self) {
        restore();
    }
}

/// Puts the terminal back as it was before [`FullScreen::enter`] or
/// [`KeyMode::enter`]; does nothing if it already is. Safe to call from
/// any thread, any number of times.
pub fn restore() {
    let saved = SAVED.lock().unwrap_or_else(PoisonError::into_inner).take();
    if let Some(saved) = saved {
        // Straight to the terminal device, not through standard output,
        // whose lock another thread may hold (blocked on a paused terminal)
        // while the process exits.
        match OpenOptions::new().write(true).open(TTY) {
            Ok(mut tty) => {
                let _ = tty.write_all(saved.leave.as_bytes());
            }
            Err(_) => {
                let mut out = io::stdout().lock();
                let _ = out.write_all(saved.leave.as_bytes());
                let _ = out.flush();
            }
        }
        let _ = stty(&[&saved.settings]);
    }
}

/// The controlling terminal.
const TTY: &str = "/dev/tty";

/// What `stty` reads its terminal from: `/dev/tty`, or our standard input
/// if that cannot be opened.
fn tty_input() -> Stdio {
    match File::open(TTY) {
        Ok(tty) => Stdio::from(tty),
        Err(_) => Stdio::inherit(),
    }
}

/// Runs `stty ARGS` on the terminal (`/dev/tty`).
fn stty(args: &[&str]) -> io::Result<()> {
    let status = Command::new("stty")
        .args(args)
        .stdin(tty_input())
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
        .stdin(tty_input())
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
