//! The hub's rules and deliveries, without a network: connections are
//! queues over a recording socket, and a test codec writes each delivery
//! as one readable line (and counts how often it encodes).
#![cfg(test)]

use std::fs::File;
use std::io::{self, IoSlice, Read};
use std::net::Shutdown;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

use super::*;
use crate::command::ListKind;
use crate::server::history::{FsyncPolicy, MessageLog};
use crate::server::outbox::{Budget, QueueLimits};
use crate::server::socket::Socket;

/// Takes every write, whole, and keeps it.
#[derive(Default)]
struct Recorder(Mutex<Vec<u8>>);

impl Socket for Recorder {
    fn send_now(&self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn send_all_vectored(&self, bufs: &mut [IoSlice<'_>]) -> io::Result<()> {
        for buf in bufs.iter() {
            self.0.lock().unwrap().extend_from_slice(buf);
        }
        Ok(())
    }
    fn send_file(&self, file: File, len: u64) -> io::Result<()> {
        file.take(len).read_to_end(&mut self.0.lock().unwrap())?;
        Ok(())
    }
    fn shutdown(&self, _: Shutdown) {}
}

/// Writes a delivery as one line: `Kind fields...`.
struct LineCodec {
    format: usize,
    encodes: Arc<AtomicUsize>,
}

impl Codec for LineCodec {
    fn format(&self) -> usize {
        self.format
    }
    fn encode(&self, delivery: &Delivery) -> Vec<u8> {
        self.encodes.fetch_add(1, Ordering::SeqCst);
        let line = match delivery {
            Delivery::Event(Event::Message {
                room,
                from,
                text,
                seq,
                ..
            }) => {
                format!("msg {room} {from} {seq} {text}")
            }
            Delivery::Event(Event::Whisper { from, to, text, .. }) => {
                format!("whisper {from}>{to} {text}")
            }
            Delivery::Event(Event::Join {
                room,
                nick,
                members,
            }) => {
                format!("join {room} {nick} {members}")
            }
            Delivery::Event(Event::Leave {
                room,
                nick,
                members,
                why,
            }) => match why {
                Parting::Left(reason) if reason.is_empty() => {
                    format!("leave {room} {nick} {members}")
                }
                why => format!("leave {room} {nick} {members} {why:?}"),
            },
            Delivery::Event(Event::Renamed { old, new }) => format!("nick {old}>{new}"),
            Delivery::Event(other) => format!("{other:?}"),
            Delivery::Entered {
                room,
                members,
                history,
                ..
            } => format!("entered {room} {members} history={}", history.len()),
            Delivery::Removed { room, why } => format!("removed {room} {why:?}"),
            Delivery::Invited { room, by } => format!("invited {room} by {by}"),
        };
        format!("{line}\n").into_bytes()
    }
}

/// A hub on a fresh data directory, and the connections made on it.
pub(super) struct World {
    pub(super) hub: Hub,
    dir: PathBuf,
    encodes: Arc<AtomicUsize>,
    next: ClientId,
    sockets: HashMap<ClientId, Arc<Recorder>>,
}

impl World {
    pub(super) fn new(name: &str, announce_limit: usize) -> World {
        let dir = std::env::temp_dir().join(format!("chat-hub-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let (log, loaded) = MessageLog::open(&dir.join("log.txt"), FsyncPolicy::Never, 5).unwrap();
        let (store, rooms) = RoomStore::open(&dir).unwrap();
        World {
            hub: Hub::new(log, loaded, store, rooms, 5, announce_limit),
            dir,
            encodes: Arc::new(AtomicUsize::new(0)),
            next: 0,
            sockets: HashMap::new(),
        }
    }

    /// Logs `nick` in (in the lobby unless `many_rooms`) with a codec of `format`.
    pub(super) fn join(&mut self, nick: &str, many_rooms: bool, format: usize) -> ClientId {
        self.next += 1;
        let id = self.next;
        let socket = Arc::new(Recorder::default());
        let member = Member {
            outbox: Outbox::new(
                QueueLimits::default(),
                &Budget::new(usize::MAX),
                Arc::clone(&socket) as Arc<dyn Socket>,
                format!("{nick}-out"),
            ),
            codec: Arc::new(LineCodec {
                format,
                encodes: Arc::clone(&self.encodes),
            }),
            many_rooms,
            echo: false,
        };
        self.hub.login(id, nick, member).unwrap();
        if !many_rooms {
            self.hub.enter_lobby(id, None, &mut Owed::new());
        }
        self.sockets.insert(id, socket);
        id
    }

    /// Everything `id` was sent so far, a line a delivery, and forgets it.
    /// The data directory.
    pub(super) fn dir(&self) -> &std::path::Path {
        &self.dir
    }

    pub(super) fn take(&self, id: ClientId) -> Vec<String> {
        let bytes = std::mem::take(&mut *self.sockets[&id].0.lock().unwrap());
        String::from_utf8(bytes)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// `id` joins `room`, which must let it in.
    pub(super) fn enter(&self, id: ClientId, room: &str) {
        self.hub
            .join_room(id, room, None, &mut World::owed())
            .unwrap();
    }

    /// `id` creates `room` (private or not), which must not exist yet.
    pub(super) fn create(&self, id: ClientId, room: &str, private: bool) {
        self.hub
            .create_room(id, room, private, &mut World::owed())
            .unwrap();
    }

    pub(super) fn owed() -> Owed {
        Owed::new()
    }
}

#[test]
fn private_rooms_admit_their_owner_and_the_permitted_only() {
    let mut w = World::new("private", 100);
    let (tom, bob) = (w.join("Tom", false, 0), w.join("Bob", false, 0));
    let created = w
        .hub
        .create_room(tom, "den", true, &mut World::owed())
        .unwrap();
    assert_eq!(created.joined.left.as_deref(), Some("lobby"));
    assert!(matches!(
        w.hub.join_room(bob, "den", None, &mut World::owed()),
        Err(Refused::Private { owner, .. }) if owner == "Tom"
    ));
    assert!(!w.hub.may_enter(bob, "den"));
    let changed = w
        .hub
        .change_list(
            tom,
            None,
            ListKind::Permits,
            "bob",
            true,
            &mut World::owed(),
        )
        .unwrap();
    assert!(changed.online && changed.removed.is_none());
    assert!(w.hub.may_enter(bob, "DEN"), "room names ignore case");
    w.enter(bob, "den");
    // The private room is hidden from those who may not enter it.
    let eve = w.join("Eve", false, 0);
    assert!(w.hub.room_list(Some(eve)).iter().all(|r| r.name != "den"));
    let seen_by_eve = w.hub.users(Some(eve));
    let bob_seen = seen_by_eve.iter().find(|p| p.nick == "Bob").unwrap();
    assert!(bob_seen.rooms.is_empty() && bob_seen.hidden_rooms == 1);
    assert_eq!(w.hub.users(Some(tom))[0].rooms, ["den"]);
}

#[test]
fn a_ban_or_an_unpermit_takes_the_member_out_to_the_lobby() {
    let mut w = World::new("ban", 100);
    let (tom, bob) = (w.join("Tom", false, 0), w.join("Bob", false, 0));
    w.create(tom, "den", true);
    w.hub
        .change_list(
            tom,
            Some("den"),
            ListKind::Permits,
            "Bob",
            true,
            &mut World::owed(),
        )
        .unwrap();
    w.enter(bob, "den");
    w.take(bob);
    let changed = w
        .hub
        .change_list(
            tom,
            Some("den"),
            ListKind::Permits,
            "Bob",
            false,
            &mut World::owed(),
        )
        .unwrap();
    assert_eq!(changed.removed.as_deref(), Some("Bob"));
    let told = w.take(bob);
    assert_eq!(told[0], "removed den Unpermitted");
    assert!(told[1].starts_with("entered lobby"), "{told:?}");
    assert_eq!(w.hub.rooms_of(bob), ["lobby"]);

    // Banned: cannot come back; the owner cannot ban himself.
    w.hub
        .change_list(
            tom,
            Some("den"),
            ListKind::Bans,
            "Bob",
            true,
            &mut World::owed(),
        )
        .unwrap();
    assert!(matches!(
        w.hub.join_room(bob, "den", None, &mut World::owed()),
        Err(Refused::Banned { .. })
    ));
    assert!(matches!(
        w.hub.change_list(
            tom,
            Some("den"),
            ListKind::Bans,
            "tom",
            true,
            &mut World::owed()
        ),
        Err(Refused::BanSelf)
    ));
    assert!(matches!(
        w.hub.change_list(
            tom,
            Some("den"),
            ListKind::Bans,
            "Bob",
            true,
            &mut World::owed()
        ),
        Err(Refused::ListUnchanged { add: true, .. })
    ));
}

#[test]
fn only_the_owner_moderates_or_closes_and_the_lobby_stays() {
    let mut w = World::new("owner", 100);
    let (tom, bob) = (w.join("Tom", false, 0), w.join("Bob", false, 0));
    w.create(tom, "den", false);
    w.enter(bob, "den");
    assert!(matches!(
        w.hub.close_room(bob, None, &mut World::owed()),
        Err(Refused::NotOwner { owner: Some(o), .. }) if o == "Tom"
    ));
    w.hub.leave_room(tom, None, "", &mut World::owed()).unwrap();
    assert!(matches!(
        w.hub.close_room(tom, None, &mut World::owed()),
        Err(Refused::NotOwner { owner: None, .. })
    ));
    assert!(matches!(
        w.hub.kill_room("lobby", &mut World::owed()),
        Err(Refused::LobbyIsPermanent)
    ));
    // Closing by name from the lobby: Bob is taken out and told.
    w.take(bob);
    let closed = w
        .hub
        .close_room(tom, Some("DEN"), &mut World::owed())
        .unwrap();
    assert_eq!(
        (closed.room.as_str(), closed.evicted.clone()),
        ("den", vec!["Bob".to_string()])
    );
    let told = w.take(bob);
    assert_eq!(told[0], "removed den Closed { by_operator: false }");
    assert!(matches!(
        w.hub.join_room(bob, "den", None, &mut World::owed()),
        Err(Refused::NoSuchRoom { .. })
    ));
    let stored = std::fs::read_to_string(w.dir.join("rooms.txt")).unwrap();
    assert!(!stored.contains("den"), "{stored}");
}

/// An invitation goes to the one invited alone, if online here.
#[test]
fn an_invitation_reaches_the_invited_only() {
    let mut w = World::new("invite", 0);
    let (tom, bob, eve) = (
        w.join("Tom", false, 0),
        w.join("Bob", false, 0),
        w.join("Eve", false, 0),
    );
    w.take(tom);
    w.take(eve);
    assert!(w.hub.invite("bob", "den", "Tom", &mut World::owed()));
    assert_eq!(w.take(bob).last().unwrap(), "invited den by Tom");
    assert!(w.take(eve).is_empty() && w.take(tom).is_empty());
    assert!(!w.hub.invite("nobody", "den", "Tom", &mut World::owed()));
}

#[test]
fn nicknames_are_unique_ignoring_case_and_owned_rooms_follow_a_rename() {
    let mut w = World::new("nick", 100);
    let (tom, bob) = (w.join("Tom", false, 0), w.join("Bob", false, 0));
    let member = |w: &World| Member {
        outbox: Outbox::new(
            QueueLimits::default(),
            &Budget::new(usize::MAX),
            Arc::new(Recorder::default()),
            "x".into(),
        ),
        codec: Arc::new(LineCodec {
            format: 0,
            encodes: Arc::clone(&w.encodes),
        }),
        many_rooms: false,
        echo: false,
    };
    assert!(matches!(
        w.hub.login(99, "TOM", member(&w)),
        Err(Refused::NickInUse { nick }) if nick == "Tom"
    ));
    assert!(matches!(
        w.hub.login(99, "a b", member(&w)),
        Err(Refused::BadNick(_))
    ));
    assert!(matches!(
        w.hub.rename(tom, "Tom", &mut World::owed()),
        Err(Refused::SameNick { .. })
    ));
    assert!(matches!(
        w.hub.rename(tom, "bob", &mut World::owed()),
        Err(Refused::NickInUse { .. })
    ));
    w.create(tom, "den", false);
    w.enter(bob, "den");
    w.take(bob);
    w.hub.rename(tom, "Tommy", &mut World::owed()).unwrap();
    assert_eq!(w.take(bob), ["nick Tom>Tommy"]);
    assert_eq!(w.take(tom).last().unwrap(), "nick Tom>Tommy");
    let rooms = w.hub.room_list(None);
    assert_eq!(rooms[1].owner.as_deref(), Some("Tommy"));
    assert!(std::fs::read_to_string(w.dir.join("rooms.txt"))
        .unwrap()
        .contains("Tommy"));
    // A case-only change keeps the nickname taken.
    w.hub.rename(tom, "TOMMY", &mut World::owed()).unwrap();
    assert!(w.hub.is_online("tommy"));
    assert!(!w.hub.is_online("tom"));
}

#[test]
fn a_connection_may_be_in_several_rooms_and_must_say_which() {
    let mut w = World::new("many", 100);
    let irc = w.join("irc", true, 1);
    let term = w.join("term", false, 0);
    assert!(w.hub.rooms_of(irc).is_empty(), "no room until it joins");
    w.create(term, "rust", false);
    w.enter(irc, "lobby");
    w.enter(irc, "rust");
    assert_eq!(w.hub.rooms_of(irc), ["lobby", "rust"]);
    assert!(matches!(
        w.hub.say(irc, None, "where?".into(), &mut World::owed()),
        Err(Refused::NoRoom { several: true })
    ));
    w.take(term);
    w.hub
        .say(irc, Some("rust"), "hello rust".into(), &mut World::owed())
        .unwrap();
    assert_eq!(w.take(term), ["msg rust irc 1 hello rust"]);
    // The terminal client is in one room at a time: joining moves it.
    w.enter(term, "lobby");
    assert_eq!(w.hub.rooms_of(term), ["lobby"]);
    assert!(matches!(
        w.hub.say(term, Some("rust"), "x".into(), &mut World::owed()),
        Err(Refused::NotIn { current: Some(c), .. }) if c == "lobby"
    ));
    // Leaving one room keeps the other; a one-room client goes to the lobby.
    let left = w
        .hub
        .leave_room(irc, Some("rust"), "", &mut World::owed())
        .unwrap();
    assert!(left.now_in.is_none());
    assert_eq!(w.hub.rooms_of(irc), ["lobby"]);
    assert!(matches!(
        w.hub.leave_room(term, None, "", &mut World::owed()),
        Err(Refused::InLobby)
    ));
    let out = w
        .hub
        .logout(irc, &Parting::Quit("bye".into()), &mut World::owed())
        .unwrap();
    assert_eq!(out.rooms, ["lobby"]);
    assert!(w
        .take(term)
        .contains(&r#"leave lobby irc 1 Quit("bye")"#.to_string()));
}

#[test]
fn messages_reach_every_member_in_log_order_whoever_sends_them() {
    let mut w = World::new("order", 100);
    let senders: Vec<ClientId> = (0..4).map(|i| w.join(&format!("s{i}"), false, 0)).collect();
    let reader = w.join("reader", false, 0);
    w.take(reader);
    let threads: Vec<_> = senders
        .iter()
        .map(|&id| {
            let hub = w.hub.clone();
            thread::spawn(move || {
                let mut owed = Owed::new();
                for i in 0..200 {
                    hub.say(id, None, format!("m{i}"), &mut owed).unwrap();
                    if i % 10 == 0 {
                        owed.pay();
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let seqs: Vec<u64> = w
        .take(reader)
        .iter()
        .map(|l| l.split(' ').nth(3).unwrap().parse().unwrap())
        .collect();
    assert_eq!(
        seqs,
        (1..=800).collect::<Vec<u64>>(),
        "every message, in log order"
    );
}

#[test]
fn a_burst_is_stored_and_delivered_in_one_piece_between_others_messages() {
    let mut w = World::new("burst", 100);
    let (single, bursty) = (w.join("single", false, 0), w.join("bursty", false, 0));
    let reader = w.join("reader", false, 0);
    w.take(reader);
    let hub = w.hub.clone();
    let one_by_one = thread::spawn(move || {
        let mut owed = Owed::new();
        for i in 0..300 {
            hub.say(single, None, format!("s{i}"), &mut owed).unwrap();
        }
    });
    let mut owed = Owed::new();
    for b in 0..30 {
        let texts = (0..10).map(|i| format!("b{b}.{i}")).collect();
        let said = w.hub.say_all(bursty, None, texts, &mut owed);
        let seqs: Vec<u64> = said.iter().map(|s| s.as_ref().unwrap().seq).collect();
        assert!(seqs.windows(2).all(|p| p[1] == p[0] + 1), "{seqs:?}");
    }
    one_by_one.join().unwrap();
    owed.pay();
    let got: Vec<(u64, String)> = w
        .take(reader)
        .iter()
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            (f[3].parse().unwrap(), f[4].to_string())
        })
        .collect();
    let seqs: Vec<u64> = got.iter().map(|(seq, _)| *seq).collect();
    assert_eq!(seqs, (1..=600).collect::<Vec<u64>>(), "all, in log order");
    // Each burst's ten are together and in order; nobody's came between.
    for b in 0..30 {
        let at = got
            .iter()
            .position(|(_, t)| *t == format!("b{b}.0"))
            .unwrap();
        let texts: Vec<&str> = got[at..at + 10].iter().map(|(_, t)| t.as_str()).collect();
        let want: Vec<String> = (0..10).map(|i| format!("b{b}.{i}")).collect();
        assert_eq!(texts, want);
    }
    // A burst with one bad text is refused whole, each message with the
    // same refusal; so is one to a room the sender is not in. Nothing of
    // either is stored or sent.
    let bad = vec!["fine".to_string(), "bell\u{7}".to_string()];
    let said = w.hub.say_all(bursty, None, bad, &mut owed);
    assert_eq!(said.len(), 2);
    assert!(said
        .iter()
        .all(|r| matches!(r, Err(Refused::ControlCharacters))));
    let elsewhere = vec!["a".to_string(), "b".to_string()];
    let said = w.hub.say_all(bursty, Some("nowhere"), elsewhere, &mut owed);
    assert_eq!(said.len(), 2);
    assert!(said.iter().all(Result::is_err));
    owed.pay();
    assert!(w.take(reader).is_empty());
    let said = w.hub.say(single, None, "after".into(), &mut owed).unwrap();
    assert_eq!(said.seq, 601, "no number was used up");
    // The room's recent history keeps a burst too, for the next to enter.
    let texts = vec!["r0".to_string(), "r1".to_string()];
    let said = w.hub.say_all(bursty, None, texts, &mut owed);
    assert!(said.iter().all(Result::is_ok));
    let st = w.hub.lock();
    let recent: Vec<&str> = st.rooms["lobby"]
        .recent
        .iter()
        .map(|r| r.text.as_str())
        .collect();
    assert_eq!(recent[recent.len() - 3..], ["after", "r0", "r1"]);
}

#[test]
fn a_fan_out_encodes_once_per_format_not_once_per_member() {
    let mut w = World::new("encode", 100);
    let ids: Vec<ClientId> = (0..6)
        .map(|i| w.join(&format!("m{i}"), false, i % 2))
        .collect();
    w.encodes.store(0, Ordering::SeqCst);
    w.hub
        .say(ids[0], None, "hi".into(), &mut World::owed())
        .unwrap();
    assert_eq!(
        w.encodes.load(Ordering::SeqCst),
        2,
        "two formats among five recipients"
    );
    for &id in &ids[1..] {
        assert_eq!(w.take(id).last().unwrap(), "msg lobby m0 1 hi");
    }
    // A burst: each message once per format, each member all of them.
    w.encodes.store(0, Ordering::SeqCst);
    let texts = ["a", "b", "c"].map(String::from).to_vec();
    let said = w.hub.say_all(ids[0], None, texts, &mut World::owed());
    assert!(said.iter().all(Result::is_ok));
    assert_eq!(
        w.encodes.load(Ordering::SeqCst),
        6,
        "three messages, two formats"
    );
    for &id in &ids[1..] {
        assert_eq!(
            w.take(id),
            ["msg lobby m0 2 a", "msg lobby m0 3 b", "msg lobby m0 4 c"]
        );
    }
}

/// What a fan-out hands each recipient of a burst: one buffer for the
/// lot, made once per format and shared, from each delivery encoded once
/// (those encoded alone for a recipient that gets only some are reused).
#[test]
fn a_run_is_encoded_once_per_format_and_shared_whole() {
    let encodes = Arc::new(AtomicUsize::new(0));
    let codec = |format| LineCodec {
        format,
        encodes: Arc::clone(&encodes),
    };
    let (a, b) = (codec(0), codec(1));
    let deliveries: Vec<Delivery> = (1..=3)
        .map(|i| Delivery::Invited {
            room: format!("r{i}"),
            by: "x".into(),
        })
        .collect();
    let mut run = super::delivery::Run::new(&deliveries);
    assert_eq!(&*run.one(1, &a), b"invited r2 by x\n");
    let all = run.all(&a);
    assert_eq!(
        &*all,
        b"invited r1 by x\ninvited r2 by x\ninvited r3 by x\n"
    );
    assert!(Arc::ptr_eq(&all, &run.all(&a)), "made once, shared");
    assert_eq!(encodes.load(Ordering::SeqCst), 3, "r2 reused");
    run.all(&b);
    assert_eq!(encodes.load(Ordering::SeqCst), 6);
    // A run of one is that delivery's own encoding, not a copy of it.
    let mut single = super::delivery::Run::new(&deliveries[..1]);
    let first = single.one(0, &a);
    assert!(Arc::ptr_eq(&first, &single.all(&a)));
    assert_eq!(encodes.load(Ordering::SeqCst), 7);
}

#[test]
fn rooms_over_the_announce_limit_do_not_announce_arrivals() {
    let mut w = World::new("announce", 3);
    let first = w.join("a", false, 0);
    for nick in ["b", "c"] {
        w.join(nick, false, 0);
    }
    assert_eq!(w.take(first).len(), 3, "entered, then b and c arrived");
    let d = w.join("d", false, 0);
    assert!(
        w.take(first).is_empty(),
        "the fourth arrival is not announced"
    );
    assert_eq!(
        w.take(d),
        ["entered lobby 4 history=0"],
        "but the newcomer is welcomed"
    );
}

#[test]
fn a_newcomer_gets_the_rooms_recent_history_first() {
    let mut w = World::new("history", 100);
    let tom = w.join("tom", false, 0);
    for i in 0..7 {
        w.hub
            .say(tom, None, format!("m{i}"), &mut World::owed())
            .unwrap();
    }
    let bob = w.join("bob", false, 0);
    assert_eq!(
        w.take(bob),
        ["entered lobby 2 history=5"],
        "the last 5 kept"
    );
}

#[test]
fn a_change_the_disk_refuses_is_not_made() {
    let mut w = World::new("nodisk", 100);
    let tom = w.join("tom", false, 0);
    w.create(tom, "kept", false);
    // rooms.txt is replaced through a temporary file in its directory.
    std::fs::remove_dir_all(&w.dir).unwrap();
    assert!(matches!(
        w.hub.create_room(tom, "lost", false, &mut World::owed()),
        Err(Refused::NotStored(_))
    ));
    assert!(w.hub.room_list(None).iter().all(|r| r.name != "lost"));
    assert!(matches!(
        w.hub.close_room(tom, None, &mut World::owed()),
        Err(Refused::NotStored(_))
    ));
    assert_eq!(w.hub.rooms_of(tom), ["kept"], "still open, still inside");
    assert!(matches!(
        w.hub.say(tom, None, "unstored".into(), &mut World::owed()),
        Err(Refused::NotStored(_))
    ));
}

#[test]
fn whispers_go_to_one_person_wherever_they_are() {
    let mut w = World::new("whisper", 100);
    let (tom, bob) = (w.join("tom", false, 0), w.join("bob", false, 0));
    w.create(tom, "den", false);
    w.take(bob);
    let sent = w
        .hub
        .whisper(tom, "BOB", "psst".into(), &mut World::owed())
        .unwrap();
    assert_eq!(sent.to, "bob");
    assert_eq!(w.take(bob), ["whisper tom>bob psst"]);
    assert!(matches!(
        w.hub.whisper(tom, "zed", "x".into(), &mut World::owed()),
        Err(Refused::NoSuchUser { .. })
    ));
    assert!(matches!(
        w.hub.whisper(tom, "bob", " \n".into(), &mut World::owed()),
        Err(Refused::EmptyMessage)
    ));
    assert!(matches!(
        w.hub
            .whisper(tom, "bob", "\u{1b}[2J".into(), &mut World::owed()),
        Err(Refused::ControlCharacters)
    ));
}

#[test]
fn an_owner_sends_someone_out_who_may_come_back() {
    let mut w = World::new("kick", 100);
    let (tom, bob) = (w.join("tom", false, 0), w.join("bob", false, 0));
    w.create(tom, "den", false);
    w.enter(bob, "den");
    assert!(matches!(
        w.hub
            .kick_from_room(bob, Some("den"), "tom", "", &mut World::owed()),
        Err(Refused::NotOwner { .. })
    ));
    w.take(bob);
    let kicked = w
        .hub
        .kick_from_room(tom, Some("den"), "BOB", "too loud", &mut World::owed())
        .unwrap();
    assert_eq!((kicked.room.as_str(), kicked.nick.as_str()), ("den", "bob"));
    let told = w.take(bob);
    assert!(told[0].starts_with("removed den Kicked"), "{told:?}");
    // The room hears who sent whom out, and why.
    let heard = w.take(tom);
    assert!(
        heard.contains(&r#"leave den bob 1 Kicked { by: "tom", reason: "too loud" }"#.to_string()),
        "{heard:?}"
    );
    assert!(matches!(
        w.hub
            .kick_from_room(tom, Some("den"), "bob", "", &mut World::owed()),
        Err(Refused::NotIn { .. })
    ));
    w.enter(bob, "den");
}

#[test]
fn a_room_view_lists_members_to_those_who_may_see_it() {
    let mut w = World::new("view", 100);
    let (tom, eve) = (w.join("tom", false, 0), w.join("eve", false, 0));
    w.create(tom, "den", true);
    let view = w.hub.room_view(Some(tom), "den").unwrap();
    assert_eq!(view.members, ["tom"]);
    assert_eq!(view.info.owner.as_deref(), Some("tom"));
    assert!(matches!(
        w.hub.room_view(Some(eve), "den"),
        Err(Refused::NoSuchRoom { .. })
    ));
    assert!(w.hub.room_view(None, "den").is_ok(), "the console sees all");
    w.hub.set_away(tom, Some("lunch".into()));
    assert_eq!(
        w.hub.presence(Some(eve), "TOM").unwrap().away.as_deref(),
        Some("lunch")
    );
    assert_eq!(w.hub.presence(Some(eve), "tom").unwrap().hidden_rooms, 1);
    w.hub.set_away(tom, None);
    assert_eq!(w.hub.presence(None, "tom").unwrap().away, None);
}

/// The cluster reader's batch: stream entries for two rooms, interleaved,
/// from senders here and on another node, stored in one write and
/// delivered to each member in order, less its own messages (its door does
/// not echo), each numbered here and kept as its room's recent history.
#[test]
fn stream_entries_are_stored_and_delivered_as_one_batch() {
    use crate::cluster::StreamId;
    use crate::server::cluster::StreamMessage;

    let mut w = World::new("stream-batch", 100);
    let irc = w.join("irc", true, 1);
    let ann = w.join("ann", false, 0);
    w.create(ann, "rust", false);
    w.enter(irc, "lobby");
    w.enter(irc, "rust");
    let bob = w.join("bob", false, 0);
    // cat gets every lobby message in bob's format, bob all but his own:
    // the lot for cat is made from what bob was given, not encoded again.
    let cat = w.join("cat", false, 0);
    for id in [irc, ann, bob, cat] {
        w.take(id);
    }
    let entry = |ms: u64, room: &str, from: &str, client: ClientId, node: &str| {
        let message = StreamMessage {
            room: room.into(),
            from: from.into(),
            text: format!("{from} {ms}"),
            date: "2026-11-29 12:00:00.000000".into(),
            node: node.into(),
            client,
        };
        (StreamId::new(ms, 0), message)
    };
    let entries = [
        entry(1, "lobby", "bob", bob, "a"),
        entry(2, "lobby", "zed", 99, "b"),
        entry(3, "rust", "ann", ann, "a"),
        entry(4, "rust", "ann", ann, "a"),
        entry(5, "lobby", "irc", irc, "a"),
    ];
    let mut owed = World::owed();
    w.encodes.store(0, Ordering::SeqCst);
    let seqs = w.hub.deliver_from_stream("a", &entries, &mut owed).unwrap();
    owed.pay();
    assert_eq!(seqs, [1, 2, 3, 4, 5]);
    // Format 0: 2 (for bob, reused for cat), 1 (for cat), 5; format 1
    // (irc): 1, 2, 3, 4. Each once.
    assert_eq!(w.encodes.load(Ordering::SeqCst), 7, "none encoded twice");
    assert_eq!(
        w.take(cat),
        [
            "msg lobby bob 1 bob 1",
            "msg lobby zed 2 zed 2",
            "msg lobby irc 5 irc 5",
        ]
    );
    assert_eq!(
        w.take(bob),
        ["msg lobby zed 2 zed 2", "msg lobby irc 5 irc 5"]
    );
    assert_eq!(
        w.take(ann),
        Vec::<String>::new(),
        "rust is its room; its own"
    );
    assert_eq!(
        w.take(irc),
        [
            "msg lobby bob 1 bob 1",
            "msg lobby zed 2 zed 2",
            "msg rust ann 3 ann 3",
            "msg rust ann 4 ann 4",
        ]
    );
    let st = w.hub.lock();
    let recent = |room: &str| -> Vec<u64> { st.rooms[room].recent.iter().map(|r| r.seq).collect() };
    assert_eq!(recent("lobby"), [1, 2, 5]);
    assert_eq!(recent("rust"), [3, 4]);
}
