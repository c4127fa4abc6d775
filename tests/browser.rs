//! The browser page in a real headless Chromium, driven over the DevTools
//! protocol by our own WebSocket client. The page is served by a test front
//! (`support::web_front`) built from the library's `web` parts and talking
//! to the real server binary, until the server has its own browser door.

mod support;

use support::cdp::{browser_available, Browser, Page};
use support::web_front::WebFront;
use support::{Server, TempDir};

/// A server, a web front for it, and a browser.
fn setup(test: &str) -> Option<(TempDir, Server, WebFront, Browser)> {
    if !browser_available(test) {
        return None;
    }
    let dir = TempDir::new(test);
    let server = Server::start_with(dir.path(), &["--no-replay", "--quiet", "--no-rate-limit"]);
    let front = WebFront::start(server.port);
    let browser = Browser::launch();
    Some((dir, server, front, browser))
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
    let Some((_dir, _server, front, mut browser)) = setup("browser-csp") else {
        return;
    };
    let page = browser.open(&front.url(), 1280, 800, false);
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

/// Logs in from the page and chats both ways with a terminal-protocol
/// client; a message full of markup is shown as text.
#[test]
fn a_browser_user_chats_with_a_terminal_user() {
    let Some((_dir, server, front, mut browser)) = setup("browser-chat") else {
        return;
    };
    let mut carol = support::Raw::login(server.port, "carol");
    let page = browser.open(&front.url(), 1280, 800, false);
    log_in(&mut browser, &page, "alice");
    carol.expect_event(|e| matches!(e, chat::event::Event::Join { nick, .. } if nick == "alice"));
    browser.type_into(&page, "#message-input", "hello from the browser");
    browser.press_enter(&page, false);
    carol.expect_event(|e| {
        matches!(e, chat::event::Event::Message { text, from, .. } if text == "hello from the browser" && from == "alice")
    });
    browser.wait_for(
        &page,
        "document.querySelector('.msg.mine:not(.pending)') !== null",
    );
    let xss = "<img src=x onerror=\"window.__xss=1\"><script>window.__xss=2</script>";
    carol.say(xss);
    browser.wait_for(
        &page,
        "[...document.querySelectorAll('.msg .text')].some(e => e.textContent.includes('<img'))",
    );
    assert_eq!(
        browser.eval(
            &page,
            "document.querySelectorAll('#messages img, #messages script').length"
        ),
        0.0.into()
    );
    assert_eq!(
        browser.eval(&page, "window.__xss === undefined"),
        true.into()
    );
    // This server has no HTTP file endpoints yet: the page says so.
    browser.wait_for(&page, "document.getElementById('upload-input').disabled");
    assert!(
        browser.errors(&page).is_empty(),
        "{:?}",
        browser.errors(&page)
    );
}

/// How many messages in the page's shown conversation have exactly `text`.
fn count(browser: &mut Browser, page: &Page, text: &str) -> usize {
    let text = support::cdp::Json::from(text).to_text();
    let n = browser.eval(
        page,
        &format!("[...document.querySelectorAll('#messages .msg:not(.system) .text')].filter(e => e.textContent === {text}).length"),
    );
    n.as_f64().unwrap_or(-1.0) as usize
}

fn wait_text(browser: &mut Browser, page: &Page, text: &str) {
    let text = support::cdp::Json::from(text).to_text();
    browser.wait_for(
        page,
        &format!("[...document.querySelectorAll('#messages .msg .text')].some(e => e.textContent === {text})"),
    );
}

fn say(browser: &mut Browser, page: &Page, text: &str) {
    browser.type_into(page, "#message-input", text);
    browser.press_enter(page, false);
    let text = support::cdp::Json::from(text).to_text();
    browser.wait_for(
        page,
        &format!("[...document.querySelectorAll('#messages .msg.mine:not(.pending) .text')].some(e => e.textContent === {text})"),
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

/// Two browser users and a terminal user in one room: talk both ways,
/// whisper, a private room, a file shared from the terminal, a network
/// drop and a server restart with no message lost or shown twice.
#[test]
fn two_browsers_and_a_terminal_client_through_drops_and_a_restart() {
    use chat::event::Event;
    let Some((dir, mut server, front, mut browser)) = setup("browser-e2e") else {
        return;
    };
    let mut carol = support::Raw::login(server.port, "carol");
    let alice = browser.open(&front.url(), 1280, 800, false);
    log_in(&mut browser, &alice, "alice");
    let bob = browser.open(&front.url(), 390, 844, true);
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
    // A mention of alice marks her tab's title when she is not looking:
    // her page is in the background, so it counts as unseen.
    browser.wait_for(
        &bob,
        "document.getElementById('members').children.length === 3",
    );

    // A whisper from bob reaches alice apart from the room.
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
    browser.click(&alice, "#joined-rooms .entry");
    wait_text(&mut browser, &alice, "hi from the terminal");
    // Bob, on a phone, opens the rooms drawer to go back to the room.
    browser.click(&bob, "#toggle-sidebar");
    browser.click(&bob, "#joined-rooms .entry");
    wait_text(&mut browser, &bob, "hi from the terminal");

    // A file shared from the terminal shows up as a message with its name.
    let head = chat::command::Upload {
        name: "notes.txt".into(),
        size: 5,
        digest: None,
    }
    .encode_head();
    carol.send_bytes(&head);
    carol.send_bytes(b"notes");
    browser.wait_for(&alice, "[...document.querySelectorAll('#messages .msg.file')].some(e => e.textContent.includes('notes.txt'))");

    // A network drop: both pages reconnect by themselves; what carol says
    // meanwhile arrives once, and nothing said before shows twice.
    front.drop_connections();
    carol.expect_event(|e| matches!(e, Event::Leave { nick, .. } if nick == "alice"));
    carol.say("said while you were away");
    for page in [&alice, &bob] {
        browser.wait_for(
            page,
            "document.getElementById('connection').textContent === 'online'",
        );
        wait_text(&mut browser, page, "said while you were away");
        for text in [
            "first line\nsecond line",
            "hi from the terminal",
            "bob here, alice",
            "said while you were away",
        ] {
            assert_eq!(
                count(&mut browser, page, text),
                1,
                "{text:?} once after the drop"
            );
        }
    }

    // A server restart: the pages reconnect to the new server (same data,
    // new port) and still show every message once.
    drop(carol);
    server.kill();
    let server2 = Server::start_with(dir.path(), &["--no-replay", "--quiet", "--no-rate-limit"]);
    front.set_chat_port(server2.port);
    front.drop_connections();
    let mut carol = support::Raw::login(server2.port, "carol");
    for page in [&alice, &bob] {
        browser.wait_for(
            page,
            "document.getElementById('connection').textContent === 'online'",
        );
    }
    carol.say("after the restart");
    for page in [&alice, &bob] {
        wait_text(&mut browser, page, "after the restart");
        for text in [
            "first line\nsecond line",
            "hi from the terminal",
            "said while you were away",
            "after the restart",
        ] {
            assert_eq!(
                count(&mut browser, page, text),
                1,
                "{text:?} once after the restart"
            );
        }
    }

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

    // Alice is in both rooms at once: the lobby counts what she has not read.
    browser.wait_for(
        &alice,
        "document.querySelectorAll('#joined-rooms li').length === 2",
    );
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

    screenshot(&mut browser, &alice, "desktop.png");
    screenshot(&mut browser, &bob, "phone.png");
    for page in [&alice, &bob] {
        let errors = browser.errors(page);
        assert!(errors.iter().all(|e| e.contains("/ws")), "{errors:?}");
    }
}
