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
    browser.screenshot(&page, std::path::Path::new("/tmp/chat-desktop.png"));
    assert!(
        browser.errors(&page).is_empty(),
        "{:?}",
        browser.errors(&page)
    );
}
