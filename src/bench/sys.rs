//! The few Linux calls the bench needs and std lacks: an epoll set, so a
//! handful of threads can read every connection, a read that never waits,
//! and `TCP_QUICKACK`. Declared by hand (standard library only), as
//! `crate::server::socket` does for `send` and `recv`; elsewhere every
//! call fails with `Unsupported`.

use std::io;
use std::net::TcpStream;
use std::time::Duration;

/// An epoll set of sockets, each registered with a token.
pub(crate) struct Epoll {
    #[cfg(target_os = "linux")]
    fd: std::os::fd::OwnedFd,
}

#[cfg(target_os = "linux")]
mod linux {
    use std::os::raw::{c_int, c_void};

    /// `struct epoll_event`; the kernel packs it on x86-64 only.
    #[cfg_attr(target_arch = "x86_64", repr(C, packed))]
    #[cfg_attr(not(target_arch = "x86_64"), repr(C))]
    #[derive(Clone, Copy)]
    pub(super) struct EpollEvent {
        pub(super) events: u32,
        pub(super) data: u64,
    }

    extern "C" {
        pub(super) fn epoll_create1(flags: c_int) -> c_int;
        pub(super) fn epoll_ctl(epfd: c_int, op: c_int, fd: c_int, event: *mut EpollEvent)
            -> c_int;
        pub(super) fn epoll_wait(
            epfd: c_int,
            events: *mut EpollEvent,
            maxevents: c_int,
            timeout: c_int,
        ) -> c_int;
        pub(super) fn recv(fd: c_int, buf: *mut c_void, len: usize, flags: c_int) -> isize;
        pub(super) fn setsockopt(
            fd: c_int,
            level: c_int,
            name: c_int,
            value: *const c_void,
            len: u32,
        ) -> c_int;
    }

    // From Linux's <sys/epoll.h>, <sys/socket.h> and <netinet/tcp.h>.
    pub(super) const EPOLL_CLOEXEC: c_int = 0o2_000_000;
    pub(super) const EPOLL_CTL_ADD: c_int = 1;
    pub(super) const EPOLL_CTL_DEL: c_int = 2;
    /// Readable, or the peer hung up, or an error: each ends in a read.
    pub(super) const EPOLLIN_HUP_ERR: u32 = 0x001 | 0x008 | 0x010;
    pub(super) const MSG_DONTWAIT: c_int = 0x40;
    pub(super) const IPPROTO_TCP: c_int = 6;
    pub(super) const TCP_QUICKACK: c_int = 12;
}

/// Most readiness reports one `wait` returns.
const MAX_EVENTS: usize = 256;

#[cfg(target_os = "linux")]
impl Epoll {
    /// A new, empty epoll set.
    pub(crate) fn new() -> io::Result<Epoll> {
        use std::os::fd::FromRawFd;
        // SAFETY: no pointers; a non-negative result is a new descriptor
        // that nothing else owns.
        let fd = unsafe { linux::epoll_create1(linux::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just returned by the kernel and is owned here only.
        Ok(Epoll {
            fd: unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) },
        })
    }

    /// Watches `stream` for input (level-triggered), reported with `token`.
    pub(crate) fn add(&self, stream: &TcpStream, token: u64) -> io::Result<()> {
        self.control(linux::EPOLL_CTL_ADD, stream, token)
    }

    /// Stops watching `stream`. (A socket stays registered for as long as
    /// its descriptor is open, and the writing half keeps it open.)
    pub(crate) fn remove(&self, stream: &TcpStream) -> io::Result<()> {
        self.control(linux::EPOLL_CTL_DEL, stream, 0)
    }

    fn control(&self, op: std::os::raw::c_int, stream: &TcpStream, token: u64) -> io::Result<()> {
        use std::os::fd::AsRawFd;
        let mut event = linux::EpollEvent {
            events: linux::EPOLLIN_HUP_ERR,
            data: token,
        };
        // SAFETY: both descriptors are open; the kernel copies `event`
        // during the call and keeps no pointer to it.
        let rc =
            unsafe { linux::epoll_ctl(self.fd.as_raw_fd(), op, stream.as_raw_fd(), &mut event) };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Waits up to `timeout` for registered sockets to be ready, and fills
    /// `ready` with their tokens (cleared first). An interrupted wait
    /// returns nothing ready.
    pub(crate) fn wait(&self, ready: &mut Vec<u64>, timeout: Duration) -> io::Result<()> {
        use std::os::fd::AsRawFd;
        let mut events = [linux::EpollEvent { events: 0, data: 0 }; MAX_EVENTS];
        let millis = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
        // SAFETY: `events` is valid for writes of `MAX_EVENTS` entries,
        // which is what the kernel is told it may fill.
        let n = unsafe {
            linux::epoll_wait(
                self.fd.as_raw_fd(),
                events.as_mut_ptr(),
                MAX_EVENTS as i32,
                millis,
            )
        };
        ready.clear();
        let Ok(n) = usize::try_from(n) else {
            let e = io::Error::last_os_error();
            return if e.kind() == io::ErrorKind::Interrupted {
                Ok(())
            } else {
                Err(e)
            };
        };
        ready.extend(events[..n].iter().map(|e| e.data));
        Ok(())
    }
}

/// Reads what has arrived, without waiting even on a blocking socket:
/// `Err(WouldBlock)` when nothing has, `Ok(0)` at the end of the stream.
#[cfg(target_os = "linux")]
pub(crate) fn recv_now(stream: &TcpStream, buf: &mut [u8]) -> io::Result<usize> {
    use std::os::fd::AsRawFd;
    loop {
        // SAFETY: the descriptor is open while `stream` is borrowed, and
        // `buf` is valid for writes of its length; nothing is kept.
        let n = unsafe {
            linux::recv(
                stream.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                linux::MSG_DONTWAIT,
            )
        };
        match usize::try_from(n) {
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

/// Asks the kernel to acknowledge what arrives on `stream` at once rather
/// than delaying ACKs. The kernel drops back to delayed ACKs by itself, so
/// a client that wants quick ACKs sets this again after every read.
#[cfg(target_os = "linux")]
pub(crate) fn quick_ack(stream: &TcpStream) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let one: std::os::raw::c_int = 1;
    // SAFETY: the descriptor is open while `stream` is borrowed; the kernel
    // reads `size_of::<c_int>()` bytes from `one` during the call only.
    let rc = unsafe {
        linux::setsockopt(
            stream.as_raw_fd(),
            linux::IPPROTO_TCP,
            linux::TCP_QUICKACK,
            (&one as *const std::os::raw::c_int).cast(),
            std::mem::size_of::<std::os::raw::c_int>() as u32,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn unsupported() -> io::Error {
    io::Error::new(io::ErrorKind::Unsupported, "chat-bench needs Linux (epoll)")
}

#[cfg(not(target_os = "linux"))]
impl Epoll {
    pub(crate) fn new() -> io::Result<Epoll> {
        Err(unsupported())
    }

    pub(crate) fn add(&self, _: &TcpStream, _: u64) -> io::Result<()> {
        Err(unsupported())
    }

    pub(crate) fn remove(&self, _: &TcpStream) -> io::Result<()> {
        Err(unsupported())
    }

    pub(crate) fn wait(&self, _: &mut Vec<u64>, _: Duration) -> io::Result<()> {
        Err(unsupported())
    }
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn recv_now(_: &TcpStream, _: &mut [u8]) -> io::Result<usize> {
    Err(unsupported())
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn quick_ack(_: &TcpStream) -> io::Result<()> {
    Err(unsupported())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::TcpListener;

    #[test]
    fn epoll_reports_a_readable_socket_by_its_token() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("address");
        let client = TcpStream::connect(addr).expect("connect");
        let (mut server, _) = listener.accept().expect("accept");
        let epoll = Epoll::new().expect("epoll");
        epoll.add(&client, 42).expect("add");
        let mut ready = Vec::new();
        epoll.wait(&mut ready, Duration::ZERO).expect("wait");
        assert!(ready.is_empty());
        let mut buf = [0u8; 16];
        let nothing = recv_now(&client, &mut buf).expect_err("nothing to read");
        assert_eq!(nothing.kind(), io::ErrorKind::WouldBlock);
        server.write_all(b"hello").expect("write");
        epoll
            .wait(&mut ready, Duration::from_secs(5))
            .expect("wait");
        assert_eq!(ready, [42]);
        assert_eq!(recv_now(&client, &mut buf).expect("read"), 5);
        quick_ack(&client).expect("quick ack");
        drop(server);
        epoll
            .wait(&mut ready, Duration::from_secs(5))
            .expect("wait");
        assert_eq!(ready.len(), 1, "a closed peer is reported");
        assert_eq!(recv_now(&client, &mut buf).expect("end of stream"), 0);
        epoll.remove(&client).expect("remove");
        epoll.wait(&mut ready, Duration::ZERO).expect("wait");
        assert!(ready.is_empty(), "a removed socket is not reported");
    }
}
