//! Read markers: for each registered user and room, the seq of the last
//! message they have seen there, moved only forward. Kept in
//! `markers.txt`, a [journal](super::journal) of changes; the last change
//! for a (user, room) wins, and compaction rewrites the live markers.
//!
//! ```text
//! change = "set" TAB user TAB room TAB seq   ; user, room: name keys, escaped
//!        / "drop" TAB user TAB room          ; the room was closed, or the
//!                                            ; account deleted
//! ```
//!
//! A change is one `write` without fsync: it survives `kill -9`; a power
//! cut may lose the last second of moves, which only makes an unread count
//! a little high. Compaction (atomic replace) is fsynced.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use super::error::ArchiveError;
use super::journal::Journal;
use crate::server::history::Problem;
use crate::server::store::{escape, unescape};
use crate::text::name_key;

/// Name of the file in the data directory.
pub const MARKERS_FILE: &str = "markers.txt";
const HEADER: &str = "chat-markers 1";
/// Compaction happens when the file holds this many lines more than twice
/// the live markers: rare, and cheap when it happens.
const SLACK_LINES: usize = 1000;

/// Every read marker. `Send + Sync`; each call takes its own short lock
/// (and, for a change, one `write` under it).
pub struct Markers {
    inner: Mutex<Inner>,
    /// Cluster mode: the markers every node shares.
    shared: OnceLock<Arc<dyn SharedMarkers>>,
}

/// Read markers shared by the nodes of a cluster (see
/// `server::cluster::RedisMarkers`). Users and rooms are name keys; a
/// marker crosses as something every node can resolve, and comes back as
/// a seq of this node's log. Every call may fail when the cluster is
/// unreachable: the node then goes by its own markers.
pub trait SharedMarkers: Send + Sync {
    /// `user`'s marker in `room`, if the cluster has one this node can place.
    fn fetch(&self, user: &str, room: &str) -> Result<Option<u64>, String>;
    /// Every marker of `user`: (room key, seq).
    fn fetch_all(&self, user: &str) -> Result<Vec<(String, u64)>, String>;
    /// Moves `user`'s marker in `room` to the message at `seq`, if forward.
    fn store(&self, user: &str, room: &str, seq: u64) -> Result<(), String>;
    /// Drops every marker of `user`.
    fn forget_user(&self, user: &str);
}

struct Inner {
    journal: Journal,
    /// User key -> room key -> seq.
    by_user: HashMap<String, HashMap<String, u64>>,
}

impl Markers {
    /// Opens (or creates) `markers.txt` in `dir`. Damaged lines are
    /// returned as problems and skipped (a marker then falls back to an
    /// earlier position: more messages show as unread, nothing worse).
    ///
    /// # Errors
    /// I/O errors, or a file that is not a markers file.
    pub fn open(dir: &Path) -> Result<(Markers, Vec<Problem>), ArchiveError> {
        let mut by_user: HashMap<String, HashMap<String, u64>> = HashMap::new();
        let (journal, problems) = Journal::open(&dir.join(MARKERS_FILE), HEADER, |body| {
            let fields: Vec<&str> = body.split('\t').collect();
            match fields[..] {
                ["set", user, room, seq] => {
                    let seq = seq.parse().map_err(|_| "bad sequence number")?;
                    by_user
                        .entry(unescape(user)?)
                        .or_default()
                        .insert(unescape(room)?, seq);
                }
                ["drop", user, room] => {
                    let user = unescape(user)?;
                    if let Some(rooms) = by_user.get_mut(&user) {
                        rooms.remove(&unescape(room)?);
                        if rooms.is_empty() {
                            by_user.remove(&user);
                        }
                    }
                }
                _ => return Err("not a marker change".to_string()),
            }
            Ok(())
        })?;
        let markers = Markers {
            inner: Mutex::new(Inner { journal, by_user }),
            shared: OnceLock::new(),
        };
        Ok((markers, problems))
    }

    /// Shares the markers through `shared` from now on (cluster mode).
    pub fn share(&self, shared: Arc<dyn SharedMarkers>) {
        let _ = self.shared.set(shared);
    }

    /// The marker of `user` in `room`, if they have one (in a cluster, the
    /// further of this node's and the cluster's).
    pub fn get(&self, user: &str, room: &str) -> Option<u64> {
        let local = self.get_local(user, room);
        let Some(shared) = self.shared.get() else {
            return local;
        };
        let remote = shared
            .fetch(&name_key(user), &name_key(room))
            .ok()
            .flatten();
        local.max(remote)
    }

    fn get_local(&self, user: &str, room: &str) -> Option<u64> {
        let inner = self.lock();
        inner
            .by_user
            .get(&name_key(user))?
            .get(&name_key(room))
            .copied()
    }

    /// Every marker of `user`: (room key, seq), by room key (in a
    /// cluster, the further of this node's and the cluster's, room by room).
    pub fn of_user(&self, user: &str) -> Vec<(String, u64)> {
        let mut all: HashMap<String, u64> = {
            let inner = self.lock();
            inner
                .by_user
                .get(&name_key(user))
                .cloned()
                .unwrap_or_default()
        };
        if let Some(shared) = self.shared.get() {
            for (room, seq) in shared.fetch_all(&name_key(user)).unwrap_or_default() {
                let mine = all.entry(room).or_insert(seq);
                *mine = (*mine).max(seq);
            }
        }
        let mut all: Vec<(String, u64)> = all.into_iter().collect();
        all.sort();
        all
    }

    /// Moves `user`'s marker in `room` to `seq` if that is forward (or the
    /// first marker there). Returns whether it moved. Call it when a user
    /// leaves a room, logs out, or says where they are (`MARKREAD`), not
    /// for every message: each move is a write.
    ///
    /// # Errors
    /// `Write`: the marker is then unchanged.
    pub fn advance(&self, user: &str, room: &str, seq: u64) -> Result<bool, ArchiveError> {
        let (user, room) = (name_key(user), name_key(room));
        if let Some(shared) = self.shared.get() {
            // Even when this node's marker is already there: the cluster's
            // may be behind (Redis was unreachable, or lost its data).
            // Best effort: the next move carries it.
            let _ = shared.store(&user, &room, seq);
        }
        let mut inner = self.lock();
        let current = inner.by_user.get(&user).and_then(|r| r.get(&room)).copied();
        if current.is_some_and(|c| c >= seq) {
            return Ok(false);
        }
        let change = format!("set\t{}\t{}\t{seq}", escape(&user), escape(&room));
        inner.journal.append(&[change], false)?;
        inner.by_user.entry(user).or_default().insert(room, seq);
        inner.compact_if_worth_it()?;
        Ok(true)
    }

    /// Drops every marker of `room` (it was closed: a room of the same name
    /// created later is another room). Returns how many were dropped.
    ///
    /// # Errors
    /// `Write`: nothing is dropped.
    pub fn forget_room(&self, room: &str) -> Result<usize, ArchiveError> {
        let room = name_key(room);
        let mut inner = self.lock();
        let users: Vec<String> = inner
            .by_user
            .iter()
            .filter(|(_, rooms)| rooms.contains_key(&room))
            .map(|(u, _)| u.clone())
            .collect();
        let changes: Vec<String> = users
            .iter()
            .map(|u| format!("drop\t{}\t{}", escape(u), escape(&room)))
            .collect();
        inner.drop_all(&changes, users.iter().map(|u| (u.clone(), room.clone())))
    }

    /// Drops every marker of `user` (their account was deleted).
    ///
    /// # Errors
    /// `Write`: nothing is dropped.
    pub fn forget_user(&self, user: &str) -> Result<usize, ArchiveError> {
        let user = name_key(user);
        if let Some(shared) = self.shared.get() {
            shared.forget_user(&user);
        }
        let mut inner = self.lock();
        let rooms: Vec<String> = inner
            .by_user
            .get(&user)
            .map(|r| r.keys().cloned().collect())
            .unwrap_or_default();
        let changes: Vec<String> = rooms
            .iter()
            .map(|r| format!("drop\t{}\t{}", escape(&user), escape(r)))
            .collect();
        inner.drop_all(&changes, rooms.iter().map(|r| (user.clone(), r.clone())))
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The map and the journal agree between statements.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Inner {
    fn live(&self) -> usize {
        self.by_user.values().map(HashMap::len).sum()
    }

    fn drop_all(
        &mut self,
        changes: &[String],
        pairs: impl Iterator<Item = (String, String)>,
    ) -> Result<usize, ArchiveError> {
        if changes.is_empty() {
            return Ok(0);
        }
        self.journal.append(changes, false)?;
        for (user, room) in pairs {
            if let Some(rooms) = self.by_user.get_mut(&user) {
                rooms.remove(&room);
                if rooms.is_empty() {
                    self.by_user.remove(&user);
                }
            }
        }
        self.compact_if_worth_it()?;
        Ok(changes.len())
    }

    fn compact_if_worth_it(&mut self) -> Result<(), ArchiveError> {
        let live = self.live();
        if self.journal.lines <= 2 * live + SLACK_LINES {
            return Ok(());
        }
        let mut bodies: Vec<String> = Vec::with_capacity(live);
        for (user, rooms) in &self.by_user {
            for (room, seq) in rooms {
                bodies.push(format!("set\t{}\t{}\t{seq}", escape(user), escape(room)));
            }
        }
        bodies.sort();
        self.journal.rewrite(&bodies)
    }
}

#[cfg(test)]
mod tests {
    use super::super::journal::tests::temp_dir;
    use super::*;

    /// A cluster's markers in memory, or an unreachable one.
    #[derive(Default)]
    struct FakeShared {
        markers: Mutex<HashMap<(String, String), u64>>,
        down: bool,
    }

    impl SharedMarkers for FakeShared {
        fn fetch(&self, user: &str, room: &str) -> Result<Option<u64>, String> {
            if self.down {
                return Err("down".into());
            }
            let m = self.markers.lock().unwrap();
            Ok(m.get(&(user.to_string(), room.to_string())).copied())
        }
        fn fetch_all(&self, user: &str) -> Result<Vec<(String, u64)>, String> {
            if self.down {
                return Err("down".into());
            }
            let m = self.markers.lock().unwrap();
            Ok(m.iter()
                .filter(|((u, _), _)| u == user)
                .map(|((_, r), s)| (r.clone(), *s))
                .collect())
        }
        fn store(&self, user: &str, room: &str, seq: u64) -> Result<(), String> {
            if self.down {
                return Err("down".into());
            }
            let mut m = self.markers.lock().unwrap();
            let at = m.entry((user.to_string(), room.to_string())).or_insert(seq);
            *at = (*at).max(seq);
            Ok(())
        }
        fn forget_user(&self, user: &str) {
            self.markers.lock().unwrap().retain(|(u, _), _| u != user);
        }
    }

    #[test]
    fn in_a_cluster_the_further_marker_wins_and_moves_reach_the_cluster() {
        let dir = temp_dir("markers-shared");
        let (m, _) = Markers::open(&dir).unwrap();
        let shared = Arc::new(FakeShared::default());
        m.share(Arc::clone(&shared) as Arc<dyn SharedMarkers>);
        // Set on another node: seen here.
        shared.store("ann", "den", 40).unwrap();
        assert_eq!(m.get("Ann", "Den"), Some(40));
        // Moved here: stored in both, with keys as names.
        assert!(m.advance("ANN", "Lobby", 7).unwrap());
        assert_eq!(shared.fetch("ann", "lobby").unwrap(), Some(7));
        // Behind the cluster here: the cluster's is further.
        assert!(m.advance("ann", "den", 30).unwrap());
        assert_eq!(m.get("ann", "den"), Some(40));
        assert_eq!(
            m.of_user("ann"),
            [("den".to_string(), 40), ("lobby".to_string(), 7)]
        );
        assert_eq!(m.forget_user("ann").unwrap(), 2);
        assert_eq!(m.get("ann", "den"), None, "gone from the cluster too");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn an_unreachable_cluster_leaves_the_nodes_own_markers() {
        let dir = temp_dir("markers-down");
        let (m, _) = Markers::open(&dir).unwrap();
        m.share(Arc::new(FakeShared {
            down: true,
            ..FakeShared::default()
        }));
        assert!(m.advance("ann", "den", 5).unwrap());
        assert_eq!(m.get("ann", "den"), Some(5));
        assert_eq!(m.of_user("ann"), [("den".to_string(), 5)]);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn markers_move_only_forward_and_survive_a_reopen() {
        let dir = temp_dir("markers");
        {
            let (m, problems) = Markers::open(&dir).unwrap();
            assert!(problems.is_empty());
            assert_eq!(m.get("ann", "lobby"), None);
            assert!(m.advance("Ann", "Lobby", 10).unwrap());
            assert!(!m.advance("ann", "lobby", 9).unwrap(), "never back");
            assert!(!m.advance("ann", "lobby", 10).unwrap());
            assert!(m.advance("ann", "lobby", 12).unwrap());
            assert!(m.advance("ann", "den", 3).unwrap());
            assert!(m.advance("bob", "den", 5).unwrap());
        }
        // Reopened as after kill -9: nothing was flushed but the writes.
        let (m, problems) = Markers::open(&dir).unwrap();
        assert!(problems.is_empty());
        assert_eq!(m.get("ANN", "lobby"), Some(12));
        assert_eq!(
            m.of_user("ann"),
            [("den".to_string(), 3), ("lobby".to_string(), 12)]
        );
        assert!(!m.advance("ann", "lobby", 11).unwrap());
        assert_eq!(m.forget_room("Den").unwrap(), 2);
        assert_eq!(m.get("bob", "den"), None);
        assert_eq!(m.forget_user("ann").unwrap(), 1);
        drop(m);
        let (m, _) = Markers::open(&dir).unwrap();
        assert!(m.of_user("ann").is_empty() && m.of_user("bob").is_empty());
        assert!(
            m.advance("ann", "den", 1).unwrap(),
            "a new room starts over"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_damaged_line_is_reported_and_the_rest_kept() {
        let dir = temp_dir("markers-damaged");
        {
            let (m, _) = Markers::open(&dir).unwrap();
            m.advance("ann", "lobby", 10).unwrap();
            m.advance("ann", "lobby", 20).unwrap();
            m.advance("bob", "lobby", 7).unwrap();
        }
        let path = dir.join(MARKERS_FILE);
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace("\t20\t", "\t90\t")).unwrap();
        let (m, problems) = Markers::open(&dir).unwrap();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].line_no, 3);
        assert_eq!(m.get("ann", "lobby"), Some(10), "falls back, never ahead");
        assert_eq!(m.get("bob", "lobby"), Some(7));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn compaction_keeps_every_live_marker() {
        let dir = temp_dir("markers-compact");
        {
            let (m, _) = Markers::open(&dir).unwrap();
            for seq in 1..=3000 {
                m.advance("ann", "lobby", seq).unwrap();
                m.advance("bob", &format!("r{}", seq % 3), seq).unwrap();
            }
        }
        let lines = std::fs::read_to_string(dir.join(MARKERS_FILE))
            .unwrap()
            .lines()
            .count();
        assert!(lines < 2 * 4 + SLACK_LINES + 2, "{lines} lines");
        let (m, problems) = Markers::open(&dir).unwrap();
        assert!(problems.is_empty());
        assert_eq!(m.get("ann", "lobby"), Some(3000));
        assert_eq!(m.get("bob", "r0"), Some(3000));
        assert_eq!(m.get("bob", "r1"), Some(2998));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
