//! Tests of capability negotiation, following the ircv3.net specification
//! and the cases irctest checks.
#![cfg(test)]

use super::*;
use crate::irc::message::Limits;

/// The parameters of `CAP <line>`, as the parser reads them.
fn params(line: &str) -> Vec<String> {
    let m = Message::parse(format!("CAP {line}").as_bytes(), Limits::CLIENT).expect("parses");
    m.params
}

fn cap(neg: &mut CapNegotiation, line: &str) -> (Vec<String>, CapEffect) {
    let (lines, effect) = neg.handle("srv", "*", &params(line), false);
    let lines = lines
        .iter()
        .map(|m| String::from_utf8(m.to_line().expect("fits")).expect("utf-8"))
        .map(|l| l.trim_end().to_string())
        .collect();
    (lines, effect)
}

#[test]
fn names_round_trip_and_drafts_are_marked() {
    for c in Cap::ALL {
        assert_eq!(Cap::from_name(c.name()), Some(c));
        assert_eq!(c.is_ratified(), !c.name().starts_with("draft/"));
    }
    assert_eq!(Cap::from_name("SASL"), None, "names are case-sensitive");
    assert_eq!(
        Cap::from_name("chathistory"),
        None,
        "the draft has its prefix"
    );
    assert_eq!(CapSet::all().iter().count(), Cap::ALL.len());
    let set = CapSet::EMPTY
        .with(Cap::Batch)
        .with(Cap::Sasl)
        .without(Cap::Batch);
    assert_eq!(set.iter().collect::<Vec<_>>(), [Cap::Sasl]);
}

#[test]
fn ls_302_shows_values_enables_cap_notify_and_pauses() {
    let mut neg = CapNegotiation::new(CapSet::all());
    let (lines, effect) = cap(&mut neg, "LS 302");
    assert_eq!(effect, CapEffect::Pause);
    assert_eq!(lines.len(), 1);
    assert!(
        lines[0].starts_with(":srv CAP * LS :server-time message-tags"),
        "{}",
        lines[0]
    );
    assert!(lines[0].contains(" sasl=PLAIN "));
    assert!(lines[0].ends_with("draft/chathistory draft/read-marker"));
    assert!(neg.has(Cap::CapNotify));
    assert_eq!(neg.version(), 302);
}

#[test]
fn bare_ls_is_one_line_without_values() {
    let mut neg = CapNegotiation::new(CapSet::all());
    let (lines, _) = cap(&mut neg, "LS");
    assert_eq!(lines.len(), 1);
    assert!(!lines[0].contains('='), "{}", lines[0]);
    assert!(!lines[0].contains(" LS * "), "{}", lines[0]);
    assert!(!neg.has(Cap::CapNotify));
    // A version that is not a number, or is older, counts as 301.
    let mut neg = CapNegotiation::new(CapSet::all());
    cap(&mut neg, "LS banana");
    assert_eq!(neg.version(), 301);
    cap(&mut neg, "LS 999");
    assert_eq!(neg.version(), 302);
}

#[test]
fn ls_302_splits_a_long_list_with_an_asterisk() {
    // A long server name leaves little room, as a long list would.
    let server = "s".repeat(400);
    let mut neg = CapNegotiation::new(CapSet::all());
    let (lines, _) = neg.handle(&server, "*", &params("LS 302"), false);
    assert!(lines.len() > 1);
    let mut names = Vec::new();
    for (i, m) in lines.iter().enumerate() {
        assert!(m.to_line().expect("fits").len() <= 512);
        let more = i + 1 < lines.len();
        assert_eq!(m.params[2] == "*", more, "{m:?}");
        names.extend(
            m.params
                .last()
                .expect("list")
                .split(' ')
                .map(str::to_string),
        );
    }
    assert_eq!(names.len(), Cap::ALL.len());
}

#[test]
fn only_offered_capabilities_are_listed_and_granted() {
    let offered = CapSet::EMPTY.with(Cap::ServerTime).with(Cap::MultiPrefix);
    let mut neg = CapNegotiation::new(offered);
    let (lines, _) = cap(&mut neg, "LS 302");
    assert_eq!(lines, [":srv CAP * LS :server-time multi-prefix"]);
    let (lines, _) = cap(&mut neg, "REQ :batch");
    assert_eq!(lines, [":srv CAP * NAK batch"]);
}

#[test]
fn req_is_granted_or_refused_whole_echoing_the_exact_list() {
    let mut neg = CapNegotiation::new(CapSet::all());
    cap(&mut neg, "LS 302");
    let (lines, effect) = cap(&mut neg, "REQ :foo multi-prefix bar");
    assert_eq!(lines, [":srv CAP * NAK :foo multi-prefix bar"]);
    assert_eq!(effect, CapEffect::Pause);
    assert!(!neg.has(Cap::MultiPrefix));
    let (lines, _) = cap(&mut neg, "REQ :foo qux bar baz qux quux");
    assert_eq!(lines, [":srv CAP * NAK :foo qux bar baz qux quux"]);
    let (lines, _) = cap(&mut neg, "REQ :multi-prefix server-time");
    assert_eq!(lines, [":srv CAP * ACK :multi-prefix server-time"]);
    assert!(neg.has(Cap::MultiPrefix) && neg.has(Cap::ServerTime));
    let (lines, _) = cap(&mut neg, "REQ");
    assert_eq!(
        lines,
        [":srv CAP * NAK :"],
        "an empty request changes nothing"
    );
}

#[test]
fn req_can_disable_but_not_cap_notify_after_302() {
    let mut neg = CapNegotiation::new(CapSet::all());
    cap(&mut neg, "LS 302");
    cap(&mut neg, "REQ :echo-message server-time");
    let (lines, _) = cap(&mut neg, "REQ :-server-time");
    assert_eq!(lines, [":srv CAP * ACK -server-time"]);
    assert!(!neg.has(Cap::ServerTime) && neg.has(Cap::EchoMessage));
    let (lines, _) = cap(&mut neg, "REQ :-cap-notify");
    assert_eq!(lines, [":srv CAP * NAK -cap-notify"]);
    let (lines, _) = cap(&mut neg, "REQ :cap-notify");
    assert_eq!(
        lines,
        [":srv CAP * ACK cap-notify"],
        "accepted without effect"
    );
    // A 301 client may turn cap-notify on and off.
    let mut old = CapNegotiation::new(CapSet::all());
    cap(&mut old, "LS");
    cap(&mut old, "REQ cap-notify");
    assert!(old.has(Cap::CapNotify));
    cap(&mut old, "REQ -cap-notify");
    assert!(!old.has(Cap::CapNotify));
}

#[test]
fn list_shows_enabled_capabilities_and_an_empty_parameter_for_none() {
    let mut neg = CapNegotiation::new(CapSet::all());
    let (lines, effect) = cap(&mut neg, "LIST");
    assert_eq!(lines, [":srv CAP * LIST :"]);
    assert_eq!(effect, CapEffect::None, "LIST does not hold registration");
    cap(&mut neg, "REQ :multi-prefix");
    let (lines, _) = cap(&mut neg, "list");
    assert_eq!(lines, [":srv CAP * LIST multi-prefix"]);
}

#[test]
fn end_resumes_registration_and_is_silent() {
    let mut neg = CapNegotiation::new(CapSet::all());
    assert_eq!(cap(&mut neg, "END"), (vec![], CapEffect::End));
    let (lines, effect) = neg.handle("srv", "al", &params("END"), true);
    assert!(lines.is_empty());
    assert_eq!(effect, CapEffect::None);
    let (_, effect) = neg.handle("srv", "al", &params("REQ :batch"), true);
    assert_eq!(
        effect,
        CapEffect::None,
        "nothing to pause after registration"
    );
    assert!(neg.has(Cap::Batch));
}

#[test]
fn unknown_or_missing_subcommands_get_numerics() {
    let mut neg = CapNegotiation::new(CapSet::all());
    let (lines, effect) = cap(&mut neg, "NOTACOMMAND");
    assert_eq!(lines, [":srv 410 * NOTACOMMAND :Invalid CAP command"]);
    assert_eq!(effect, CapEffect::None);
    let (lines, _) = neg.handle("srv", "*", &[], false);
    let line = lines[0].to_line().expect("fits");
    assert_eq!(line, b":srv 461 * CAP :Not enough parameters\r\n");
}

#[test]
fn new_and_del_reach_only_clients_with_cap_notify() {
    let mut neg = CapNegotiation::new(CapSet::EMPTY.with(Cap::ServerTime));
    cap(&mut neg, "LS 302");
    cap(&mut neg, "REQ server-time");
    let new = neg
        .offer("srv", "al", CapSet::EMPTY.with(Cap::Sasl))
        .expect("notified");
    assert_eq!(new.to_line().expect("fits"), b":srv CAP al NEW sasl\r\n");
    let (lines, _) = cap(&mut neg, "REQ sasl");
    assert_eq!(lines, [":srv CAP * ACK sasl"]);
    let del = neg
        .withdraw("srv", "al", CapSet::EMPTY.with(Cap::Sasl))
        .expect("notified");
    assert_eq!(del.to_line().expect("fits"), b":srv CAP al DEL sasl\r\n");
    assert!(!neg.has(Cap::Sasl));
    // Without cap-notify the change happens silently.
    let mut old = CapNegotiation::new(CapSet::all());
    cap(&mut old, "LS");
    cap(&mut old, "REQ server-time");
    assert!(old
        .withdraw("srv", "al", CapSet::EMPTY.with(Cap::ServerTime))
        .is_none());
    assert!(!old.has(Cap::ServerTime));
}
