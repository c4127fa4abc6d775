//! One blocking connection to Redis: connecting with timeouts, the handshake
//! (`HELLO 3` with `AUTH`, or RESP2 and `AUTH` on servers without `HELLO`,
//! then `SELECT`), one command and its reply, or a pipeline of several. The
//! typed commands are in `commands.rs` and `streams.rs`.
//!
//! After an I/O, protocol or timeout error the connection is broken: a reply
//! may still be on its way, and the next one read would be the wrong one. Every
//! later call says [`RedisError::Broken`]; the caller connects again (see
//! [`Reconnecting`](super::Reconnecting)).

use std::io::{self, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use super::error::{is_timeout, RedisError, Result};
use super::resp::{Command, Decoder, Limits, Value};
use super::url::RedisUrl;

/// How long a TCP connect to one address may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a reply (or a write) may take before the connection is given up.
pub const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// How to reach and log in to Redis, and how long to wait for it.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where Redis is, the credentials and the database.
    pub url: RedisUrl,
    /// See [`CONNECT_TIMEOUT`].
    pub connect_timeout: Duration,
    /// See [`IO_TIMEOUT`]. A blocking `XREAD` waits its `BLOCK` time on top.
    pub io_timeout: Duration,
    /// A name shown by `CLIENT LIST` (e.g. the node id), if any.
    pub client_name: Option<String>,
    /// The caps on replies.
    pub limits: Limits,
}

impl Config {
    /// A configuration for `url` with the default timeouts and limits.
    pub fn new(url: RedisUrl) -> Config {
        Config {
            url,
            connect_timeout: CONNECT_TIMEOUT,
            io_timeout: IO_TIMEOUT,
            client_name: None,
            limits: Limits::default(),
        }
    }
}

/// The RESP version a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// The server lacks `HELLO` (Redis before 6): arrays and nulls only.
    Resp2,
    /// After `HELLO 3`: maps, sets, pushes and typed nulls too.
    Resp3,
}

/// A blocking connection to Redis.
#[derive(Debug)]
pub struct Client {
    stream: TcpStream,
    decoder: Decoder,
    protocol: Protocol,
    server_version: Option<String>,
    /// Redis' number for this connection (`CLIENT ID`), when it told.
    id: Option<u64>,
    io_timeout: Duration,
    /// The read timeout the socket has now (changed for blocking reads).
    read_timeout: Option<Duration>,
    broken: bool,
    /// Scratch space for encoding commands, kept between calls.
    out: Vec<u8>,
}

impl Client {
    /// Connects, logs in and selects the database of `config.url`.
    ///
    /// # Errors
    ///
    /// [`RedisError::Connect`] if no address of the host accepts a TCP
    /// connection in time; [`RedisError::Server`] if Redis refuses the login
    /// (`WRONGPASS`, `NOAUTH`) or the database; I/O errors as for any command.
    pub fn connect(config: &Config) -> Result<Client> {
        // A zero timeout means "never time out" to the OS: at least 1 ms.
        let io_timeout = config.io_timeout.max(Duration::from_millis(1));
        let connect_timeout = config.connect_timeout.max(Duration::from_millis(1));
        let stream = connect_tcp(&config.url, connect_timeout, io_timeout)?;
        let mut client = Client {
            stream,
            decoder: Decoder::new(config.limits),
            protocol: Protocol::Resp2,
            server_version: None,
            id: None,
            io_timeout,
            read_timeout: Some(io_timeout),
            broken: false,
            out: Vec::new(),
        };
        client.handshake(config)?;
        Ok(client)
    }

    /// The RESP version agreed in the handshake.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// The server's version, as `HELLO` reported it (`None` under RESP2).
    pub fn server_version(&self) -> Option<&str> {
        self.server_version.as_deref()
    }

    /// Redis' number for this connection, as `HELLO` (or `CLIENT ID`)
    /// reported it: what `CLIENT KILL ID` takes, from another connection.
    pub fn id(&self) -> Option<u64> {
        self.id
    }

    /// The timeout for a reply (and for a write), from the [`Config`].
    pub fn io_timeout(&self) -> Duration {
        self.io_timeout
    }

    /// True after an error that left the connection unusable.
    pub fn is_broken(&self) -> bool {
        self.broken
    }

    /// Sends one command and returns its reply.
    ///
    /// # Errors
    ///
    /// [`RedisError::Server`] for an error reply (the connection stays
    /// usable); I/O, protocol and timeout errors break the connection.
    pub fn request(&mut self, command: &Command) -> Result<Value> {
        self.request_waiting(command, Some(self.io_timeout))
    }

    /// Sends all `commands` in one write, then reads their replies in order:
    /// one round trip for the lot. An error reply is that command's `Err`;
    /// the others still get their replies.
    ///
    /// # Errors
    ///
    /// The outer `Err` when the connection fails: then none of the replies
    /// is known, and any of the commands may have been applied.
    pub fn pipeline(&mut self, commands: &[Command]) -> Result<Vec<Result<Value>>> {
        self.send(commands)?;
        let mut replies = Vec::with_capacity(commands.len());
        for _ in commands {
            replies.push(into_result(self.read_reply()?));
        }
        Ok(replies)
    }

    /// A handle another thread can use to break this connection, waking a
    /// call blocked on it (it then fails with [`RedisError::Closed`]).
    ///
    /// # Errors
    ///
    /// The OS error if the socket cannot be duplicated.
    pub fn interrupter(&self) -> Result<Interrupter> {
        Ok(Interrupter(self.stream.try_clone()?))
    }

    /// Sends `command` and waits up to `wait` (forever if `None`) for the reply.
    pub(super) fn request_waiting(
        &mut self,
        command: &Command,
        wait: Option<Duration>,
    ) -> Result<Value> {
        self.send(std::slice::from_ref(command))?;
        self.set_read_timeout(wait)?;
        let reply = self.read_reply()?;
        self.set_read_timeout(Some(self.io_timeout))?;
        into_result(reply)
    }

    /// Writes `commands` in one go.
    pub(super) fn send(&mut self, commands: &[Command]) -> Result<()> {
        if self.broken {
            return Err(RedisError::Broken);
        }
        self.out.clear();
        for command in commands {
            command.encode(&mut self.out);
        }
        let written = self.stream.write_all(&self.out);
        // A pipeline's buffer can be large; don't keep it forever.
        if self.out.capacity() > 1024 * 1024 {
            self.out = Vec::new();
        }
        written.map_err(|e| self.fail(e.into()))
    }

    /// The next reply, skipping RESP3 pushes (a command connection gets
    /// them only for features we do not turn on, such as client tracking).
    fn read_reply(&mut self) -> Result<Value> {
        loop {
            match self.read_value()? {
                Value::Push(_) => continue,
                value => return Ok(value),
            }
        }
    }

    /// The next value; a timeout breaks the connection (its reply may
    /// still come, and would be taken for the next command's).
    pub(super) fn read_value(&mut self) -> Result<Value> {
        loop {
            match self.poll_value() {
                Ok(Some(value)) => return Ok(value),
                Ok(None) => {}
                Err(e) => return Err(self.fail(e)),
            }
        }
    }

    /// Waits up to `wait` for the next value; `Ok(None)` when none came in
    /// time. The connection stays usable then: a partly received value
    /// stays in the decoder and is completed by a later call.
    pub(super) fn try_read_value(&mut self, wait: Duration) -> Result<Option<Value>> {
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            // A zero timeout means "block forever" to the OS: at least 1 ms.
            self.set_read_timeout(Some(left.max(Duration::from_millis(1))))?;
            match self.poll_value() {
                Ok(Some(value)) => return Ok(Some(value)),
                Ok(None) => {}
                Err(RedisError::Io(e)) if is_timeout(&e) => return Ok(None),
                Err(e) => return Err(self.fail(e)),
            }
        }
    }

    /// A value already buffered, or what one read from the socket completes.
    /// Never marks the connection broken: the caller decides.
    fn poll_value(&mut self) -> Result<Option<Value>> {
        if self.broken {
            return Err(RedisError::Broken);
        }
        if let Some(value) = self.decoder.next_value()? {
            return Ok(Some(value));
        }
        match self.decoder.read_from(&mut self.stream) {
            Ok(0) => Err(RedisError::Closed),
            Ok(_) => Ok(self.decoder.next_value()?),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    pub(super) fn set_read_timeout(&mut self, wait: Option<Duration>) -> Result<()> {
        if self.read_timeout != wait {
            self.stream
                .set_read_timeout(wait)
                .map_err(|e| self.fail(e.into()))?;
            self.read_timeout = wait;
        }
        Ok(())
    }

    /// Marks the connection unusable (a caller lost track of its replies).
    pub(super) fn mark_broken(&mut self) {
        self.broken = true;
    }

    /// Marks the connection broken and hands the error back.
    fn fail(&mut self, error: RedisError) -> RedisError {
        self.broken = true;
        error
    }

    /// `HELLO 3 [AUTH user password] [SETNAME name]`; on a server without
    /// `HELLO` (or without RESP3), `AUTH` and `CLIENT SETNAME` under RESP2.
    /// Then `SELECT` if the URL names a database other than 0.
    fn handshake(&mut self, config: &Config) -> Result<()> {
        let url = &config.url;
        let mut hello = Command::new("HELLO").arg("3");
        if let Some(password) = url.password() {
            hello = hello
                .arg("AUTH")
                .arg(url.username().unwrap_or("default"))
                .arg(password);
        }
        if let Some(name) = &config.client_name {
            hello = hello.arg("SETNAME").arg(name);
        }
        match self.request(&hello) {
            Ok(reply) => {
                self.protocol = Protocol::Resp3;
                self.server_version = hello_field(&reply, "version");
                self.id = hello_id(&reply);
            }
            Err(RedisError::Server { code, message })
                if code == "NOPROTO" || message.contains("unknown command") =>
            {
                self.resp2_login(config)?;
            }
            Err(e) => return Err(e),
        }
        if url.db() != 0 {
            self.request(&Command::new("SELECT").arg_int(url.db()))?;
        }
        Ok(())
    }

    fn resp2_login(&mut self, config: &Config) -> Result<()> {
        let url = &config.url;
        if let Some(password) = url.password() {
            let auth = match url.username() {
                Some(user) => Command::new("AUTH").arg(user).arg(password),
                None => Command::new("AUTH").arg(password),
            };
            self.request(&auth)?;
        }
        if let Some(name) = &config.client_name {
            self.request(&Command::new("CLIENT").arg("SETNAME").arg(name))?;
        }
        self.protocol = Protocol::Resp2;
        // Redis 5 and later; without it, nobody can end this connection
        // for us, which only `CLIENT KILL` needs.
        self.id = match self.request(&Command::new("CLIENT").arg("ID")) {
            Ok(Value::Integer(id)) => u64::try_from(id).ok(),
            Ok(_) | Err(RedisError::Server { .. }) => None,
            Err(e) => return Err(e),
        };
        Ok(())
    }
}

/// A handle that breaks a [`Client`]'s (or a subscriber's) connection from
/// another thread, so a thread blocked reading it wakes up.
#[derive(Debug)]
pub struct Interrupter(TcpStream);

impl Interrupter {
    /// Shuts the connection down both ways; the blocked call returns
    /// [`RedisError::Closed`] and the connection is broken for good.
    pub fn interrupt(&self) {
        // Already closed is as good as closed.
        let _ = self.0.shutdown(Shutdown::Both);
    }
}

/// An error reply as an `Err`, any other value as it is.
pub(super) fn into_result(value: Value) -> Result<Value> {
    match value {
        Value::Error(text) => Err(RedisError::from_reply(&text)),
        value => Ok(value),
    }
}

/// One field of the `HELLO` reply (a map under RESP3), as text.
fn hello_field(reply: &Value, name: &str) -> Option<String> {
    let Value::Map(pairs) = reply else {
        return None;
    };
    pairs.iter().find_map(|(k, v)| match (k, v) {
        (Value::Bulk(k) | Value::Verbatim { text: k, .. }, Value::Bulk(v))
            if k == name.as_bytes() =>
        {
            Some(String::from_utf8_lossy(v).into_owned())
        }
        (Value::Simple(k), Value::Simple(v)) if k == name => Some(v.clone()),
        _ => None,
    })
}

/// The `id` field of a `HELLO` reply.
fn hello_id(reply: &Value) -> Option<u64> {
    let Value::Map(pairs) = reply else {
        return None;
    };
    pairs.iter().find_map(|(k, v)| match (k, v) {
        (Value::Bulk(k), Value::Integer(id)) if k == b"id" => u64::try_from(*id).ok(),
        (Value::Simple(k), Value::Integer(id)) if k == "id" => u64::try_from(*id).ok(),
        _ => None,
    })
}

/// Connects to the first address of the URL's host that answers in time,
/// with `TCP_NODELAY` (a request is one small write and waits for its reply).
fn connect_tcp(url: &RedisUrl, timeout: Duration, io_timeout: Duration) -> Result<TcpStream> {
    let addr = url.addr();
    let fail = |source| RedisError::Connect {
        addr: addr.clone(),
        source,
    };
    let mut last = io::Error::new(io::ErrorKind::NotFound, "the host name has no address");
    for sock in (url.host(), url.port()).to_socket_addrs().map_err(fail)? {
        match TcpStream::connect_timeout(&sock, timeout) {
            Ok(stream) => {
                let setup = stream
                    .set_nodelay(true)
                    .and_then(|()| stream.set_write_timeout(Some(io_timeout)))
                    .and_then(|()| stream.set_read_timeout(Some(io_timeout)));
                return setup.map(|()| stream).map_err(fail);
            }
            Err(e) => last = e,
        }
    }
    Err(fail(last))
}
