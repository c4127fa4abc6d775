//! Tests of the registration machine with the sequences real clients send.
#![cfg(test)]

use super::*;
use crate::base64;
use crate::irc::cap::Cap;
use crate::irc::message::Limits;

fn feed(reg: &mut Registration, line: &str) -> Step {
    let msg = Message::parse(line.as_bytes(), Limits::CLIENT).expect("parses");
    reg.handle("srv", &msg)
}

/// The wire lines of a `Reply`, or a panic.
fn reply(step: Step) -> Vec<String> {
    match step {
        Step::Reply(lines) => lines
            .iter()
            .map(|m| String::from_utf8(m.to_line().expect("fits")).expect("utf-8"))
            .map(|l| l.trim_end().to_string())
            .collect(),
        other => panic!("expected a reply, got {other:?}"),
    }
}

fn ready(step: Step) -> (Vec<Message>, Login) {
    match step {
        Step::Ready(lines, login) => (lines, login),
        other => panic!("expected registration to complete, got {other:?}"),
    }
}

#[test]
fn without_cap_registration_completes_on_nick_and_user_in_any_order() {
    let mut reg = Registration::new(CapSet::all());
    assert!(reply(feed(&mut reg, "NICK al")).is_empty());
    let (lines, login) = ready(feed(&mut reg, "USER alice 0 * :Alice Liddell"));
    assert!(lines.is_empty());
    assert_eq!(login.nick, "al");
    assert_eq!(login.user, "alice");
    assert_eq!(login.realname, "Alice Liddell");
    assert_eq!(login.password, None);
    assert_eq!(login.account, None);

    let mut reg = Registration::new(CapSet::all());
    feed(&mut reg, "USER bo 0 * :Bo");
    assert_eq!(ready(feed(&mut reg, "NICK bo")).1.nick, "bo");
}

#[test]
fn irssi_sequence_waits_for_cap_end() {
    let mut reg = Registration::new(CapSet::all());
    let ls = reply(feed(&mut reg, "CAP LS 302"));
    assert!(ls[0].starts_with(":srv CAP * LS :"), "{ls:?}");
    feed(&mut reg, "PASS hunter22");
    assert!(reply(feed(&mut reg, "NICK al")).is_empty());
    assert!(
        reply(feed(&mut reg, "USER al al 127.0.0.1 :Al")).is_empty(),
        "paused"
    );
    let ack = reply(feed(&mut reg, "CAP REQ :multi-prefix server-time"));
    assert_eq!(ack, [":srv CAP * ACK :multi-prefix server-time"]);
    let (lines, login) = ready(feed(&mut reg, "CAP END"));
    assert!(lines.is_empty());
    assert_eq!(login.password.as_deref(), Some("hunter22"));
    assert!(!format!("{login:?}").contains("hunter22"));
    let (caps, sasl) = reg.finish();
    assert!(caps.has(Cap::MultiPrefix) && caps.has(Cap::ServerTime));
    assert_eq!(sasl.account(), None);
}

#[test]
fn weechat_sequence_with_sasl_plain() {
    let mut reg = Registration::new(CapSet::all());
    feed(&mut reg, "CAP LS 302");
    feed(&mut reg, "NICK al");
    feed(&mut reg, "USER al 0 * :Al");
    feed(&mut reg, "CAP REQ :sasl server-time");
    assert_eq!(
        reply(feed(&mut reg, "AUTHENTICATE PLAIN")),
        ["AUTHENTICATE +"]
    );
    let payload = base64::encode(b"al\0al\0secret");
    let credentials = match feed(&mut reg, &format!("AUTHENTICATE {payload}")) {
        Step::Verify(c) => c,
        other => panic!("{other:?}"),
    };
    assert_eq!(credentials.account, "al");
    assert_eq!(credentials.password, "secret");
    let lines = reg.sasl_succeeded("srv", "127.0.0.1", "al");
    let first = lines[0].to_line().expect("fits");
    assert_eq!(
        first,
        b":srv 900 * al!al@127.0.0.1 al :You are now logged in as al\r\n"
    );
    assert_eq!(lines[1].command, "903");
    let (lines, login) = ready(feed(&mut reg, "CAP END"));
    assert!(lines.is_empty());
    assert_eq!(login.account.as_deref(), Some("al"));
}

#[test]
fn failed_sasl_can_be_retried_before_cap_end() {
    let mut reg = Registration::new(CapSet::all());
    feed(&mut reg, "CAP LS 302");
    feed(&mut reg, "AUTHENTICATE PLAIN");
    let payload = base64::encode(b"\0al\0wrong");
    assert!(matches!(
        feed(&mut reg, &format!("AUTHENTICATE {payload}")),
        Step::Verify(_)
    ));
    let lines = reg.sasl_failed("srv", "invalid password");
    assert_eq!(lines[0].command, "904");
    assert_eq!(
        reply(feed(&mut reg, "AUTHENTICATE PLAIN")),
        ["AUTHENTICATE +"]
    );
}

#[test]
fn completing_registration_mid_sasl_aborts_it_with_906() {
    let mut reg = Registration::new(CapSet::all());
    feed(&mut reg, "CAP LS 302");
    feed(&mut reg, "NICK al");
    feed(&mut reg, "USER al 0 * :Al");
    feed(&mut reg, "AUTHENTICATE PLAIN");
    let (lines, login) = ready(feed(&mut reg, "CAP END"));
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].command, "906");
    assert_eq!(login.account, None);
}

#[test]
fn refused_nickname_waits_for_another() {
    let mut reg = Registration::new(CapSet::all());
    feed(&mut reg, "NICK al");
    ready(feed(&mut reg, "USER al 0 * :Al"));
    reg.retry_nick();
    assert_eq!(reg.nick(), None);
    assert_eq!(feed(&mut reg, "PING x"), Step::Door);
    assert_eq!(ready(feed(&mut reg, "NICK al2")).1.nick, "al2");
}

#[test]
fn bad_input_gets_the_matching_numerics() {
    let mut reg = Registration::new(CapSet::all());
    assert_eq!(
        reply(feed(&mut reg, "NICK")),
        [":srv 431 * :No nickname given"]
    );
    assert_eq!(
        reply(feed(&mut reg, "NICK :")),
        [":srv 431 * :No nickname given"]
    );
    assert_eq!(
        reply(feed(&mut reg, "NICK abcdefghi")),
        [":srv 432 * abcdefghi :nickname is 9 characters long; at most 8 are allowed"]
    );
    let bad_chars = reply(feed(&mut reg, "NICK a[b]"));
    assert!(
        bad_chars[0].starts_with(":srv 432 * a[b] :"),
        "{bad_chars:?}"
    );
    assert_eq!(
        reply(feed(&mut reg, "USER al 0 *")),
        [":srv 461 * USER :Not enough parameters"]
    );
    assert_eq!(
        reply(feed(&mut reg, "PASS")),
        [":srv 461 * PASS :Not enough parameters"]
    );
    assert_eq!(
        reply(feed(&mut reg, "JOIN #lobby")),
        [":srv 451 * :You have not registered"]
    );
    assert_eq!(
        reply(feed(&mut reg, "PRIVMSG al :hi")),
        [":srv 451 * :You have not registered"]
    );
    assert_eq!(feed(&mut reg, "PING x"), Step::Door);
    assert_eq!(feed(&mut reg, "QUIT :bye"), Step::Door);
    assert_eq!(reg.nick(), None, "no bad nickname was kept");
}

#[test]
fn usernames_are_cleaned_for_the_host_mask() {
    let mut reg = Registration::new(CapSet::all());
    feed(&mut reg, "NICK al");
    let login = ready(feed(&mut reg, "USER a!l@i:c*e.very-long-name 0 * :x")).1;
    assert_eq!(login.user, "alice.very");
    let mut reg = Registration::new(CapSet::all());
    feed(&mut reg, "NICK al");
    assert_eq!(ready(feed(&mut reg, "USER !!! 0 * :x")).1.user, "user");
    assert_eq!(
        already_registered("srv", "al").to_line().expect("fits"),
        b":srv 462 al :You may not reregister\r\n"
    );
}
