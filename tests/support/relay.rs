//! A TCP relay between a browser and the real server: the network the
//! browser tests can break. It copies bytes both ways and understands none
//! of them; it can cut every connection (both ends hear it), or black-hole
//! them (the browser's end is closed while the server's stays open and
//! silent, as when a laptop sleeps or a train enters a tunnel: the server
//! notices only when its ping goes unanswered), and it can be pointed at a
//! restarted server.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

/// One relayed connection: the browser's socket, the server's, and
/// whether it was black-holed (then the server's end is never closed).
struct Link {
    browser: TcpStream,
    server: TcpStream,
    holed: Arc<AtomicBool>,
}

/// The relay's listener and its connections.
pub struct Relay {
    pub addr: SocketAddr,
    target: Arc<Mutex<u16>>,
    links: Arc<Mutex<Vec<Link>>>,
    /// Server ends of black-holed connections, kept open until the relay goes.
    held: Arc<Mutex<Vec<TcpStream>>>,
}

impl Relay {
    /// Listens on a free loopback port, relaying to the server on `port`.
    pub fn start(port: u16) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the relay");
        let relay = Relay {
            addr: listener.local_addr().unwrap(),
            target: Arc::new(Mutex::new(port)),
            links: Arc::default(),
            held: Arc::default(),
        };
        let (target, links) = (relay.target.clone(), relay.links.clone());
        thread::spawn(move || {
            for browser in listener.incoming() {
                let Ok(browser) = browser else { continue };
                let port = *target.lock().unwrap();
                let Ok(server) = TcpStream::connect(("127.0.0.1", port)) else {
                    // Nothing to relay to (a server restarting): the
                    // browser sees its connection refused, in effect.
                    let _ = browser.shutdown(Shutdown::Both);
                    continue;
                };
                let holed = Arc::new(AtomicBool::new(false));
                let (Ok(b2), Ok(s2), Ok(b3), Ok(s3)) = (
                    browser.try_clone(),
                    server.try_clone(),
                    browser.try_clone(),
                    server.try_clone(),
                ) else {
                    continue;
                };
                links.lock().unwrap().push(Link {
                    browser,
                    server,
                    holed: holed.clone(),
                });
                let h = holed.clone();
                thread::spawn(move || copy(b2, s2, &h));
                thread::spawn(move || copy(s3, b3, &holed));
            }
        });
        relay
    }

    /// The page's address, through the relay.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Relays new connections to the server on `port` (a restarted one).
    pub fn set_target(&self, port: u16) {
        *self.target.lock().unwrap() = port;
    }

    /// Cuts every connection at both ends.
    pub fn cut(&self) {
        for link in self.links.lock().unwrap().drain(..) {
            let _ = link.browser.shutdown(Shutdown::Both);
            let _ = link.server.shutdown(Shutdown::Both);
        }
    }

    /// Closes the browser's end of every connection and leaves the server's
    /// open and silent: the server keeps the sessions until it notices.
    pub fn black_hole(&self) {
        for link in self.links.lock().unwrap().drain(..) {
            link.holed.store(true, Ordering::SeqCst);
            let _ = link.browser.shutdown(Shutdown::Both);
            self.held.lock().unwrap().push(link.server);
        }
    }
}

/// Copies `from` to `to` until either ends; passes the end on unless the
/// link was black-holed.
fn copy(mut from: TcpStream, mut to: TcpStream, holed: &AtomicBool) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if holed.load(Ordering::SeqCst) || to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    if !holed.load(Ordering::SeqCst) {
        let _ = to.shutdown(Shutdown::Write);
    }
    // The clones held in `Link` (or `held`) keep a black-holed server end
    // open after these are dropped.
}
