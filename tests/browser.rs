//! The browser page in a real headless Chromium, driven over the DevTools
//! protocol by our own WebSocket client, against the real server binary:
//! the page comes from the server's own port (through a TCP relay where a
//! test needs to break the network), and a terminal-protocol client talks
//! with it in the same rooms.

mod support;

use chat::crypto::{sha256, to_hex};
use chat::event::Event;
use support::cdp::{browser_available, Browser, Json, Page};
use support::relay::Relay;
use support::{Raw, Server, TempDir};

const FLAGS: [&str; 3] = ["--no-replay", "--quiet", "--no-rate-limit"];

/// A server and a browser.
fn setup(test: &str) -> Option<(TempDir, Server, Browser)> {
    if !browser_available(test) {
        return None;
    }
    let dir = TempDir::new(test);
    let server = Server::start_with(dir.path(), &FLAGS);
    let browser = Browser::launch();
    Some((dir, server, browser))
}

fn page_url(server: &Server) -> String {
    format!("http://127.0.0.1:{}/", server.port)
}

fn log_in(browser: &mut Browser, page: &Page, nick: &str) {
    browser.type_into(page, "#login-nick", nick);
    browser.click(page, "#login-button");
    browser.wait_for(page, "!document.getElementById('chat-view').hidden");
    browser.wait_for(page, "document.getElementById('me').textContent.length > 0");
}

/// The login form renders, nothing is logged as an error, and the
/// Content-Security-Policy stops an inline script.
#[test]
fn page_renders_without_errors_and_the_csp_blocks_inline_script() {
    let Some((_dir, server, mut browser)) = setup("browser-csp") else {
        return;
    };
    let page = browser.open(&page_url(&server), 1280, 800, false);
    browser.wait_for(&page, "document.getElementById('login-form') !== null");
    assert_eq!(
        browser.eval(
            &page,
            "getComputedStyle(document.getElementById('login-form')).display !== 'none'"
        ),
        true.into()
    );
    assert_eq!(browser.text(&page, "document.title"), "chat");
    assert!(
        browser.errors(&page).is_empty(),
        "{:?}",
        browser.errors(&page)
    );
    let csp = browser.text(
        &page,
        "fetch('/').then(r => r.headers.get('content-security-policy'))",
    );
    assert!(csp.contains("script-src 'self'"), "{csp}");
    let nosniff = browser.text(
        &page,
        "fetch('/app.js').then(r => r.headers.get('x-content-type-options'))",
    );
    assert_eq!(nosniff, "nosniff");
    // An inline script added to the page must not run, and the browser
    // must report the violation.
    let blocked = browser.eval(
        &page,
        "new Promise(ok => { \
           document.addEventListener('securitypolicyviolation', e => ok(e.violatedDirective), { once: true }); \
           const s = document.createElement('script'); s.textContent = 'window.__ran = true'; \
           document.body.append(s); setTimeout(() => ok('no violation'), 2000); })",
    );
    assert_eq!(
        blocked.as_str().map(|d| d.starts_with("script-src")),
        Some(true),
        "{blocked:?}"
    );
    assert_eq!(browser.eval(&page, "window.__ran === true"), false.into());
}

/// How many messages in the page's shown conversation have exactly `text`.
fn count(browser: &mut Browser, page: &Page, text: &str) -> usize {
    let text = Json::from(text).to_text();
    let n = browser.eval(
        page,
        &format!("[...document.querySelectorAll('#messages .msg:not(.system) .text')].filter(e => e.textContent === {text}).length"),
    );
    n.as_f64().unwrap_or(-1.0) as usize
}

fn wait_text(browser: &mut Browser, page: &Page, text: &str) {
    let text = Json::from(text).to_text();
    browser.wait_for(
        page,
        &format!("[...document.querySelectorAll('#messages .msg .text')].some(e => e.textContent === {text})"),
    );
}

fn say(browser: &mut Browser, page: &Page, text: &str) {
    browser.type_into(page, "#message-input", text);
    browser.press_enter(page, false);
    let text = Json::from(text).to_text();
    browser.wait_for(
        page,
        &format!("[...document.querySelectorAll('#messages .msg.mine:not(.pending) .text')].some(e => e.textContent === {text})"),
    );
}

/// Shows the room `name` in the page (clicking it in the sidebar).
fn show_room(browser: &mut Browser, page: &Page, name: &str) {
    let name = Json::from(name).to_text();
    browser.eval(
        page,
        &format!("[...document.querySelectorAll('#joined-rooms .entry')].find(b => b.querySelector('.name').textContent === {name}).click()"),
    );
    browser.wait_for(
        page,
        &format!("document.getElementById('view-title').textContent === {name}"),
    );
}

/// Every text here is shown exactly once in the page's `room`.
fn each_once(browser: &mut Browser, page: &Page, room: &str, texts: &[&str], when: &str) {
    show_room(browser, page, room);
    for text in texts {
        wait_text(browser, page, text);
        assert_eq!(
            count(browser, page, text),
            1,
            "{text:?} once in {room} {when}"
        );
    }
}

/// Waits until the page says it is online again.
fn wait_online(browser: &mut Browser, page: &Page) {
    browser.wait_for(
        page,
        "document.getElementById('connection').textContent === 'online'",
    );
}

/// Saves a screenshot under tests/screenshots when CHAT_SCREENSHOTS=1
/// (they are committed and shown in the README), else under the temp dir.
fn screenshot(browser: &mut Browser, page: &Page, name: &str) {
    let dir = if std::env::var("CHAT_SCREENSHOTS").is_ok_and(|v| v == "1") {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/screenshots")
    } else {
        std::env::temp_dir().join("chat-screenshots")
    };
    browser.screenshot(page, &dir.join(name));
}

/// Two browser users and a terminal user in one room: log in, talk both
/// ways, whisper, a private room, a file uploaded from the browser and
/// downloaded by the terminal client byte for byte, markup shown as text,
/// a network drop the server does not notice and a server restart, each
/// followed by the pages reconnecting by themselves with every message
/// shown exactly once.
#[test]
fn two_browsers_and_a_terminal_client_through_a_drop_and_a_restart() {
    let Some((dir, server, mut browser)) = setup("browser-e2e") else {
        return;
    };
    let relay = Relay::start(server.port);
    let mut carol = Raw::login(server.port, "carol");
    let alice = browser.open(&relay.url(), 1280, 800, false);
    log_in(&mut browser, &alice, "alice");
    let bob = browser.open(&relay.url(), 390, 844, true);
    log_in(&mut browser, &bob, "bob");
    carol.expect_event(|e| matches!(e, Event::Join { nick, .. } if nick == "bob"));

    // Talk both ways; a line break with Shift+Enter.
    browser.type_into(&alice, "#message-input", "first line");
    browser.press_enter(&alice, true);
    browser.type_into(&alice, "#message-input", "second line");
    browser.press_enter(&alice, false);
    carol.expect_event(
        |e| matches!(e, Event::Message { text, .. } if text == "first line\nsecond line"),
    );
    wait_text(&mut browser, &bob, "first line\nsecond line");
    carol.say("hi from the terminal");
    wait_text(&mut browser, &alice, "hi from the terminal");
    wait_text(&mut browser, &bob, "hi from the terminal");
    say(&mut browser, &bob, "bob here, alice");
    wait_text(&mut browser, &alice, "bob here, alice");
    carol.expect_event(|e| matches!(e, Event::Message { text, .. } if text == "bob here, alice"));
    browser.wait_for(
        &bob,
        "document.getElementById('members').children.length === 3",
    );

    // A whisper from bob reaches alice apart from the room, and marks her
    // tab's title while she is not looking.
    browser.type_into(&bob, "#message-input", "/w alice psst, alice");
    browser.press_enter(&bob, false);
    browser.wait_for(
        &alice,
        "document.querySelector('#whisper-list .entry') !== null",
    );
    browser.wait_for(&alice, "document.title.startsWith('(!)')");
    browser.click(&alice, "#whisper-list .entry");
    wait_text(&mut browser, &alice, "psst, alice");
    assert_eq!(
        count(&mut browser, &alice, "hi from the terminal"),
        0,
        "whispers are apart"
    );
    show_room(&mut browser, &alice, "lobby");
    wait_text(&mut browser, &alice, "hi from the terminal");
    // Bob, on a phone, opens the rooms drawer to go back to the room.
    browser.click(&bob, "#toggle-sidebar");
    browser.click(&bob, "#joined-rooms .entry");
    wait_text(&mut browser, &bob, "hi from the terminal");

    // Markup from the terminal is shown as text, never run.
    let xss = "<img src=x onerror=\"window.__xss=1\"><script>window.__xss=2</script>";
    carol.say(xss);
    for page in [&alice, &bob] {
        wait_text(&mut browser, page, xss);
        assert_eq!(
            browser.eval(
                page,
                "document.querySelectorAll('#messages img, #messages script').length"
            ),
            0.0.into()
        );
        assert_eq!(
            browser.eval(page, "window.__xss === undefined"),
            true.into()
        );
    }

    // A file uploaded from alice's page (the file button), fetched by the
    // terminal client through DOWNLOAD, and by bob's page through its link.
    let file: Vec<u8> = (0..200_000u32).map(|i| (i * 31 % 251) as u8).collect();
    let path = dir.path().join("chart é.bin");
    std::fs::write(&path, &file).unwrap();
    browser.choose_file(&alice, "#upload-input", &path);
    browser.wait_for(
        &alice,
        "document.getElementById('uploads').textContent.includes('shared as file id')",
    );
    let Event::File { id, name, size, .. } =
        carol.expect_event(|e| matches!(e, Event::File { from, .. } if from == "alice"))
    else {
        unreachable!()
    };
    assert_eq!((name.as_str(), size), ("chart é.bin", 200_000));
    let reply = carol.request(chat::command::FileRequest::Download { id });
    assert_eq!(
        reply.body, file,
        "byte for byte through the terminal protocol"
    );
    let link = format!("#messages .msg.file a[data-file-id='{id}']");
    browser.wait_for(
        &bob,
        &format!("document.querySelector(\"{link}\")?.href?.includes('token=')"),
    );
    let digest = browser.text(
        &bob,
        &format!(
            "fetch(document.querySelector(\"{link}\").href).then(r => r.arrayBuffer())\
             .then(b => crypto.subtle.digest('SHA-256', b))\
             .then(d => [...new Uint8Array(d)].map(x => x.toString(16).padStart(2, '0')).join(''))"
        ),
    );
    assert_eq!(
        digest,
        to_hex(&sha256(&file)),
        "byte for byte through the page's link"
    );

    // A private room: alice creates it, bob may not enter until permitted.
    browser.type_into(&alice, "#create-name", "secret");
    browser.click(&alice, "#create-private");
    browser.click(&alice, "#create-form button[type=submit]");
    browser.wait_for(
        &alice,
        "document.getElementById('view-title').textContent === 'secret'",
    );
    browser.wait_for(&alice, "!document.getElementById('owner-box').hidden");
    browser.type_into(&bob, "#message-input", "/join secret");
    browser.press_enter(&bob, false);
    browser.wait_for(
        &bob,
        "document.getElementById('composer-error').textContent.includes('private')",
    );
    browser.type_into(&alice, "#owner-nick", "bob");
    browser.click(&alice, "#owner-form button[data-verb=PERMIT]");
    browser.wait_for(
        &alice,
        "document.getElementById('owner-output').textContent.length > 0",
    );
    browser.type_into(&bob, "#message-input", "/join secret");
    browser.press_enter(&bob, false);
    browser.wait_for(
        &bob,
        "document.getElementById('view-title').textContent === 'secret'",
    );
    say(&mut browser, &bob, "in the secret room");
    wait_text(&mut browser, &alice, "in the secret room");
    say(&mut browser, &alice, "welcome, bob");
    wait_text(&mut browser, &bob, "welcome, bob");

    let lobby = [
        "first line\nsecond line",
        "hi from the terminal",
        "bob here, alice",
        xss,
    ];
    let secret = ["in the secret room", "welcome, bob"];

    // A network drop the server does not notice: the pages' sockets close,
    // the server's stay open and silent. The pages come back at once with
    // their resume tokens, which close the stale sessions holding their
    // nicknames; what carol said meanwhile arrives once.
    relay.black_hole();
    carol.say("said while you were away");
    // More than a room replays on entering (--history, 20): the pages
    // fetch the rest with HISTORY.
    let missed: Vec<String> = (0..25).map(|i| format!("missed {i}")).collect();
    for text in &missed {
        carol.say(text);
    }
    for page in [&alice, &bob] {
        wait_online(&mut browser, page);
    }
    carol.expect_event(
        |e| matches!(e, Event::Join { nick, room, .. } if nick == "bob" && room == "lobby"),
    );
    for page in [&alice, &bob] {
        let mut texts = lobby.to_vec();
        texts.push("said while you were away");
        texts.extend(missed.iter().map(String::as_str));
        each_once(&mut browser, page, "lobby", &texts, "after the drop");
        each_once(&mut browser, page, "secret", &secret, "after the drop");
    }
    server.stdout.wait_for("alice resumes on a new connection");
    say(&mut browser, &alice, "back in the secret room");
    wait_text(&mut browser, &bob, "back in the secret room");

    // A server restart: the pages reconnect to the new server (same data,
    // through the same address) and still show every message once.
    drop(carol);
    let mut server = server;
    server.kill();
    let server2 = Server::start_with(dir.path(), &FLAGS);
    relay.set_target(server2.port);
    relay.cut();
    for page in [&alice, &bob] {
        wait_online(&mut browser, page);
    }
    let mut carol = Raw::login(server2.port, "carol");
    carol.say("after the restart");
    for page in [&alice, &bob] {
        let mut texts = lobby.to_vec();
        texts.extend(["said while you were away", "after the restart"]);
        texts.extend(missed.iter().map(String::as_str));
        each_once(&mut browser, page, "lobby", &texts, "after the restart");
        let mut texts = secret.to_vec();
        texts.push("back in the secret room");
        each_once(&mut browser, page, "secret", &texts, "after the restart");
    }

    // Alice is in both rooms at once: the lobby counts what she has not read.
    show_room(&mut browser, &alice, "secret");
    carol.say("meanwhile in the lobby");
    browser.wait_for(
        &alice,
        "[...document.querySelectorAll('#joined-rooms li')].some(li => li.textContent.startsWith('lobby') && li.querySelector('.badge'))",
    );
    assert_eq!(
        count(&mut browser, &alice, "meanwhile in the lobby"),
        0,
        "not in the room shown"
    );
    show_room(&mut browser, &bob, "lobby");
    wait_text(&mut browser, &bob, "meanwhile in the lobby");

    // A newcomer gets the lobby's latest messages, and older ones by
    // asking for them.
    let dave = browser.open(&relay.url(), 1280, 800, false);
    log_in(&mut browser, &dave, "dave");
    wait_text(&mut browser, &dave, "meanwhile in the lobby");
    assert_eq!(count(&mut browser, &dave, "hi from the terminal"), 0);
    browser.click(&dave, "#older-button");
    wait_text(&mut browser, &dave, "hi from the terminal");
    assert_eq!(count(&mut browser, &dave, "missed 3"), 1);

    screenshot(&mut browser, &alice, "desktop.png");
    screenshot(&mut browser, &bob, "phone.png");
    for page in [&alice, &bob, &dave] {
        let errors = browser.errors(page);
        assert!(errors.iter().all(|e| e.contains("/ws")), "{errors:?}");
    }
}
