//! What the outbox needs of a client's socket: a write that never blocks,
//! for the threads that deliver other people's messages, and blocking
//! writes for the writer thread that takes over a client who reads slowly.
//!
//! The non-blocking write is `send(2)` with `MSG_DONTWAIT`. It is per call,
//! so the session thread can stay blocked in `read` on the same descriptor
//! (`set_nonblocking` would change the descriptor for both). The session
//! reads the same way (`recv_now`) to find out whether it may block. std has
//! no such calls, so this module declares the two C functions it needs; they
//! are the only foreign calls in the server.

use std::fs::File;
use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, TcpStream};

/// A connected client socket, as the outbox writes to it.
pub trait Socket: Send + Sync {
    /// Writes what the kernel takes at once, without waiting for room:
    /// `Err(WouldBlock)` when it takes nothing.
    fn send_now(&self, buf: &[u8]) -> io::Result<usize>;
    /// Writes all of `bufs`, in order, waiting for room (bounded by the
    /// socket's write timeout).
    fn send_all_vectored(&self, bufs: &mut [IoSlice<'_>]) -> io::Result<()>;
    /// Writes exactly `len` bytes of `file`, waiting for room.
    fn send_file(&self, file: File, len: u64) -> io::Result<()>;
    fn shutdown(&self, how: Shutdown);
}

impl Socket for TcpStream {
    fn send_now(&self, buf: &[u8]) -> io::Result<usize> {
        send_dontwait(self, buf)
    }

    /// `Write::write_all_vectored` is not stable yet: the same loop.
    fn send_all_vectored(&self, mut bufs: &mut [IoSlice<'_>]) -> io::Result<()> {
        IoSlice::advance_slices(&mut bufs, 0);
        while !bufs.is_empty() {
            match (&*self).write_vectored(bufs) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => IoSlice::advance_slices(&mut bufs, n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// `io::copy` from a file to a `TcpStream` uses `sendfile` on Linux, so
    /// the bytes never pass through this process. A file shorter than
    /// announced breaks the framing: that is an error, and the caller closes
    /// the connection.
    fn send_file(&self, file: File, len: u64) -> io::Result<()> {
        let sent = io::copy(&mut file.take(len), &mut &*self)?;
        if sent < len {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("file ended after {sent} of {len} bytes"),
            ));
        }
        Ok(())
    }

    fn shutdown(&self, how: Shutdown) {
        let _ = TcpStream::shutdown(self, how);
    }
}

/// Reads what has arrived, without waiting: `Err(WouldBlock)` when nothing
/// has, `Ok(0)` at the end of the stream.
pub fn recv_now(stream: &TcpStream, buf: &mut [u8]) -> io::Result<usize> {
    sys::recv_dontwait(stream, buf)
}

fn send_dontwait(stream: &TcpStream, buf: &[u8]) -> io::Result<usize> {
    sys::send_dontwait(stream, buf)
}

#[cfg(target_os = "linux")]
mod sys {
    use std::io;
    use std::net::TcpStream;
    use std::os::fd::AsRawFd;
    use std::os::raw::{c_int, c_void};

    extern "C" {
        fn send(fd: c_int, buf: *const c_void, len: usize, flags: c_int) -> isize;
        fn recv(fd: c_int, buf: *mut c_void, len: usize, flags: c_int) -> isize;
    }
    /// From Linux's `<sys/socket.h>`: do not wait, and report a closed peer
    /// as `EPIPE` rather than raising `SIGPIPE`.
    const MSG_DONTWAIT: c_int = 0x40;
    const MSG_NOSIGNAL: c_int = 0x4000;

    pub fn send_dontwait(stream: &TcpStream, buf: &[u8]) -> io::Result<usize> {
        retry(|| {
            // SAFETY: the descriptor is open for as long as `stream` is
            // borrowed, and `buf` is valid for reads of `buf.len()` bytes;
            // `send` keeps neither after it returns.
            unsafe {
                send(
                    stream.as_raw_fd(),
                    buf.as_ptr().cast(),
                    buf.len(),
                    MSG_DONTWAIT | MSG_NOSIGNAL,
                )
            }
        })
    }

    pub fn recv_dontwait(stream: &TcpStream, buf: &mut [u8]) -> io::Result<usize> {
        retry(|| {
            // SAFETY: as for `send`, with `buf` valid for writes of its length.
            unsafe {
                recv(
                    stream.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    MSG_DONTWAIT,
                )
            }
        })
    }

    /// Turns a C return value into a result, retrying when a signal interrupted the call.
    fn retry(mut call: impl FnMut() -> isize) -> io::Result<usize> {
        loop {
            match usize::try_from(call()) {
                Ok(n) => return Ok(n),
                Err(_) => {
                    let e = io::Error::last_os_error();
                    if e.kind() != io::ErrorKind::Interrupted {
                        return Err(e);
                    }
                }
            }
        }
    }
}

/// Elsewhere every write goes through the writer thread, and every read
/// may block: correct, only slower.
#[cfg(not(target_os = "linux"))]
mod sys {
    use std::io;
    use std::net::TcpStream;

    pub fn send_dontwait(_: &TcpStream, _: &[u8]) -> io::Result<usize> {
        Err(io::ErrorKind::WouldBlock.into())
    }

    pub fn recv_dontwait(_: &TcpStream, _: &mut [u8]) -> io::Result<usize> {
        Err(io::ErrorKind::WouldBlock.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn send_now_takes_what_fits_then_would_block_and_never_waits() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        assert_eq!(client.send_now(b"hello").unwrap(), 5);
        let mut got = [0u8; 5];
        server.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"hello");
        // Nobody reads: the socket buffers fill, and a send that would wait
        // returns at once instead.
        let chunk = vec![0u8; 1 << 16];
        let mut total = 0;
        let err = loop {
            match client.send_now(&chunk) {
                Ok(n) => total += n,
                Err(e) => break e,
            }
            assert!(total < 1 << 30, "the kernel never pushed back");
        };
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        assert!(total > 0);
    }

    #[test]
    fn send_all_vectored_writes_every_slice_in_order_across_partial_writes() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        // More slices than one writev takes (1,024), and more bytes than
        // the socket buffers hold, so the writes come back partial.
        let frames: Vec<Vec<u8>> = (0..3000u32)
            .map(|i| format!("{i:>5}:").into_bytes().repeat(1 + i as usize % 200))
            .collect();
        let expected = frames.concat();
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            server.read_to_end(&mut got).unwrap();
            got
        });
        let mut slices: Vec<IoSlice<'_>> = frames.iter().map(|f| IoSlice::new(f)).collect();
        client.send_all_vectored(&mut slices).unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        assert!(reader.join().unwrap() == expected);
    }

    #[test]
    fn send_now_to_a_closed_peer_is_an_error_not_a_signal() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        drop(server);
        drop(listener);
        // The first send may be taken before the peer's reset arrives.
        let err = (0..100)
            .find_map(|_| {
                std::thread::sleep(std::time::Duration::from_millis(5));
                client.send_now(b"x").err()
            })
            .expect("a send to a closed peer fails");
        assert!(matches!(
            err.kind(),
            io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
        ));
    }

    #[test]
    fn recv_now_returns_what_arrived_and_never_waits() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        let mut buf = [0u8; 16];
        let err = recv_now(&server, &mut buf).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        client.write_all(b"hi").unwrap();
        let n = (0..100)
            .find_map(|_| {
                std::thread::sleep(std::time::Duration::from_millis(5));
                recv_now(&server, &mut buf).ok()
            })
            .expect("the bytes arrive");
        assert_eq!(&buf[..n], b"hi");
        drop(client);
        let end = (0..100).find_map(|_| {
            std::thread::sleep(std::time::Duration::from_millis(5));
            recv_now(&server, &mut buf).ok()
        });
        assert_eq!(end, Some(0), "the end of the stream reads as 0");
    }
}
