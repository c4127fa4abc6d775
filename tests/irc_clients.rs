//! The real-client harness, proven against a real ngircd: weechat-headless
//! and irssi (under tmux) connect, join #lobby, talk with a raw-socket
//! client both ways, whisper, change nickname, part and quit. The same
//! harness drives our own server's IRC door once it exists.

mod support;

use support::irc_clients::{peer_available, Irssi, RawIrc, Weechat};
use support::ngircd::Ngircd;

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
