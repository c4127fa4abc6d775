//! The node's stream reader: one thread that reads the message stream from
//! the last ID it delivered (never from `$`, so a reconnect or a restart
//! loses and repeats nothing) and has the hub store and deliver each entry
//! in stream order. Every node does the same, so every client on every node
//! sees one order, and every node's `log.txt` holds it.

use std::io;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::cluster::StreamId;
use crate::server::console::Console;
use crate::server::hub::{Hub, Owed};

use super::{keys, trim, ClusterLink, StreamMessage};

/// How long one `XREAD` blocks waiting for entries.
const BLOCK: Duration = Duration::from_millis(1000);
/// Entries read at once.
const BATCH: usize = 512;
/// The wait before storing an entry again after `log.txt` refused it.
const STORE_RETRY: Duration = Duration::from_secs(1);
/// How often the node records where it is and trims the stream.
const TRIM_EVERY: Duration = Duration::from_secs(5);

/// Starts the reader, resuming after `last` (the log's last stream ID);
/// it also trims the stream, to at most `cap` entries if given.
///
/// # Errors
/// The thread could not be started.
pub fn spawn_reader(
    hub: Hub,
    link: Arc<ClusterLink>,
    console: Console,
    last: Option<StreamId>,
    cap: Option<u64>,
) -> io::Result<()> {
    thread::Builder::new()
        .name("cluster-reader".into())
        .spawn(move || read_forever(&hub, &link, &console, last, cap))?;
    Ok(())
}

fn read_forever(
    hub: &Hub,
    link: &ClusterLink,
    console: &Console,
    last: Option<StreamId>,
    cap: Option<u64>,
) {
    let mut conn = link.connection();
    let mut last = last.unwrap_or_default();
    let mut trimmed = Instant::now();
    // Checked at every new connection: the stream may have been trimmed
    // past this node while it was away.
    let mut checked = None;
    let mut warned = None;
    loop {
        if checked != Some(conn.generation()) {
            if let Ok(warning) = conn.run(|c| trim::check_resume(c, last)) {
                checked = Some(conn.generation());
                if let Some(warning) = warning {
                    console.say(&warning);
                    warned = Some(warning);
                }
            }
        }
        let read = conn.run(|c| c.xread(&[(keys::MESSAGES, last)], Some(BATCH), Some(BLOCK)));
        for change in conn.take_changes() {
            console.say(format!("cluster: stream reader {change}"));
        }
        if trimmed.elapsed() >= TRIM_EVERY {
            trimmed = Instant::now();
            // Best effort: the next tick tries again.
            let _ = conn.run(|c| trim::record_and_trim(c, link, last, cap));
            if cap.is_some() {
                // The cap may have taken entries this node had not read.
                if let Ok(Some(warning)) = conn.run(|c| trim::check_resume(c, last)) {
                    if warned.as_ref() != Some(&warning) {
                        console.say(&warning);
                        warned = Some(warning);
                    }
                }
            }
        }
        match read {
            Ok(batches) => {
                // Stored in one write and delivered in one enqueue per
                // member; the recipients' writes are paid once per batch
                // (one write each for many messages), then the senders are
                // answered.
                let mut entries = Vec::new();
                for entry in batches.into_iter().flat_map(|b| b.entries) {
                    match StreamMessage::from_entry(&entry) {
                        Some(message) => entries.push((entry.id, message)),
                        None => console.say(format!(
                            "cluster: stream entry {} is not a chat message; skipped",
                            entry.id
                        )),
                    }
                    last = entry.id;
                }
                let mut owed = Owed::new();
                let seqs = deliver(hub, link, console, &entries, &mut owed);
                owed.pay();
                let own: Vec<(StreamId, u64)> = entries
                    .iter()
                    .zip(seqs)
                    .filter(|((_, m), _)| m.node == link.node())
                    .map(|((id, _), seq)| (*id, seq))
                    .collect();
                link.note_applied(&own, last);
            }
            // Down: `run` answers at once until the next attempt is due.
            Err(_) => thread::sleep(conn.retry_in().max(Duration::from_millis(50))),
        }
    }
}

/// Stores and delivers `entries`, retrying until `log.txt` takes them:
/// they are in Redis, so every other node delivers them, and skipping them
/// here would leave this node's log without them. Their numbers here.
fn deliver(
    hub: &Hub,
    link: &ClusterLink,
    console: &Console,
    entries: &[(StreamId, StreamMessage)],
    owed: &mut Owed,
) -> Vec<u64> {
    let (Some((first, _)), Some((last, _))) = (entries.first(), entries.last()) else {
        return Vec::new();
    };
    loop {
        match hub.deliver_from_stream(link.node(), entries, owed) {
            Ok(seqs) => {
                for (_, m) in entries.iter().filter(|(_, m)| m.node != link.node()) {
                    console.message(|| {
                        format!("[{}] #{} (node {}): {}", m.from, m.room, m.node, m.text)
                    });
                }
                return seqs;
            }
            Err(e) => {
                console.say(format!(
                    "cluster: cannot write log.txt ({e}); stream entries {first} to {last} wait"
                ));
                thread::sleep(STORE_RETRY);
            }
        }
    }
}
