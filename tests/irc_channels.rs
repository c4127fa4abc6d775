//! Rooms as IRC channels, over real TCP against the real server: JOIN
//! (which creates a room its joiner owns), PART, NAMES, LIST, TOPIC, WHO,
//! WHOIS, ISON, USERHOST, AWAY, MODE (bans `+b`, permits `+I`, private
//! `+i`), INVITE, KICK, and a room closed under its members, with IRC and
//! our own clients in the same rooms.

mod support;

use chat::command::{AccountRequest, ChatRequest, Control, RoomRequest};
use chat::event::{Event, Parting};
use chat::irc::Message;
use chat::protocol::Status;
use support::irc_clients::RawIrc;
use support::{Raw, Server, TempDir};

/// An IRC client registered as `nick`, past the names of `#lobby`.
fn in_lobby(port: u16, nick: &str) -> RawIrc {
    let mut irc = RawIrc::register(port, nick);
    irc.expect("the names of #lobby (366)", |m| {
        m.command == "366" && m.param(1) == Some("#lobby")
    });
    irc
}

fn is(m: &Message, command: &str) -> bool {
    m.command == command
}

/// Joins `channel` and returns everything up to its 366.
fn join(irc: &mut RawIrc, channel: &str) -> Vec<Message> {
    irc.send(&format!("JOIN {channel}"));
    irc.collect_until("366", |m| is(m, "366"))
}

/// The names of a 353 line, sorted.
fn names(lines: &[Message]) -> Vec<String> {
    let mut names: Vec<String> = lines
        .iter()
        .filter(|m| is(m, "353"))
        .flat_map(|m| m.params[3].split(' ').map(str::to_string))
        .collect();
    names.sort();
    names
}

/// JOIN of a room that does not exist creates it, owned by the joiner (an
/// operator, `@`); others join it from either protocol and LIST shows it.
#[test]
fn join_creates_a_room_its_joiner_owns() {
    let dir = TempDir::new("irc-join");
    let server = Server::start(dir.path());
    let mut al = in_lobby(server.port, "al");
    let lines = join(&mut al, "#study");
    let echo = lines.iter().find(|m| is(m, "JOIN")).expect("JOIN echo");
    assert_eq!(echo.source.as_deref(), Some("al!al@chat.local"));
    assert_eq!(echo.param(0), Some("#study"));
    assert!(
        !lines.iter().any(|m| is(m, "331")),
        "no topic, no line: {lines:?}"
    );
    assert_eq!(names(&lines), ["@al"]);

    let mut bo = Raw::login(server.port, "bo");
    let reply = bo.request(RoomRequest::Join {
        room: "study".into(),
    });
    assert_eq!(reply.status_code(), Some(Status::OK), "{reply:?}");
    let m = al.expect("bo's JOIN", |m| is(m, "JOIN"));
    assert_eq!(m.source_nick(), Some("bo"));
    let rooms = bo.request(RoomRequest::Rooms);
    assert!(
        rooms.text_lossy().contains("study  owner: al  public"),
        "{}",
        rooms.text_lossy()
    );

    let mut cy = in_lobby(server.port, "cy");
    let lines = join(&mut cy, "#STUDY");
    assert_eq!(names(&lines), ["@al", "bo", "cy"]);
    cy.send("LIST");
    let list = cy.collect_until("323", |m| is(m, "323"));
    let study = list
        .iter()
        .find(|m| is(m, "322") && m.param(1) == Some("#study"))
        .expect("#study listed");
    assert_eq!(study.param(2), Some("3"));
    assert!(study.param(3).unwrap().contains("owner al"), "{study:?}");
    assert!(list
        .iter()
        .any(|m| is(m, "322") && m.param(1) == Some("#lobby")));
    // A JOIN of a channel one is in is ignored; bad names are refused.
    cy.send("JOIN #study,#é,study");
    let m = cy.expect("479", |m| is(m, "479"));
    assert_eq!(m.param(1), Some("#é"));
    let m = cy.expect("403", |m| is(m, "403"));
    assert_eq!(m.param(1), Some("study"));
}

/// PART (with the leaver's own echo and reason), NAMES, TOPIC (rooms have
/// none), and the refusals for rooms one is not in or that do not exist.
#[test]
fn part_names_and_topic() {
    let dir = TempDir::new("irc-part");
    let server = Server::start(dir.path());
    let mut al = in_lobby(server.port, "al");
    let mut cy = in_lobby(server.port, "cy");
    join(&mut al, "#study");
    join(&mut cy, "#study");
    cy.send("NAMES #study");
    let lines = cy.collect_until("366", |m| is(m, "366"));
    assert_eq!(names(&lines), ["@al", "cy"]);
    cy.send("TOPIC #study");
    let m = cy.expect("331", |m| is(m, "331"));
    assert_eq!(m.param(1), Some("#study"));
    cy.send("TOPIC #study :new topic");
    let m = cy.expect("482", |m| is(m, "482"));
    assert!(
        m.param(2).unwrap().contains("only the owner of study (al)"),
        "{m:?}"
    );

    cy.send("PART #study :off to lunch");
    let m = cy.expect("own PART", |m| is(m, "PART"));
    assert_eq!(m.params, ["#study", "off to lunch"]);
    let m = al.expect("cy's PART", |m| is(m, "PART"));
    assert_eq!(m.source_nick(), Some("cy"));
    assert_eq!(m.params, ["#study", "off to lunch"]);
    cy.send("PART #study");
    let m = cy.expect("442", |m| is(m, "442"));
    assert_eq!(m.param(1), Some("#study"));
    cy.send("PART #nowhere");
    let m = cy.expect("403", |m| is(m, "403"));
    assert_eq!(m.param(1), Some("#nowhere"));
    // JOIN 0 parts every channel, the lobby included.
    al.send("JOIN 0");
    let mut parted = vec![
        al.expect("PART", |m| is(m, "PART")).params[0].clone(),
        al.expect("PART", |m| is(m, "PART")).params[0].clone(),
    ];
    parted.sort();
    assert_eq!(parted, ["#lobby", "#study"]);
}

/// WHO lists every member with the mask every line uses (irssi syncs a
/// channel with it); WHOIS shows a registered user's profile; ISON and
/// USERHOST see users of every protocol.
#[test]
fn who_whois_ison_and_userhost() {
    let dir = TempDir::new("irc-who");
    let server = Server::start_with(dir.path(), &["--no-replay", "--pbkdf2-iterations", "1000"]);
    let mut bo = Raw::login(server.port, "bo");
    let reply = bo.request(AccountRequest::Register {
        password: "secret-pw".into(),
    });
    assert_eq!(reply.status_code(), Some(Status::OK));
    let reply = bo.request(AccountRequest::SetProfile {
        attr: "job".into(),
        value: "librarian".into(),
    });
    assert_eq!(reply.status_code(), Some(Status::OK), "{reply:?}");
    let mut al = in_lobby(server.port, "al");

    al.send("WHO #lobby");
    let lines = al.collect_until("315", |m| is(m, "315"));
    let who: Vec<&Message> = lines.iter().filter(|m| is(m, "352")).collect();
    assert_eq!(who.len(), 2, "{lines:?}");
    let own = who
        .iter()
        .find(|m| m.param(5) == Some("al"))
        .expect("own 352");
    assert_eq!(
        (own.param(1), own.param(2), own.param(3)),
        (Some("#lobby"), Some("al"), Some("chat.local"))
    );
    assert_eq!(own.param(6), Some("H"));
    assert!(who.iter().any(|m| m.param(5) == Some("bo")));

    al.send("WHOIS bo");
    let lines = al.collect_until("318", |m| is(m, "318"));
    let codes: Vec<&str> = lines.iter().map(|m| m.command.as_str()).collect();
    for code in ["311", "319", "312", "330"] {
        assert!(codes.contains(&code), "{code}: {codes:?}");
    }
    let special: Vec<&str> = lines
        .iter()
        .filter(|m| is(m, "320"))
        .map(|m| m.params[2].as_str())
        .collect();
    assert!(special.contains(&"job: librarian"), "{special:?}");
    al.send("WHOIS nobody");
    al.expect("401", |m| is(m, "401"));
    al.send("WHOWAS bo");
    let m = al.expect("406", |m| is(m, "406"));
    assert_eq!(m.param(1), Some("bo"));
    al.expect("369", |m| is(m, "369"));

    al.send("ISON al nobody BO");
    let m = al.expect("303", |m| is(m, "303"));
    assert_eq!(m.param(1), Some("al bo"));
    al.send("USERHOST bo");
    let m = al.expect("302", |m| is(m, "302"));
    assert_eq!(m.param(1), Some("bo=+bo@chat.local"));
}

/// AWAY: 306, then whisperers get 301 and WHO shows G; AWAY alone is 305.
#[test]
fn away_is_told_to_whisperers() {
    let dir = TempDir::new("irc-away");
    let server = Server::start(dir.path());
    let mut al = in_lobby(server.port, "al");
    let mut cy = in_lobby(server.port, "cy");
    al.send("AWAY :at lunch");
    al.expect("306", |m| is(m, "306"));
    cy.send("PRIVMSG al :are you there?");
    let m = cy.expect("301", |m| is(m, "301"));
    assert_eq!(m.params[1..], ["al", "at lunch"]);
    al.expect_privmsg("are you there?");
    cy.send("WHO al");
    let m = cy.expect("352", |m| is(m, "352"));
    assert_eq!(m.param(6), Some("G"));
    al.send("AWAY");
    al.expect("305", |m| is(m, "305"));
}

/// An owner's MODE: +b nick bans (the banned member is kicked and cannot
/// come back, with our reason), b lists, -b lifts it; +i cannot be set
/// after creation; others get 482; other modes are unknown here.
#[test]
fn owners_ban_with_mode() {
    let dir = TempDir::new("irc-ban");
    let server = Server::start(dir.path());
    let mut al = in_lobby(server.port, "al");
    let mut bo = in_lobby(server.port, "bo");
    join(&mut al, "#study");
    join(&mut bo, "#study");
    al.send("MODE #study");
    let m = al.expect("324", |m| is(m, "324"));
    assert_eq!(m.params[1..], ["#study", "+"]);
    al.expect("329", |m| is(m, "329"));

    al.send("MODE #study +b bo");
    let m = al.expect("MODE echo", |m| is(m, "MODE"));
    assert_eq!(m.params, ["#study", "+b", "bo!*@*"]);
    let m = bo.expect("KICK", |m| is(m, "KICK"));
    assert_eq!(m.params[..2], ["#study", "bo"]);
    assert!(m.params[2].contains("banned"), "{m:?}");
    bo.send("JOIN #study");
    let m = bo.expect("474", |m| is(m, "474"));
    assert!(
        m.param(2).unwrap().contains("you are banned from study"),
        "{m:?}"
    );

    al.send("MODE #study b");
    let lines = al.collect_until("368", |m| is(m, "368"));
    let bans: Vec<&str> = lines
        .iter()
        .filter(|m| is(m, "367"))
        .map(|m| m.params[2].as_str())
        .collect();
    assert_eq!(bans, ["bo!*@*"]);
    // Others see the end of an empty list; they cannot change it.
    bo.send("MODE #study +b");
    let lines = bo.collect_until("368", |m| is(m, "368"));
    assert!(!lines.iter().any(|m| is(m, "367")));
    bo.send("MODE #study +b al");
    bo.expect("482", |m| is(m, "482"));

    al.send("MODE #study -b bo!*@*");
    let m = al.expect("MODE echo", |m| is(m, "MODE"));
    assert_eq!(m.params, ["#study", "-b", "bo!*@*"]);
    let lines = join(&mut bo, "#study");
    assert!(lines.iter().any(|m| is(m, "JOIN")));
    al.send("MODE #study +i");
    let m = al.expect("400", |m| is(m, "400"));
    assert!(
        m.param(2).unwrap().contains("chosen when it is created"),
        "{m:?}"
    );
    al.send("MODE #study +m");
    let m = al.expect("472", |m| is(m, "472"));
    assert_eq!(m.param(1), Some("m"));
    al.send("MODE #study +b *!*@somewhere");
    let m = al.expect("400", |m| is(m, "400"));
    assert!(m.param(2).unwrap().contains("by nickname"), "{m:?}");
}

/// A private room is +i: a JOIN without a permit is 473 with our reason;
/// the owner's INVITE (or MODE +I) permits; -I takes the permit back and
/// the member out.
#[test]
fn private_rooms_are_invite_only() {
    let dir = TempDir::new("irc-private");
    let server = Server::start(dir.path());
    // A private room made by our client; its owner comes back over IRC.
    let mut eve = Raw::login(server.port, "eve");
    let reply = eve.request(RoomRequest::Create {
        room: "den".into(),
        private: true,
    });
    assert_eq!(reply.status_code(), Some(Status::OK), "{reply:?}");
    assert_eq!(eve.request(Control::Quit).status_code(), Some(Status::OK));
    let mut owner = in_lobby(server.port, "eve");
    let lines = join(&mut owner, "#den");
    assert_eq!(names(&lines), ["@eve"]);
    assert!(lines
        .iter()
        .any(|m| is(m, "353") && m.param(1) == Some("*")));

    let mut al = in_lobby(server.port, "al");
    al.send("LIST");
    let list = al.collect_until("323", |m| is(m, "323"));
    assert!(
        !list.iter().any(|m| m.param(1) == Some("#den")),
        "hidden: {list:?}"
    );
    al.send("JOIN #den");
    let m = al.expect("473", |m| is(m, "473"));
    assert!(m.param(2).unwrap().contains("ask its owner eve"), "{m:?}");

    // Only a member invites; to a non-member a private room stays hidden.
    al.send("INVITE bo #den");
    let m = al.expect("403", |m| is(m, "403"));
    assert_eq!(m.param(1), Some("#den"));
    al.send("INVITE bo #lobby");
    al.send("PART #lobby");
    al.send("INVITE bo #lobby");
    let m = al.expect("442", |m| is(m, "442"));
    assert_eq!(m.param(1), Some("#lobby"));
    owner.send("INVITE eve #den");
    let m = owner.expect("443", |m| is(m, "443"));
    assert_eq!(m.params[1..3], ["eve", "#den"], "already there: {m:?}");
    owner.send("INVITE al #den");
    let m = owner.expect("341", |m| is(m, "341"));
    assert_eq!(m.params[1..], ["al", "#den"]);
    let m = owner.expect("the note", |m| is(m, "NOTICE"));
    assert!(m.params[1].contains("they were told"), "{m:?}");
    // The invited one hears of it, as IRC clients expect an invitation.
    let m = al.expect("the invitation", |m| is(m, "INVITE"));
    assert_eq!(m.params, ["al", "#den"]);
    assert!(
        m.source.as_deref().unwrap_or("").starts_with("eve!"),
        "{m:?}"
    );
    let lines = join(&mut al, "#den");
    assert_eq!(names(&lines), ["@eve", "al"]);
    owner.send("MODE #den");
    let m = owner.expect("324", |m| is(m, "324"));
    assert_eq!(m.param(2), Some("+i"));
    owner.send("MODE #den I");
    let lines = owner.collect_until("347", |m| is(m, "347"));
    let permits: Vec<&str> = lines
        .iter()
        .filter(|m| is(m, "346"))
        .map(|m| m.params[2].as_str())
        .collect();
    assert_eq!(permits, ["al!*@*"]);
    owner.send("MODE #den -I al");
    let m = al.expect("KICK", |m| is(m, "KICK"));
    assert!(m.params[2].contains("no longer enter"), "{m:?}");
    owner.send("MODE #den +I bo");
    let m = owner.expect("MODE echo", |m| is(m, "MODE") && m.param(1) == Some("+I"));
    assert_eq!(m.param(2), Some("bo!*@*"));
}

/// KICK by the owner sends a member out with the reason (the room sees
/// the kick, with who and why); others may not kick; a room closed under its members
/// parts them all, IRC and chat alike.
#[test]
fn kick_and_a_room_closed_under_its_members() {
    let dir = TempDir::new("irc-kick");
    let mut server = Server::start(dir.path());
    let mut al = in_lobby(server.port, "al");
    let mut bo = in_lobby(server.port, "bo");
    join(&mut al, "#study");
    join(&mut bo, "#study");
    let mut cy = Raw::login(server.port, "cy");
    // An invitation reaches a user of our protocol too, as a notice.
    al.send("INVITE cy #study");
    cy.expect_event(
        |e| matches!(e, Event::Notice { text } if text.contains("al invites you into study")),
    );
    let reply = cy.request(RoomRequest::Join {
        room: "study".into(),
    });
    assert_eq!(reply.status_code(), Some(Status::OK));

    bo.send("KICK #study al");
    bo.expect("482", |m| is(m, "482"));
    al.send("KICK #study bo :enough for today");
    let m = bo.expect("KICK", |m| is(m, "KICK"));
    assert_eq!(m.source.as_deref(), Some("al!al@chat.local"));
    assert_eq!(m.params, ["#study", "bo", "enough for today"]);
    // The room sees a KICK too (IRC) or who sent bo out and why (chat).
    let m = al.expect("KICK echo", |m| is(m, "KICK"));
    assert_eq!(m.params, ["#study", "bo", "enough for today"]);
    cy.expect_event(|e| {
        matches!(e, Event::Leave { nick, why: Parting::Kicked { by, reason }, .. }
            if nick == "bo" && by == "al" && reason == "enough for today")
    });
    al.send("KICK #study bo");
    let m = al.expect("441", |m| is(m, "441"));
    assert_eq!(m.params[1..3], ["bo", "#study"]);
    // They may come back: a kick is not a ban.
    join(&mut bo, "#study");

    server.console("/kill study");
    for irc in [&mut al, &mut bo] {
        let nick = irc.nick.clone();
        let m = irc.expect("own PART of #study", |m| {
            is(m, "PART") && m.source_nick() == Some(nick.as_str())
        });
        assert_eq!(m.param(0), Some("#study"));
        assert!(
            m.param(1)
                .unwrap()
                .contains("closed by the server operator"),
            "{m:?}"
        );
    }
    // Our client went back to the lobby and can talk to both.
    let say = cy.request(ChatRequest::Say {
        room: None,
        text: "back in the lobby".into(),
    });
    assert_eq!(say.status_code(), Some(Status::OK));
    al.expect_privmsg("back in the lobby");
}
