//! The real-client harness, proven against a real ngircd: weechat-headless
//! and irssi (under tmux) connect, join #lobby, talk with a raw-socket
//! client both ways, whisper, change nickname, part and quit. The same
//! harness drives our own server's IRC door, where the other side is a
//! terminal-client user (the real client binary), and SASL logs them in.

mod support;

use chat::command::{AccountRequest, Control};
use chat::protocol::Status;
use support::irc_clients::{peer_available, Irssi, RawIrc, Weechat};
use support::ngircd::Ngircd;
use support::{Client, Raw, Server, TempDir};

/// `bo`, a raw client in #lobby, waits for `nick` to join it.
fn raw_in_lobby(port: u16) -> RawIrc {
    let mut bo = RawIrc::register(port, "bo");
    bo.send("JOIN #lobby");
    bo.expect("end of NAMES (366)", |m| m.command == "366");
    bo
}

fn expect_from(bo: &mut RawIrc, command: &str, nick: &str) -> chat::irc::Message {
    bo.expect(&format!("{command} from {nick}"), |m| {
        m.command == command && m.source_nick() == Some(nick)
    })
}

#[test]
fn raw_clients_talk_through_ngircd() {
    if !peer_available("ngircd", "raw_clients_talk_through_ngircd") {
        return;
    }
    let server = Ngircd::start();
    let mut bo = raw_in_lobby(server.port);
    let mut cy = RawIrc::register(server.port, "cy");
    cy.send("JOIN #lobby");
    expect_from(&mut bo, "JOIN", "cy");
    cy.send("PRIVMSG #lobby :hello, with spaces: and colons");
    let m = bo.expect_privmsg("hello, with spaces: and colons");
    assert_eq!(m.param(0), Some("#lobby"));
    assert_eq!(m.source_nick(), Some("cy"));
}

#[test]
fn weechat_talks_with_a_raw_client_through_ngircd() {
    let test = "weechat_talks_with_a_raw_client_through_ngircd";
    if !peer_available("ngircd", test) || !peer_available("weechat-headless", test) {
        return;
    }
    let server = Ngircd::start();
    let mut bo = raw_in_lobby(server.port);
    let mut al = Weechat::connect(server.port, "al", &[]);

    al.command("/join #lobby");
    expect_from(&mut bo, "JOIN", "al");
    al.wait_log("#lobby", "al");

    al.say("#lobby", "hello from weechat");
    bo.expect_privmsg("hello from weechat");
    bo.send("PRIVMSG #lobby :hello from bo");
    al.wait_log("#lobby", "hello from bo");

    bo.send("PRIVMSG al :a whisper for al");
    al.wait_log("bo", "a whisper for al");
    al.say("bo", "a whisper back");
    let m = bo.expect_privmsg("a whisper back");
    assert_eq!(m.param(0), Some("bo"));

    al.command("/nick al2");
    let m = expect_from(&mut bo, "NICK", "al");
    assert_eq!(m.param(0), Some("al2"));

    al.command("/part #lobby off to lunch");
    let m = expect_from(&mut bo, "PART", "al2");
    assert_eq!(m.params, ["#lobby", "off to lunch"]);

    al.command("/join #lobby");
    expect_from(&mut bo, "JOIN", "al2");
    al.quit("bye all");
    let m = expect_from(&mut bo, "QUIT", "al2");
    assert!(
        m.param(0).is_some_and(|reason| reason.contains("bye all")),
        "{m:?}"
    );
}

#[test]
fn irssi_talks_with_a_raw_client_through_ngircd() {
    let test = "irssi_talks_with_a_raw_client_through_ngircd";
    if !peer_available("ngircd", test)
        || !peer_available("irssi", test)
        || !peer_available("tmux", test)
    {
        return;
    }
    let server = Ngircd::start();
    let mut bo = raw_in_lobby(server.port);
    let ir = Irssi::connect(server.port, "ir", "");

    ir.type_line("/join #lobby");
    expect_from(&mut bo, "JOIN", "ir");
    ir.wait_log("#lobby", "has joined #lobby");

    ir.type_line("/msg #lobby hello from irssi");
    bo.expect_privmsg("hello from irssi");
    bo.send("PRIVMSG #lobby :hello from bo");
    ir.wait_log("#lobby", "hello from bo");

    bo.send("PRIVMSG ir :a whisper for ir");
    ir.wait_log("bo", "a whisper for ir");
    ir.type_line("/msg bo a whisper back");
    let m = bo.expect_privmsg("a whisper back");
    assert_eq!(m.param(0), Some("bo"));

    ir.type_line("/nick ir2");
    let m = expect_from(&mut bo, "NICK", "ir");
    assert_eq!(m.param(0), Some("ir2"));

    ir.type_line("/part #lobby off to lunch");
    let m = expect_from(&mut bo, "PART", "ir2");
    assert_eq!(m.params, ["#lobby", "off to lunch"]);

    ir.type_line("/join #lobby");
    expect_from(&mut bo, "JOIN", "ir2");
    ir.type_line("/quit bye all");
    let m = expect_from(&mut bo, "QUIT", "ir2");
    assert!(
        m.param(0).is_some_and(|reason| reason.contains("bye all")),
        "{m:?}"
    );
}

/// Our server with a terminal client (the real binary) `bo` in the lobby.
fn our_server_with_bo(name: &str) -> (TempDir, Server, Client) {
    let dir = TempDir::new(name);
    let server = Server::start_with(dir.path(), &["--no-replay", "--pbkdf2-iterations", "1000"]);
    let bo = Client::login(server.port, "bo");
    (dir, server, bo)
}

/// Registers `nick` with `password` on our server, over our protocol.
fn register(port: u16, nick: &str, password: &str) {
    let mut raw = Raw::login(port, nick);
    let reply = raw.request(AccountRequest::Register {
        password: password.into(),
    });
    assert_eq!(reply.status_code(), Some(Status::OK), "{reply:?}");
    assert_eq!(raw.request(Control::Quit).status_code(), Some(Status::OK));
}

#[test]
fn weechat_talks_with_a_terminal_client_through_our_server() {
    let test = "weechat_talks_with_a_terminal_client_through_our_server";
    if !peer_available("weechat-headless", test) {
        return;
    }
    let (_dir, server, mut bo) = our_server_with_bo("weechat-ours");
    let mut al = Weechat::connect(server.port, "al", &[]);
    // In #lobby at once, as everyone is.
    bo.stdout.wait_for("Welcome al to the room!");
    al.wait_log("#lobby", "has joined #lobby");

    al.say("#lobby", "hello from weechat");
    bo.stdout.wait_for("[al]: hello from weechat");
    bo.type_line("hello from the terminal");
    al.wait_log("#lobby", "hello from the terminal");
    al.send("irc.test.#lobby", "/me waves");
    bo.stdout.wait_for("[al]: * al waves");

    bo.type_line("/whisper al a whisper for al");
    al.wait_log("bo", "a whisper for al");
    al.say("bo", "a whisper back");
    bo.stdout.wait_for("(whisper) [al]: a whisper back");

    al.command("/nick al2");
    bo.stdout.wait_for("al is now known as al2");
    al.command("/part #lobby off to lunch");
    bo.stdout.wait_for("al2 leaves the room!");
    al.command("/join #lobby");
    bo.stdout.wait_for("Welcome al2 to the room!");
    al.quit("bye all");
    bo.stdout.wait_for_n("al2 leaves the room!", 2);
}

#[test]
fn irssi_talks_with_a_terminal_client_through_our_server() {
    let test = "irssi_talks_with_a_terminal_client_through_our_server";
    if !peer_available("irssi", test) || !peer_available("tmux", test) {
        return;
    }
    let (_dir, server, mut bo) = our_server_with_bo("irssi-ours");
    let ir = Irssi::connect(server.port, "ir", "");
    bo.stdout.wait_for("Welcome ir to the room!");
    ir.wait_log("#lobby", "has joined #lobby");

    ir.type_line("/msg #lobby hello from irssi");
    bo.stdout.wait_for("[ir]: hello from irssi");
    bo.type_line("hello from the terminal");
    ir.wait_log("#lobby", "hello from the terminal");
    ir.type_line("/action #lobby waves");
    bo.stdout.wait_for("[ir]: * ir waves");

    bo.type_line("/whisper ir a whisper for ir");
    ir.wait_log("bo", "a whisper for ir");
    ir.type_line("/msg bo a whisper back");
    bo.stdout.wait_for("(whisper) [ir]: a whisper back");

    ir.type_line("/nick ir2");
    bo.stdout.wait_for("ir is now known as ir2");
    ir.type_line("/part #lobby off to lunch");
    bo.stdout.wait_for("ir2 leaves the room!");
    ir.type_line("/join #lobby");
    bo.stdout.wait_for("Welcome ir2 to the room!");
    ir.type_line("/quit bye all");
    bo.stdout.wait_for_n("ir2 leaves the room!", 2);
}

#[test]
fn weechat_and_irssi_log_in_with_sasl() {
    let test = "weechat_and_irssi_log_in_with_sasl";
    if !peer_available("weechat-headless", test)
        || !peer_available("irssi", test)
        || !peer_available("tmux", test)
    {
        return;
    }
    let (_dir, server, _bo) = our_server_with_bo("sasl-ours");
    register(server.port, "wee", "wee-secret");
    register(server.port, "irs", "irs-secret");
    let server_name = format!("irc.server.{}", support::irc_clients::NETWORK);
    let wee = Weechat::connect(
        server.port,
        "wee",
        &[
            &format!("/set {server_name}.sasl_mechanism plain"),
            &format!("/set {server_name}.sasl_username wee"),
            &format!("/set {server_name}.sasl_password wee-secret"),
        ],
    );
    wee.wait_server_log("SASL authentication successful");
    server.stdout.wait_for("Client (wee) connected");
    let irs = Irssi::connect_sasl(server.port, "irs", "irs", "irs-secret");
    irs.wait_screen("You are now logged in as irs");
    server.stdout.wait_for("Client (irs) connected");
}
