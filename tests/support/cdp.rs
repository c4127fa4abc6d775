//! A small Chrome DevTools Protocol client for browser tests: it starts
//! Debian's headless Chromium, talks to it over our own WebSocket code
//! (`chat::web`), and opens pages, evaluates script, types, clicks and
//! takes screenshots. Every wait is bounded.

pub mod json;

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use chat::web::handshake::{accept_key, new_key};
use chat::web::websocket::{Message, Reader, Role, Writer};

pub use json::{obj, Json};

use super::TempDir;

/// Where Debian's `chromium` package puts the browser.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// How long one DevTools call or page condition may take.
pub const CDP_WAIT: Duration = Duration::from_secs(20);

/// Screenshots are base64 PNGs of a few megabytes at most.
const MAX_CDP_MESSAGE_BYTES: usize = 64 << 20;

/// Whether a browser test can run here. With `CI=true` a missing browser
/// fails the test (CI installs it); elsewhere the test says it skipped.
pub fn browser_available(test: &str) -> bool {
    if Path::new(CHROMIUM).exists() {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "{CHROMIUM} is missing; .ci/run installs it (apt-get install chromium chromium-driver)"
        );
    }
    eprintln!("skipped {test}: {CHROMIUM} is not installed (apt-get install chromium)");
    false
}

/// One headless Chromium, killed on drop, with its own profile directory.
pub struct Browser {
    child: Child,
    _profile: TempDir,
    reader: Reader<BufReader<TcpStream>>,
    writer: Writer<TcpStream>,
    next_id: u64,
    /// Events read while waiting for something else, oldest first.
    events: VecDeque<Json>,
    /// Console errors and uncaught exceptions, per page session.
    errors: HashMap<String, Vec<String>>,
}

/// A page (tab) of the browser, attached to by its DevTools session.
#[derive(Debug, Clone)]
pub struct Page {
    pub session: String,
}

impl Browser {
    /// Starts Chromium with the flags this machine needs (no sandbox as
    /// root, no GPU, no background network) and connects to it.
    pub fn launch() -> Browser {
        let profile = TempDir::new("chromium");
        let mut child = Command::new(CHROMIUM)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                // Pages in background tabs keep their timers running.
                "--disable-background-timer-throttling",
                "--disable-renderer-backgrounding",
                "--disable-backgrounding-occluded-windows",
                "--remote-debugging-port=0",
                "about:blank",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start chromium");
        let url = devtools_url(&mut child);
        let (reader, writer) = connect(&url);
        Browser {
            child,
            _profile: profile,
            reader,
            writer,
            next_id: 1,
            events: VecDeque::new(),
            errors: HashMap::new(),
        }
    }

    /// Calls a DevTools method (on a page when `session` is given) and
    /// returns its result; panics on a protocol error.
    pub fn call(&mut self, session: Option<&str>, method: &str, params: Json) -> Json {
        let id = self.next_id;
        self.next_id += 1;
        let mut pairs = vec![
            ("id", Json::from(id)),
            ("method", method.into()),
            ("params", params),
        ];
        if let Some(s) = session {
            pairs.push(("sessionId", s.into()));
        }
        self.writer
            .send_text(&obj(&pairs).to_text())
            .expect("send to chromium");
        let deadline = Instant::now() + CDP_WAIT;
        loop {
            let message = self.next_message(deadline, method);
            if message.get("id").and_then(Json::as_f64) == Some(id as f64) {
                if let Some(error) = message.get("error") {
                    panic!("{method} failed: {}", error.to_text());
                }
                return message.get("result").cloned().unwrap_or(Json::Null);
            }
            self.note_event(message);
        }
    }

    fn next_message(&mut self, deadline: Instant, waiting_for: &str) -> Json {
        if Instant::now() > deadline {
            panic!("chromium did not answer {waiting_for} in time");
        }
        loop {
            match self.reader.read_message() {
                Ok(Some(Message::Text(text))) => {
                    return Json::parse(&text).expect("chromium sends JSON")
                }
                Ok(Some(Message::Ping(payload))) => {
                    let _ = self.writer.answer(&Message::Ping(payload));
                }
                Ok(Some(_)) => {}
                Ok(None) => panic!("chromium closed the DevTools socket"),
                Err(e) => panic!("reading from chromium while waiting for {waiting_for}: {e}"),
            }
        }
    }

    /// Files console errors and exceptions under their page; keeps the rest.
    fn note_event(&mut self, event: Json) {
        let method = event.get("method").and_then(Json::as_str).unwrap_or("");
        let session = event
            .get("sessionId")
            .and_then(Json::as_str)
            .unwrap_or("")
            .to_string();
        let params = event.get("params").cloned().unwrap_or(Json::Null);
        let error = match method {
            "Runtime.consoleAPICalled"
                if params.get("type").and_then(Json::as_str) == Some("error") =>
            {
                Some(format!("console.error: {}", params.to_text()))
            }
            "Runtime.exceptionThrown" => Some(format!("exception: {}", params.to_text())),
            "Log.entryAdded" => {
                let entry = params.get("entry").cloned().unwrap_or(Json::Null);
                (entry.get("level").and_then(Json::as_str) == Some("error"))
                    .then(|| format!("log: {}", entry.to_text()))
            }
            _ => None,
        };
        if let Some(error) = error {
            self.errors.entry(session).or_default().push(error);
        }
        if self.events.len() > 10_000 {
            self.events.pop_front();
        }
        self.events.push_back(event);
    }

    /// Reads what Chromium has sent so far without waiting long, so errors
    /// logged since the last call are counted.
    pub fn drain(&mut self, page: &Page) {
        // A cheap round trip: everything sent before its answer is read.
        self.eval(page, "0");
    }

    /// Opens a new tab at `url` with a `width` x `height` viewport (a phone
    /// when `mobile`), and waits for its page to finish loading.
    pub fn open(&mut self, url: &str, width: u32, height: u32, mobile: bool) -> Page {
        let target = self.call(
            None,
            "Target.createTarget",
            obj(&[("url", "about:blank".into())]),
        );
        let target_id = target.get("targetId").cloned().expect("targetId");
        let attached = self.call(
            None,
            "Target.attachToTarget",
            obj(&[("targetId", target_id), ("flatten", true.into())]),
        );
        let session = attached
            .get("sessionId")
            .and_then(Json::as_str)
            .expect("sessionId")
            .to_string();
        let page = Page { session };
        for domain in ["Runtime.enable", "Log.enable", "Page.enable"] {
            self.call(Some(&page.session), domain, obj(&[]));
        }
        self.set_viewport(&page, width, height, mobile);
        self.call(
            Some(&page.session),
            "Page.navigate",
            obj(&[("url", url.into())]),
        );
        self.wait_for(&page, "document.readyState === 'complete'");
        page
    }

    /// Sets the page's viewport size.
    pub fn set_viewport(&mut self, page: &Page, width: u32, height: u32, mobile: bool) {
        self.call(
            Some(&page.session),
            "Emulation.setDeviceMetricsOverride",
            obj(&[
                ("width", u64::from(width).into()),
                ("height", u64::from(height).into()),
                ("deviceScaleFactor", 1.0.into()),
                ("mobile", mobile.into()),
            ]),
        );
    }

    /// Evaluates `expression` in the page, awaiting a promise: its value,
    /// or the exception it threw.
    fn evaluate(&mut self, page: &Page, expression: &str) -> Result<Json, Json> {
        let result = self.call(
            Some(&page.session),
            "Runtime.evaluate",
            obj(&[
                ("expression", expression.into()),
                ("returnByValue", true.into()),
                ("awaitPromise", true.into()),
            ]),
        );
        if let Some(details) = result.get("exceptionDetails") {
            return Err(details.clone());
        }
        Ok(result
            .get("result")
            .and_then(|r| r.get("value"))
            .cloned()
            .unwrap_or(Json::Null))
    }

    /// The value of `expression` in the page (a promise is awaited); panics
    /// with the exception if it throws.
    pub fn eval(&mut self, page: &Page, expression: &str) -> Json {
        self.evaluate(page, expression)
            .unwrap_or_else(|details| panic!("{expression} threw: {}", details.to_text()))
    }

    /// The string value of `expression`.
    pub fn text(&mut self, page: &Page, expression: &str) -> String {
        match self.eval(page, expression) {
            Json::Str(s) => s,
            other => panic!("{expression} is {}, not a string", other.to_text()),
        }
    }

    /// Waits until `condition` is true in the page. The page polls it
    /// itself, so the test does not sleep; gives up after [`CDP_WAIT`].
    pub fn wait_for(&mut self, page: &Page, condition: &str) {
        let ms = CDP_WAIT.as_millis() - 1000;
        let script = format!(
            "new Promise((ok, fail) => {{ const t0 = Date.now(); const check = () => {{ \
               let v = false; try {{ v = ({condition}); }} catch (e) {{}} \
               if (v) ok(true); else if (Date.now() - t0 > {ms}) fail(new Error('timed out')); \
               else setTimeout(check, 20); }}; check(); }})"
        );
        if self.evaluate(page, &script).is_err() {
            let body = self.eval(page, "document.body ? document.body.innerText : ''");
            panic!(
                "timed out waiting for {condition}; the page shows:\n{}",
                body.as_str().unwrap_or("")
            );
        }
    }

    /// Clicks the middle of the first element matching `selector`, as a
    /// mouse would.
    pub fn click(&mut self, page: &Page, selector: &str) {
        let sel = Json::from(selector).to_text();
        let point = self.eval(
            page,
            &format!(
                "(() => {{ const e = document.querySelector({sel}); if (!e) throw new Error('no ' + {sel}); \
                 e.scrollIntoView({{block: 'center'}}); const r = e.getBoundingClientRect(); \
                 return [r.left + r.width / 2, r.top + r.height / 2]; }})()"
            ),
        );
        let xy = point.as_array().expect("a point");
        let (x, y) = (xy[0].clone(), xy[1].clone());
        for kind in ["mousePressed", "mouseReleased"] {
            self.call(
                Some(&page.session),
                "Input.dispatchMouseEvent",
                obj(&[
                    ("type", kind.into()),
                    ("x", x.clone()),
                    ("y", y.clone()),
                    ("button", "left".into()),
                    ("clickCount", 1u64.into()),
                ]),
            );
        }
    }

    /// Focuses the element matching `selector` and types `text` into it.
    pub fn type_into(&mut self, page: &Page, selector: &str, text: &str) {
        let sel = Json::from(selector).to_text();
        self.eval(page, &format!("document.querySelector({sel}).focus()"));
        self.call(
            Some(&page.session),
            "Input.insertText",
            obj(&[("text", text.into())]),
        );
    }

    /// Presses Enter (with Shift when `shift`) in the focused element.
    pub fn press_enter(&mut self, page: &Page, shift: bool) {
        for kind in ["keyDown", "keyUp"] {
            let mut params = vec![
                ("type", Json::from(kind)),
                ("key", "Enter".into()),
                ("code", "Enter".into()),
                ("windowsVirtualKeyCode", 13u64.into()),
                ("modifiers", if shift { 8u64 } else { 0 }.into()),
            ];
            if kind == "keyDown" {
                params.push(("text", "\r".into()));
            }
            self.call(Some(&page.session), "Input.dispatchKeyEvent", obj(&params));
        }
    }

    /// Puts the file at `path` in the file input matching `selector`, as
    /// choosing it in the file dialog would (its `change` event fires).
    pub fn choose_file(&mut self, page: &Page, selector: &str, path: &Path) {
        let document = self.call(Some(&page.session), "DOM.getDocument", obj(&[]));
        let root = document
            .get("root")
            .and_then(|r| r.get("nodeId"))
            .cloned()
            .expect("the document's node");
        let found = self.call(
            Some(&page.session),
            "DOM.querySelector",
            obj(&[("nodeId", root), ("selector", selector.into())]),
        );
        let node = found.get("nodeId").cloned().expect("the input's node");
        let file = path.to_str().expect("a UTF-8 path");
        self.call(
            Some(&page.session),
            "DOM.setFileInputFiles",
            obj(&[("files", Json::Arr(vec![file.into()])), ("nodeId", node)]),
        );
    }

    /// Saves a PNG screenshot of the page's viewport to `path`.
    pub fn screenshot(&mut self, page: &Page, path: &Path) {
        let shot = self.call(
            Some(&page.session),
            "Page.captureScreenshot",
            obj(&[("format", "png".into())]),
        );
        let data = shot.get("data").and_then(Json::as_str).expect("PNG data");
        let png = chat::base64::decode(data.as_bytes()).expect("chromium sends base64");
        assert!(png.starts_with(b"\x89PNG"), "not a PNG");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("screenshot directory");
        }
        std::fs::write(path, png).expect("write screenshot");
    }

    /// Console errors and uncaught exceptions the page has had so far.
    pub fn errors(&mut self, page: &Page) -> Vec<String> {
        self.drain(page);
        self.errors.get(&page.session).cloned().unwrap_or_default()
    }

    /// Forgets the page's errors so far (after provoking one on purpose).
    pub fn clear_errors(&mut self, page: &Page) {
        self.drain(page);
        self.errors.remove(&page.session);
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads `DevTools listening on ws://...` from Chromium's standard error.
fn devtools_url(child: &mut Child) -> String {
    let stderr = child.stderr.take().expect("piped stderr");
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut seen = String::new();
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if let Some(url) = line.strip_prefix("DevTools listening on ") {
                let _ = tx.send(Ok(url.trim().to_string()));
            } else {
                seen.push_str(&line);
                seen.push('\n');
            }
        }
        let _ = tx.send(Err(seen));
    });
    match rx.recv_timeout(CDP_WAIT) {
        Ok(Ok(url)) => url,
        Ok(Err(stderr)) => panic!("chromium exited without a DevTools address:\n{stderr}"),
        Err(_) => panic!("chromium did not print its DevTools address in time"),
    }
}

/// Opens the browser-wide DevTools WebSocket at a `ws://host:port/path` URL.
fn connect(url: &str) -> (Reader<BufReader<TcpStream>>, Writer<TcpStream>) {
    let rest = url.strip_prefix("ws://").expect("a ws:// URL");
    let (host, path) = rest.split_at(rest.find('/').expect("a path"));
    let stream = TcpStream::connect(host).expect("connect to chromium");
    // A timeout inside a frame would leave the stream mid-frame, so the
    // timeout is the whole wait: when it fires, the test fails.
    stream.set_read_timeout(Some(CDP_WAIT)).unwrap();
    let key = new_key().expect("random key");
    let mut request = stream.try_clone().unwrap();
    write!(
        request,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .expect("send the upgrade");
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) => panic!("chromium closed the connection during the handshake"),
            Ok(_) if line == "\r\n" => break,
            Ok(_) => head.push(line.trim_end().to_string()),
            Err(e) => panic!("handshake with chromium: {e}"),
        }
    }
    assert!(head[0].contains(" 101 "), "handshake refused: {head:?}");
    let want = format!("sec-websocket-accept: {}", accept_key(&key)).to_lowercase();
    assert!(
        head.iter().any(|h| h.to_lowercase() == want),
        "wrong Sec-WebSocket-Accept in {head:?}"
    );
    let writer = Writer::new(stream, Role::Client).expect("random source");
    (
        Reader::new(reader, Role::Client, MAX_CDP_MESSAGE_BYTES),
        writer,
    )
}
