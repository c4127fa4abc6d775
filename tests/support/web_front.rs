//! A stand-in for the server's browser door, for tests until the server has
//! its own: an HTTP listener that serves the embedded page with
//! `chat::web::assets` and, at `/ws`, carries each WebSocket text message to
//! a real chat server as one CHAT/1.0 frame over TCP, and each frame back as
//! one text message. It uses only the library's `web` parts.

use std::io::{BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

use chat::protocol::{Frame, Limits};
use chat::web::assets;
use chat::web::handshake::{self, OriginPolicy};
use chat::web::http::{Method, Request};
use chat::web::response::{Response, StatusCode};
use chat::web::websocket::{CloseCode, Message, Reader, Role, Writer, MAX_MESSAGE_BYTES};

/// The listener and what it needs to reach the chat server.
pub struct WebFront {
    pub addr: SocketAddr,
    chat_port: Arc<Mutex<u16>>,
    /// Every socket it opened, to cut them all (a network drop).
    sockets: Arc<Mutex<Vec<TcpStream>>>,
}

impl WebFront {
    /// Listens on a free loopback port, passing `/ws` to the chat server
    /// on `chat_port`.
    pub fn start(chat_port: u16) -> WebFront {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the web front");
        let addr = listener.local_addr().unwrap();
        let front = WebFront {
            addr,
            chat_port: Arc::new(Mutex::new(chat_port)),
            sockets: Arc::default(),
        };
        let (port, sockets) = (front.chat_port.clone(), front.sockets.clone());
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                if let Ok(clone) = stream.try_clone() {
                    sockets.lock().unwrap().push(clone);
                }
                let (port, sockets) = (port.clone(), sockets.clone());
                thread::spawn(move || {
                    let closer = stream.try_clone();
                    serve(stream, &port, &sockets);
                    // The list above holds a clone, so dropping ours would
                    // not close the connection.
                    if let Ok(socket) = closer {
                        let _ = socket.shutdown(Shutdown::Both);
                    }
                });
            }
        });
        front
    }

    /// The page's address.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Points `/ws` at another chat server (after a restart on a new port).
    pub fn set_chat_port(&self, port: u16) {
        *self.chat_port.lock().unwrap() = port;
    }

    /// Cuts every connection at once, as a network drop would.
    pub fn drop_connections(&self) {
        for socket in self.sockets.lock().unwrap().drain(..) {
            let _ = socket.shutdown(Shutdown::Both);
        }
    }
}

/// One browser connection: HTTP requests until one upgrades to `/ws`.
fn serve(stream: TcpStream, chat_port: &Mutex<u16>, sockets: &Mutex<Vec<TcpStream>>) {
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut out = stream;
    loop {
        let request = match Request::read_from(&mut reader) {
            Ok(Some(request)) => request,
            Ok(None) => return,
            Err(e) => {
                if let Some(status) = e.status() {
                    let _ =
                        Response::text(status, &format!("{e}\n")).write_to(&mut out, false, false);
                }
                return;
            }
        };
        let head_only = request.method == Method::Head;
        if request.path == "/ws" {
            match handshake::accept(&request, &OriginPolicy::same_origin()) {
                Ok(response) => {
                    // Copied out first: a guard in the call's arguments
                    // would be held for the whole connection.
                    let port = *chat_port.lock().unwrap();
                    if response.write_to(&mut out, false, true).is_ok() {
                        bridge(reader, out, port, sockets);
                    }
                }
                Err(refusal) => {
                    let _ = refusal.write_to(&mut out, head_only, false);
                }
            }
            return;
        }
        let response = if request.path == "/files" || request.path.starts_with("/files/") {
            // The door's file endpoints are the server's to add.
            Response::text(StatusCode::NOT_FOUND, "no file transfers here yet\n")
        } else {
            assets::respond(&request)
        };
        let keep_alive = request.keep_alive() && request.content_length == 0;
        if response.write_to(&mut out, head_only, keep_alive).is_err() || !keep_alive {
            return;
        }
    }
}

/// Carries frames both ways between a browser's WebSocket and a chat server.
fn bridge(
    reader: BufReader<TcpStream>,
    browser: TcpStream,
    chat_port: u16,
    sockets: &Mutex<Vec<TcpStream>>,
) {
    let Ok(writer) = Writer::new(browser.try_clone().expect("clone"), Role::Server) else {
        return;
    };
    let writer = Arc::new(Mutex::new(writer));
    let Ok(chat) = TcpStream::connect(("127.0.0.1", chat_port)) else {
        let _ = writer
            .lock()
            .unwrap()
            .send_close(CloseCode::SERVICE_RESTART, "chat server unreachable");
        let _ = browser.shutdown(Shutdown::Both);
        return;
    };
    if let Ok(clone) = chat.try_clone() {
        sockets.lock().unwrap().push(clone);
    }
    // Whether this connection logged in asking for several rooms. Until the
    // server's LOGIN reply says `Rooms: many` itself, the front adds it, so
    // the page's many-rooms mode runs against the real hub in these tests.
    let many_rooms = Arc::new(AtomicBool::new(false));
    let asked_many = many_rooms.clone();
    // Server to browser: one frame, one text message.
    let to_browser = writer.clone();
    let chat_reader = chat.try_clone().expect("clone");
    let browser_clone = browser.try_clone().expect("clone");
    thread::spawn(move || {
        let mut chat_reader = BufReader::new(chat_reader);
        let limits = Limits {
            max_body_bytes: 1 << 20,
            ..Limits::default()
        };
        while let Ok(Some(mut frame)) = Frame::read_from(&mut chat_reader, &limits) {
            let login_reply = frame.header("Max-Body").is_some() && frame.header("Rooms").is_none();
            if login_reply && asked_many.load(Ordering::Relaxed) {
                frame = frame.with_header("Rooms", "many");
            }
            let Ok(text) = String::from_utf8(frame.encode()) else {
                continue;
            };
            if to_browser.lock().unwrap().send_text(&text).is_err() {
                break;
            }
        }
        let _ = to_browser
            .lock()
            .unwrap()
            .send_close(CloseCode::GOING_AWAY, "chat server closed the connection");
        let _ = browser_clone.shutdown(Shutdown::Both);
    });
    // Browser to server.
    let mut ws = Reader::new(reader, Role::Server, MAX_MESSAGE_BYTES);
    let mut chat_writer = chat;
    loop {
        match ws.read_message() {
            Ok(Some(Message::Text(text))) => {
                if text.starts_with("LOGIN ") {
                    let many = text.lines().any(|l| l.eq_ignore_ascii_case("Rooms: many"));
                    many_rooms.store(many, Ordering::Relaxed);
                }
                if chat_writer.write_all(text.as_bytes()).is_err() {
                    break;
                }
            }
            Ok(Some(message @ (Message::Ping(_) | Message::Close(_)))) => {
                let _ = writer.lock().unwrap().answer(&message);
                if matches!(message, Message::Close(_)) {
                    break;
                }
            }
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(e) => {
                if let Some(code) = e.close_code() {
                    let _ = writer.lock().unwrap().send_close(code, &e.to_string());
                }
                break;
            }
        }
    }
    let _ = chat_writer.shutdown(Shutdown::Both);
    let _ = browser.shutdown(Shutdown::Both);
}
