//! What a session does on the hub for any door: each action calls the hub,
//! says on the server console what happened (in the seeds' words, with
//! this thread's tag where it handled a message), and keeps the stores
//! that follow the hub in step. Doors word the outcomes for their clients.

use crate::command::ListKind;
use crate::event::Parting;
use crate::server::hub::outcome::{
    Closed, Created, Joined, Kicked, Left, ListChanged, ListShown, Renamed, Said, Whispered,
};
use crate::server::hub::{LoggedOut, Member, Presence, Refused, RoomInfo};

use super::history::{HistoryRefused, Unread};
use super::Session;
use crate::text::{name_key, LOBBY};

/// Why a login that passed the password check still failed.
#[derive(Debug)]
pub enum LoginError {
    Refused(Refused),
    /// The nickname was registered by someone between the check and now.
    Registered,
}

impl Session<'_> {
    /// Puts the connection online as `nick` (its password was checked if
    /// `registered`), in no room yet: the door replies, then calls
    /// `enter_lobby`, so the reply comes before the lobby's welcome.
    ///
    /// # Errors
    /// The hub's refusal, or `Registered` when the nickname was registered
    /// meanwhile (and needs its password after all).
    pub fn log_in(
        &mut self,
        nick: &str,
        registered: bool,
        member: Member,
    ) -> Result<(), LoginError> {
        self.hub
            .login(self.id, nick, member)
            .map_err(LoginError::Refused)?;
        if !registered && self.accounts.is_registered(nick) {
            self.hub
                .logout(self.id, &Parting::Quit(String::new()), &mut self.owed);
            return Err(LoginError::Registered);
        }
        self.nick = Some(nick.to_string());
        self.registered = registered;
        self.outbox.set_max_bytes(self.config.queue.max_bytes);
        self.console.say(format!("Client ({nick}) connected"));
        Ok(())
    }

    /// Puts a logged-in connection in the lobby (with what it missed there
    /// since it was last in it), hands over the whispers that waited for
    /// it, and returns the other rooms with news for it, for the door to say.
    pub fn enter_lobby(&mut self) -> Vec<Unread> {
        let missed = self.missed(LOBBY);
        if let Some(joined) = self.hub.enter_lobby(self.id, missed, &mut self.owed) {
            self.said_joined(&joined);
            // Shown what it missed: read up to here.
            self.mark_seen(&[joined.room]);
        }
        let kept = self.take_waiting();
        if !kept.is_empty() {
            self.hub.hand_over_kept(self.id, &kept, &mut self.owed);
            self.console.say(format!(
                "{} {} kept whisper(s) delivered to {}",
                self.tag,
                kept.len(),
                self.nick.as_deref().unwrap_or("?")
            ));
        }
        let mut unread = self.unread();
        unread.retain(|u| name_key(&u.room) != name_key(LOBBY));
        unread
    }

    /// Takes the connection offline, if it is online; its rooms are told
    /// `why`.
    pub fn leave_hub(&mut self, why: &Parting) -> Option<LoggedOut> {
        let out = self.hub.logout(self.id, why, &mut self.owed)?;
        self.mark_seen(&out.rooms);
        for _ in &out.rooms {
            self.console.say(format!("{} leaves the room!", out.nick));
        }
        Some(out)
    }

    /// # Errors
    /// The hub's refusal.
    pub fn say(&mut self, room: Option<&str>, text: String) -> Result<Said, Refused> {
        let said = self.hub.say(self.id, room, text, &mut self.owed);
        self.if_not_stored(&said, "cannot write log.txt", "message refused");
        said
    }

    /// Several messages to one room as one step (see `Hub::say_all`): one
    /// answer per message, in order.
    pub fn say_all(
        &mut self,
        room: Option<&str>,
        texts: Vec<String>,
    ) -> Vec<Result<Said, Refused>> {
        let said = self.hub.say_all(self.id, room, texts, &mut self.owed);
        if let Some(refused) = said.iter().find(|r| r.is_err()) {
            self.if_not_stored(refused, "cannot write log.txt", "messages refused");
        }
        said
    }

    /// # Errors
    /// The hub's refusal.
    pub fn whisper(&mut self, to: &str, text: String) -> Result<Whispered, HistoryRefused> {
        let sent = match self.hub.whisper(self.id, to, text.clone(), &mut self.owed) {
            // Away, but registered: kept for their next login.
            Err(Refused::NoSuchUser { .. }) if self.accounts.is_registered(to) => {
                let to = self
                    .accounts
                    .lookup(to)
                    .map_or_else(|| to.to_string(), |a| a.nick);
                self.whisper_away(&to, text).map(|record| Whispered {
                    seq: record.seq,
                    to: record.to,
                    kept: true,
                })
            }
            other => other.map_err(HistoryRefused::Hub),
        };
        if let Err(HistoryRefused::Hub(Refused::NotStored(e))) = &sent {
            self.console.say(format!(
                "{} cannot write log.txt: {e}; message refused",
                self.tag
            ));
        }
        sent
    }

    /// # Errors
    /// The hub's refusal.
    pub fn create_room(&mut self, room: &str, private: bool) -> Result<Created, Refused> {
        let created = self.hub.create_room(self.id, room, private, &mut self.owed);
        match &created {
            Ok(c) => {
                self.console.say(format!(
                    "New room {} created by {} ({})",
                    c.room,
                    c.owner,
                    if c.private { "private" } else { "public" }
                ));
                self.said_joined(&c.joined);
            }
            Err(_) => self.if_not_stored(&created, "cannot save rooms.txt", "room not created"),
        }
        created
    }

    /// # Errors
    /// The hub's refusal.
    pub fn join_room(&mut self, room: &str) -> Result<Joined, Refused> {
        let missed = self.missed(room);
        let joined = self.hub.join_room(self.id, room, missed, &mut self.owed);
        if let Ok(j) = &joined {
            self.said_joined(j);
            // Shown what it missed: read up to here; and what it left, too.
            self.mark_seen(std::slice::from_ref(&j.room));
            if let Some(left) = &j.left {
                self.mark_seen(std::slice::from_ref(left));
            }
        }
        joined
    }

    /// # Errors
    /// The hub's refusal.
    pub fn leave_room(&mut self, room: Option<&str>, reason: &str) -> Result<Left, Refused> {
        let left = self.hub.leave_room(self.id, room, reason, &mut self.owed);
        if let Ok(l) = &left {
            self.mark_seen(std::slice::from_ref(&l.room));
            self.said_left();
            if let Some(joined) = &l.now_in {
                self.said_joined(joined);
            }
        }
        left
    }

    /// # Errors
    /// The hub's refusal.
    pub fn close_room(&mut self, room: Option<&str>) -> Result<Closed, Refused> {
        let closed = self.hub.close_room(self.id, room, &mut self.owed);
        match &closed {
            Ok(c) => after_close(self.console, self.files, c, false),
            Err(_) => self.if_not_stored(&closed, "cannot save rooms.txt", "room not closed"),
        }
        closed
    }

    /// # Errors
    /// The hub's refusal.
    pub fn change_list(
        &mut self,
        room: Option<&str>,
        list: ListKind,
        nick: &str,
        add: bool,
    ) -> Result<ListChanged, Refused> {
        let changed = self
            .hub
            .change_list(self.id, room, list, nick, add, &mut self.owed);
        match &changed {
            Ok(c) => {
                if let Some(removed) = &c.removed {
                    self.console.say(format!("{removed} leaves the room!"));
                }
            }
            Err(_) => self.if_not_stored(&changed, "cannot save rooms.txt", "change refused"),
        }
        changed
    }

    /// # Errors
    /// The hub's refusal.
    pub fn kick_from_room(
        &mut self,
        room: Option<&str>,
        nick: &str,
        reason: &str,
    ) -> Result<Kicked, Refused> {
        let kicked = self
            .hub
            .kick_from_room(self.id, room, nick, reason, &mut self.owed);
        if let Ok(k) = &kicked {
            self.console.say(format!("{} leaves the room!", k.nick));
        }
        kicked
    }

    /// Sets (or clears) this connection's away message.
    pub fn set_away(&self, away: Option<String>) {
        self.hub.set_away(self.id, away);
    }

    /// # Errors
    /// The hub's refusal.
    pub fn show_list(&self, room: Option<&str>, list: ListKind) -> Result<ListShown, Refused> {
        self.hub.show_list(self.id, room, list)
    }

    /// # Errors
    /// The hub's refusal.
    pub fn rename(&mut self, new: &str) -> Result<Renamed, Refused> {
        let renamed = self.hub.rename(self.id, new, &mut self.owed);
        match &renamed {
            Ok(r) => {
                self.console
                    .say(format!("{} is now known as {}", r.old, r.new));
                // Still the account only if the name is the same but for case.
                self.registered &= name_key(&r.old) == name_key(&r.new);
                self.nick = Some(r.new.clone());
            }
            Err(_) => self.if_not_stored(&renamed, "cannot save rooms.txt", "nickname not changed"),
        }
        renamed
    }

    /// Everyone online, as this connection may see them.
    pub fn users(&self) -> Vec<Presence> {
        self.hub.users(Some(self.id))
    }

    /// The rooms this connection may see.
    pub fn rooms(&self) -> Vec<RoomInfo> {
        self.hub.room_list(Some(self.id))
    }

    fn said_joined(&self, joined: &Joined) {
        let nick = self.nick.as_deref().unwrap_or("?");
        if joined.left.is_some() {
            self.console.say(format!("{nick} leaves the room!"));
        }
        self.console.say(format!(
            "Welcome {nick} to the room! There are {} member(s) online!",
            joined.members
        ));
    }

    fn said_left(&self) {
        let nick = self.nick.as_deref().unwrap_or("?");
        self.console.say(format!("{nick} leaves the room!"));
    }

    /// Says on the console why a change was refused when the disk refused it.
    fn if_not_stored<T>(&self, result: &Result<T, Refused>, what: &str, so: &str) {
        if let Err(Refused::NotStored(e)) = result {
            self.console.say(format!("{} {what}: {e}; {so}", self.tag));
        }
    }
}

/// What follows a room's closing, whoever closed it: the console is told,
/// and files shared there are no longer offered (a room of the same name
/// created later is another room).
pub fn after_close(
    console: &crate::server::console::Console,
    files: &crate::server::files::FileStore,
    closed: &Closed,
    by_operator: bool,
) {
    for nick in &closed.evicted {
        console.say(format!("{nick} leaves the room!"));
    }
    console.say(format!(
        "room {} was closed by {}",
        closed.room,
        if by_operator {
            "the server operator"
        } else {
            "its owner"
        }
    ));
    if let Some(e) = &closed.not_logged {
        console.say(format!(
            "warning: cannot record the closing in log.txt: {e}; closed anyway"
        ));
    }
    match files.retire_room(&closed.key) {
        Ok(0) => {}
        Ok(n) => console.say(format!(
            "{n} file(s) shared in {} are no longer offered",
            closed.room
        )),
        Err(e) => console.say(format!(
            "warning: files of closed room {}: {e}; they are not offered, but files.txt still lists them under the room",
            closed.room
        )),
    }
}
