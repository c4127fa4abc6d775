// The chat page. It speaks CHAT/1.0, the protocol of the terminal client,
// over a WebSocket at /ws: each WebSocket text message is one frame (a
// request, a reply or an event). Everything a peer sends is shown with
// textContent, never parsed as HTML; the server's Content-Security-Policy
// forbids inline script as a second wall.
'use strict';

(() => {
  const VERSION = 'CHAT/1.0';
  const LOBBY = 'lobby';
  const HISTORY_PAGE = 50;
  const RECONNECT_DELAYS_MS = [500, 1000, 2000, 4000, 8000, 15000];
  const REFRESH_DELAY_MS = 700;
  const utf8 = new TextEncoder();

  const $ = (id) => document.getElementById(id);
  const key = (name) => name.toLowerCase();

  /** An element with a class and text content (never HTML). */
  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // ---------------------------------------------------------------- frames

  /** A request frame: start line, headers, Content-Length, body. */
  function encodeFrame(verb, target, headers, body) {
    let head = `${verb} ${target} ${VERSION}\r\n`;
    for (const [name, value] of Object.entries(headers || {})) {
      if (value === undefined || value === null) continue;
      // A line break in a value would end the header early.
      head += `${name}: ${String(value).replace(/[\u0000-\u001f\u007f]/g, ' ')}\r\n`;
    }
    const text = body || '';
    if (text) head += 'Content-Type: text/plain; charset=utf-8\r\n';
    return `${head}Content-Length: ${utf8.encode(text).length}\r\n\r\n${text}`;
  }

  /** A frame from one WebSocket message: a reply or an event. */
  function parseFrame(text) {
    let split = text.indexOf('\r\n\r\n');
    let gap = 4;
    const lf = text.indexOf('\n\n');
    if (split < 0 || (lf >= 0 && lf < split)) {
      split = lf;
      gap = 2;
    }
    if (split < 0) throw new Error('frame without an empty line');
    const lines = text.slice(0, split).split(/\r?\n/);
    const body = text.slice(split + gap);
    const start = lines.shift().split(' ');
    const headers = new Map();
    for (const line of lines) {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = key(line.slice(0, colon));
      if (!headers.has(name)) headers.set(name, line.slice(colon + 1).trim());
    }
    if (start[0] === VERSION) {
      return { reply: true, status: Number(start[1]), reason: start.slice(2).join(' '), headers, body };
    }
    return { reply: false, verb: start[0], target: start[1] || '/', headers, body };
  }

  /** The name after a prefix of a target: ('/rooms/x', '/rooms/') is 'x'. */
  function targetName(target, prefix) {
    return target.startsWith(prefix) ? decodeURIComponent(target.slice(prefix.length)) : '';
  }

  // ------------------------------------------------------------ connection

  /**
   * One WebSocket. Replies come in request order, so each is matched to
   * the oldest request still waiting; anything else is an event.
   */
  class Link {
    constructor(onEvent, onClose) {
      this.onEvent = onEvent;
      this.onClose = onClose;
      this.ws = null;
      this.waiting = [];
    }

    open() {
      return new Promise((resolve, reject) => {
        const scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
        const ws = new WebSocket(`${scheme}${location.host}/ws`);
        this.ws = ws;
        let opened = false;
        ws.onopen = () => {
          opened = true;
          resolve();
        };
        ws.onmessage = (event) => this.receive(event.data);
        ws.onclose = (event) => {
          if (this.ws !== ws) return;
          this.ws = null;
          for (const w of this.waiting.splice(0)) w.reject(new Error('disconnected'));
          if (opened) this.onClose(event);
          else reject(new Error('cannot reach the server'));
        };
      });
    }

    receive(data) {
      if (typeof data !== 'string') return;
      let frame;
      try {
        frame = parseFrame(data);
      } catch (e) {
        console.warn('unreadable frame', e);
        return;
      }
      if (frame.reply) {
        const w = this.waiting.shift();
        if (w) w.resolve(frame);
      } else {
        this.onEvent(frame);
      }
    }

    get isOpen() {
      return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
    }

    /** Sends a request; resolves with its reply. */
    request(verb, target, headers, body) {
      if (!this.isOpen) return Promise.reject(new Error('not connected'));
      return new Promise((resolve, reject) => {
        this.waiting.push({ resolve, reject });
        this.ws.send(encodeFrame(verb, target, headers, body));
      });
    }

    /** Sends a request that gets no reply (PONG). */
    notify(verb, target) {
      if (this.isOpen) this.ws.send(encodeFrame(verb, target));
    }

    close() {
      const ws = this.ws;
      this.ws = null;
      for (const w of this.waiting.splice(0)) w.reject(new Error('disconnected'));
      if (ws) ws.close(1000, 'bye');
    }
  }

  // ----------------------------------------------------------------- state

  const app = {
    me: null,
    password: null,
    registered: false,
    maxBody: 4096,
    maxFileSize: 0,
    /** The room the server has us in (one at a time unless multiRoom). */
    current: LOBBY,
    joined: new Set([key(LOBBY)]),
    view: { kind: 'room', name: LOBBY },
    conversations: new Map(),
    roomList: [],
    users: [],
    everyone: [],
    caps: { multiRoom: false, history: null, files: null },
    token: null,
    tokenTimer: null,
    /** The session's resume token: after a drop, LOGIN with it replaces the old session. */
    resume: null,
    fileLinks: new Set(),
    online: false,
    wantOnline: false,
    retries: 0,
    retryTimer: null,
    byeReason: '',
    mentions: 0,
    order: 0,
    /** Counts the user's choices of what to look at, so a reconnection
     * puts back the view it found only if nobody picked another meanwhile. */
    viewPicks: 0,
  };

  const link = new Link(onEvent, onDisconnect);

  /** A room's or a whisper partner's messages. */
  function conversation(kind, name) {
    const id = `${kind}:${key(name)}`;
    let conv = app.conversations.get(id);
    if (!conv) {
      conv = { id, kind, name, items: [], seqs: new Set(), maxSeq: 0, minSeq: Infinity, sub: 0, unread: 0, mention: false, more: true };
      app.conversations.set(id, conv);
    }
    return conv;
  }

  const viewed = () => conversation(app.view.kind, app.view.name);
  const isViewed = (conv) => conv === viewed() && !document.hidden;

  // ------------------------------------------------------------ rendering

  function formatTime(date) {
    const d = date instanceof Date ? date : parseDate(date);
    if (!d) return '';
    return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  }

  /** The server's `Date` (UTC, `2026-11-21 10:15:02.123456`) as a Date. */
  function parseDate(text) {
    if (!text) return null;
    const d = new Date(`${text.slice(0, 23).replace(' ', 'T')}Z`);
    return Number.isNaN(d.getTime()) ? null : d;
  }

  function compareOrder(a, b) {
    return a[0] - b[0] || a[1] - b[1];
  }

  /** Puts an item in its conversation in order, and on screen if shown. */
  function insertItem(conv, item) {
    let i = conv.items.length;
    while (i > 0 && compareOrder(conv.items[i - 1].order, item.order) > 0) i -= 1;
    conv.items.splice(i, 0, item);
    if (conv !== viewed()) return;
    const list = $('messages');
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 60;
    const next = conv.items[i + 1];
    list.insertBefore(item.node, next ? next.node : null);
    if (atBottom || item.mine) list.scrollTop = list.scrollHeight;
  }

  function removeItem(conv, item) {
    const i = conv.items.indexOf(item);
    if (i >= 0) conv.items.splice(i, 1);
    item.node.remove();
  }

  /** A message line: time, sender (a button: click to see or whisper), text. */
  function messageNode({ from, date, text, classes }) {
    const li = el('li', `msg ${classes || ''}`);
    const time = el('time', '', formatTime(date));
    const when = date instanceof Date ? date : parseDate(date);
    if (when) {
      time.dateTime = when.toISOString();
      time.title = when.toLocaleString();
    }
    const who = el('button', 'from', from);
    who.type = 'button';
    who.addEventListener('click', () => showPerson(from));
    li.append(time, who, el('span', 'text', text));
    return li;
  }

  function systemLine(conv, text) {
    const item = { order: [conv.maxSeq, ++conv.sub], node: el('li', 'msg system', text) };
    insertItem(conv, item);
    return item;
  }

  function mentionsMe(text) {
    if (!app.me) return false;
    const nick = app.me.replace(/[-]/g, '\\-');
    return new RegExp(`(^|[^A-Za-z0-9_\\-])@?${nick}($|[^A-Za-z0-9_\\-])`, 'i').test(text);
  }

  /** A room message from the server, new or replayed; duplicates are dropped. */
  function addRoomMessage(room, from, date, seq, text, history) {
    const conv = conversation('room', room);
    if (conv.seqs.has(seq)) return;
    if (from === app.me) {
      // Our own message replayed after a reconnect: it replaces the
      // unconfirmed copy shown while the connection dropped.
      const lost = conv.items.find((i) => i.pending && i.lost && i.text === text);
      if (lost) removeItem(conv, lost);
    }
    conv.seqs.add(seq);
    conv.maxSeq = Math.max(conv.maxSeq, seq);
    conv.minSeq = Math.min(conv.minSeq, seq);
    const mention = from !== app.me && !history && mentionsMe(text);
    const classes = [history ? 'history' : '', from === app.me ? 'mine' : '', mention ? 'mention' : ''].join(' ');
    insertItem(conv, { order: [seq, 0], seq, node: messageNode({ from, date, text, classes }) });
    if (conv === viewed()) renderOlder();
    if (!history && from !== app.me) noteUnread(conv, mention);
  }

  function noteUnread(conv, mention) {
    if (isViewed(conv)) return;
    conv.unread += 1;
    if (mention) {
      conv.mention = true;
      app.mentions += 1;
    }
    renderSidebar();
    renderTitle();
  }

  function renderTitle() {
    let unread = 0;
    for (const conv of app.conversations.values()) unread += conv.unread;
    const name = app.view.kind === 'room' ? app.view.name : `@${app.view.name}`;
    const mark = app.mentions > 0 ? '(!) ' : '';
    const count = unread > 0 ? `(${unread}) ` : '';
    document.title = app.me ? `${mark}${count}${name} - chat` : 'chat';
  }

  function renderConversation() {
    const conv = viewed();
    conv.unread = 0;
    if (conv.mention) {
      conv.mention = false;
      app.mentions = 0;
      for (const c of app.conversations.values()) if (c.mention) app.mentions += 1;
    }
    const list = $('messages');
    list.replaceChildren(...conv.items.map((i) => i.node));
    list.scrollTop = list.scrollHeight;
    const isRoom = conv.kind === 'room';
    $('view-title').textContent = isRoom ? conv.name : `Whispers with ${conv.name}`;
    $('older').hidden = !isRoom;
    $('room-actions').hidden = !isRoom || !app.joined.has(key(conv.name));
    $('leave-button').hidden = key(conv.name) === key(LOBBY) && !app.caps.multiRoom;
    renderOwnerControls();
    renderSidebar();
    renderTitle();
    renderMembers();
    renderOlder();
  }

  function show(kind, name) {
    app.view = { kind, name };
    app.viewPicks += 1;
    document.querySelector('.chat').classList.remove('show-sidebar');
    renderConversation();
    if (kind === 'room') refreshFiles();
    $('message-input').focus();
  }

  function entryButton(name, meta, unread, mention, onClick) {
    const button = el('button', 'entry');
    button.type = 'button';
    button.append(el('span', 'name', name));
    if (unread > 0) button.append(el('span', mention ? 'badge mention' : 'badge', String(unread)));
    if (meta) button.append(el('span', 'meta', meta));
    button.addEventListener('click', onClick);
    return button;
  }

  function roomInfo(name) {
    return app.roomList.find((r) => key(r.name) === key(name));
  }

  function renderSidebar() {
    const joined = $('joined-rooms');
    const other = $('other-rooms');
    joined.replaceChildren();
    other.replaceChildren();
    const names = new Set(app.joined);
    for (const name of names) {
      const info = roomInfo(name) || { name: name === key(LOBBY) ? LOBBY : name, online: '' };
      const conv = conversation('room', info.name);
      const li = el('li', app.view.kind === 'room' && key(app.view.name) === name ? 'active' : '');
      const meta = info.online === '' ? '' : `${info.online} online`;
      li.append(entryButton(info.name, meta, conv.unread, conv.mention, () => show('room', info.name)));
      joined.append(li);
    }
    for (const room of app.roomList) {
      if (names.has(key(room.name))) continue;
      const li = el('li');
      const meta = `${room.private ? 'private' : 'public'}, ${room.online} online${room.owner === '-' ? '' : `, ${room.owner}`}`;
      li.append(entryButton(room.name, meta, 0, false, () => joinRoom(room.name)));
      other.append(li);
    }
    const whispers = $('whisper-list');
    whispers.replaceChildren();
    for (const conv of app.conversations.values()) {
      if (conv.kind !== 'whisper') continue;
      const li = el('li', app.view.kind === 'whisper' && key(app.view.name) === key(conv.name) ? 'active' : '');
      li.append(entryButton(conv.name, '', conv.unread, conv.mention, () => show('whisper', conv.name)));
      whispers.append(li);
    }
    $('no-whispers').hidden = whispers.children.length > 0;
  }

  function renderMembers() {
    const members = $('members');
    members.replaceChildren();
    const room = app.view.kind === 'room' ? key(app.view.name) : null;
    for (const user of app.users) {
      if (room !== null && !user.rooms.includes(room)) continue;
      if (room === null && key(user.nick) !== key(app.view.name) && user.nick !== app.me) continue;
      members.append(personEntry(user.nick, true, user.nick === app.me ? 'you' : ''));
    }
    const everyone = $('everyone');
    everyone.replaceChildren();
    for (const user of app.everyone) {
      everyone.append(personEntry(user.nick, user.online, user.kind));
    }
  }

  function personEntry(nick, online, meta) {
    const li = el('li', online ? 'online' : 'offline');
    const dot = el('span', 'dot');
    dot.title = online ? 'online' : 'offline';
    li.append(dot, entryButton(nick, meta, 0, false, () => showPerson(nick)));
    return li;
  }

  function amOwner() {
    if (app.view.kind !== 'room') return false;
    const info = roomInfo(app.view.name);
    return Boolean(info && app.me && key(info.owner) === key(app.me) && app.joined.has(key(info.name)));
  }

  function renderOwnerControls() {
    const owner = amOwner();
    $('owner-box').hidden = !owner;
    $('close-button').hidden = !owner;
    $('close-confirm').hidden = true;
    for (const b of document.querySelectorAll('.owner-only')) b.hidden = !owner;
  }

  function renderOlder() {
    const conv = viewed();
    const note = $('older-note');
    const button = $('older-button');
    if (app.caps.history === false) {
      button.hidden = true;
      note.hidden = false;
      note.textContent = 'This server sends the latest messages of a room when you enter it; older ones are in its log.';
    } else {
      button.hidden = !conv.more || conv.seqs.size === 0;
      note.hidden = true;
    }
  }

  function setConnection(text, down) {
    const c = $('connection');
    c.textContent = text;
    c.classList.toggle('down', Boolean(down));
  }

  // ------------------------------------------------------------ events

  function onEvent(frame) {
    const h = frame.headers;
    switch (frame.verb) {
      case 'MESSAGE': {
        const room = targetName(frame.target, '/rooms/');
        addRoomMessage(room, h.get('from') || '?', h.get('date'), Number(h.get('seq')) || 0, frame.body, h.get('history') === 'yes');
        break;
      }
      case 'WHISPER': {
        const from = h.get('from') || '?';
        const conv = conversation('whisper', from);
        insertItem(conv, { order: [++app.order, 0], node: messageNode({ from, date: h.get('date'), text: frame.body, classes: 'whisper' }) });
        // A whisper is meant for us: it marks the title like a mention.
        noteUnread(conv, true);
        renderSidebar();
        break;
      }
      case 'JOIN':
      case 'LEAVE': {
        const room = targetName(frame.target, '/rooms/');
        const nick = h.get('nick') || '?';
        if (frame.verb === 'JOIN' && nick === app.me) entered(room);
        else if (frame.verb === 'LEAVE' && nick === app.me) left(room);
        const conv = conversation('room', room);
        const members = h.get('members');
        noteMembership(frame.verb === 'JOIN', room, nick, members);
        const line = frame.verb === 'JOIN'
          ? `${nick} joined ${room}${members ? ` (${members} online)` : ''}`
          : `${nick} left ${room}${members ? ` (${members} online)` : ''}`;
        systemLine(conv, line);
        scheduleRefresh();
        break;
      }
      case 'NICK': {
        const old = h.get('from') || '?';
        const now = targetName(frame.target, '/users/');
        if (old === app.me) app.me = now;
        systemLine(conversation('room', app.current), `${old} is now known as ${now}`);
        $('me').textContent = app.me;
        scheduleRefresh();
        break;
      }
      case 'FILE': {
        const room = targetName(frame.target, '/rooms/');
        addFile(conversation('room', room), {
          id: h.get('file-id'), name: h.get('file-name') || 'file', size: Number(h.get('file-size')) || 0,
          from: h.get('from') || '?', date: h.get('date'),
        });
        break;
      }
      case 'NOTICE':
        systemLine(conversation('room', app.current), frame.body);
        scheduleRefresh();
        break;
      case 'PING':
        link.notify('PONG', '/');
        break;
      case 'BYE':
        app.byeReason = frame.body;
        break;
      default:
        console.warn('unknown event', frame.verb);
    }
  }

  /** Shows a join or leave at once; the next refresh confirms it. */
  function noteMembership(joined, room, nick, members) {
    const info = roomInfo(room);
    if (info && members !== undefined) info.online = Number(members);
    const user = app.users.find((u) => key(u.nick) === key(nick)) || { nick, rooms: [] };
    if (!app.users.includes(user)) app.users.push(user);
    user.rooms = user.rooms.filter((r) => r !== key(room));
    if (joined) user.rooms.push(key(room));
    renderSidebar();
    renderMembers();
  }

  /** The server put us in `room`. */
  function entered(room) {
    if (!app.caps.multiRoom) {
      app.joined.clear();
      // Whatever we were looking at in the old room goes with it.
      if (app.view.kind === 'room') app.view = { kind: 'room', name: room };
    }
    app.current = room;
    app.joined.add(key(room));
    conversation('room', room);
    renderConversation();
    refreshFiles();
  }

  /** We are out of `room`: show another room we are in, or the lobby. */
  function left(room) {
    app.joined.delete(key(room));
    const next = [...app.joined].map((k) => conversation('room', k).name)[0] || LOBBY;
    if (key(app.current) === key(room)) app.current = next;
    if (app.view.kind === 'room' && key(app.view.name) === key(room)) app.view = { kind: 'room', name: next };
    renderConversation();
  }

  // ------------------------------------------------------------ requests

  let refreshTimer = null;

  /** Refreshes rooms and people soon, once for a burst of changes. */
  function scheduleRefresh() {
    if (refreshTimer !== null) return;
    refreshTimer = setTimeout(() => {
      refreshTimer = null;
      refreshLists();
    }, REFRESH_DELAY_MS);
  }

  async function refreshLists() {
    if (!link.isOpen || !app.me) return;
    try {
      const [rooms, users, everyone] = await Promise.all([
        link.request('ROOMS', '/'), link.request('USERS', '/'), link.request('LIST-USERS', '/'),
      ]);
      if (rooms.status === 200) app.roomList = parseRooms(rooms.body);
      if (users.status === 200) app.users = parseUsers(users.body);
      if (everyone.status === 200) app.everyone = parseEveryone(everyone.body);
      renderSidebar();
      renderMembers();
      renderOwnerControls();
    } catch (e) {
      // Disconnected mid-way: the reconnect refreshes again.
    }
  }

  // These read the text bodies the server writes for people. A structured
  // reply would be sturdier; see the README's notes on the browser page.
  function parseRooms(body) {
    const rooms = [];
    for (const line of body.split('\n').slice(1)) {
      const m = /^\s+(\S+)\s+owner: (\S+)\s+(public|private)\s+(\d+) online$/.exec(line);
      if (m) rooms.push({ name: m[1], owner: m[2], private: m[3] === 'private', online: Number(m[4]) });
    }
    return rooms;
  }

  function parseUsers(body) {
    const users = [];
    for (const line of body.split('\n').slice(1)) {
      // `NICK in ROOM, ROOM` (or `in no room`, `in a private room`).
      const m = /^\s+(\S+) in (.+)$/.exec(line);
      if (m) users.push({ nick: m[1], rooms: m[2].split(', ').map(key) });
    }
    return users;
  }

  function parseEveryone(body) {
    const users = [];
    for (const line of body.split('\n').slice(1)) {
      const m = /^\s+(\S+)\s+(registered|guest)\s+(online|offline)$/.exec(line);
      if (m) users.push({ nick: m[1], kind: m[2], online: m[3] === 'online' });
    }
    return users;
  }

  function parseFiles(body) {
    const files = [];
    for (const line of body.split('\n').slice(1)) {
      const m = /^\s+id:(\d+) {2}(.*) {2}(\d+(?:\.\d)? (?:B|KiB|MiB|GiB|TiB)) {2}from (\S+) {2}(.*)$/.exec(line);
      if (m) files.push({ id: m[1], name: m[2], size: m[3], from: m[4], date: m[5] });
    }
    return files;
  }

  function showError(text) {
    $('composer-error').textContent = text;
  }

  /** Reply text for a refusal: the body, or the reason phrase. */
  function why(reply) {
    return reply.body || `${reply.status} ${reply.reason}`;
  }

  async function joinRoom(name) {
    try {
      const conv = conversation('room', name);
      const reply = await link.request('JOIN', `/rooms/${name}`);
      if (reply.status === 200 || reply.status === 409) show('room', name);
      else showError(why(reply));
    } catch (e) {
      showError('not connected');
    }
    scheduleRefresh();
  }

  async function sendMessage(text) {
    const conv = viewed();
    if (utf8.encode(text).length > app.maxBody) {
      showError(`That message is over ${app.maxBody} bytes; split it.`);
      return false;
    }
    showError('');
    // A room message waits at the bottom until its Seq places it; whispers
    // have no Seq and keep the order they were written in.
    const order = conv.kind === 'whisper' ? [++app.order, 0] : [Number.MAX_SAFE_INTEGER, ++conv.sub];
    const item = {
      order, pending: true, mine: true, text,
      node: messageNode({ from: app.me, date: new Date(), text, classes: `mine pending ${conv.kind === 'whisper' ? 'whisper' : ''}` }),
    };
    const state = el('span', 'state', 'sending...');
    item.node.append(state);
    insertItem(conv, item);
    await deliver(conv, item, state);
    return true;
  }

  async function deliver(conv, item, state) {
    let reply;
    try {
      reply = conv.kind === 'room'
        ? await link.request('SAY', `/rooms/${conv.name}`, {}, item.text)
        : await link.request('WHISPER', `/users/${conv.name}`, {}, item.text);
    } catch (e) {
      // Sent or not? The reconnect's history tells; until then it waits.
      item.lost = true;
      state.textContent = 'not confirmed: connection lost';
      setTimeout(() => offerResend(conv, item, state), 8000);
      return;
    }
    if (reply.status !== 200) {
      item.node.classList.add('failed');
      state.textContent = why(reply);
      return;
    }
    item.pending = false;
    item.node.classList.remove('pending');
    state.remove();
    const seq = Number(reply.headers.get('seq'));
    if (conv.kind === 'room' && seq) {
      removeItem(conv, item);
      if (conv.seqs.has(seq)) return;
      conv.seqs.add(seq);
      conv.maxSeq = Math.max(conv.maxSeq, seq);
      conv.minSeq = Math.min(conv.minSeq, seq);
      item.order = [seq, 0];
      item.seq = seq;
      insertItem(conv, item);
    }
  }

  /** A message whose fate is unknown after a drop: let the user send it again. */
  function offerResend(conv, item, state) {
    if (!conv.items.includes(item) || !item.pending) return;
    item.node.classList.add('failed');
    state.textContent = 'not sent. ';
    const again = el('button', 'link', 'Send again');
    again.type = 'button';
    again.addEventListener('click', () => {
      item.lost = false;
      item.node.classList.remove('failed');
      state.textContent = 'sending...';
      deliver(conv, item, state);
    });
    state.append(again);
  }

  /** Lines starting with / are commands, as in the terminal client. */
  async function command(line) {
    const [verb, ...rest] = line.slice(1).split(/\s+/);
    const arg = rest.join(' ');
    switch (verb.toLowerCase()) {
      case 'join':
        await joinRoom(arg);
        return true;
      case 'create':
        await createRoom(rest[0] || '', rest[1] === 'private');
        return true;
      case 'leave':
        await leaveRoom();
        return true;
      case 'w':
      case 'whisper':
      case 'msg': {
        if (!rest[0]) return false;
        show('whisper', rest[0]);
        const text = line.replace(/^\/\S+\s+\S+\s?/, '');
        if (text) await sendMessage(text);
        return true;
      }
      case 'nick':
        await changeNick(arg);
        return true;
      default:
        showError(`unknown command /${verb}; type //text to say a line starting with /`);
        return true;
    }
  }

  async function createRoom(name, isPrivate) {
    if (!name) return;
    const reply = await link.request('CREATE', `/rooms/${name}`, { Visibility: isPrivate ? 'private' : 'public' });
    if (reply.status === 200) show('room', name);
    else showError(why(reply));
    scheduleRefresh();
  }

  /** The room being looked at, which room requests name. */
  function viewedRoom() {
    return app.view.kind === 'room' ? app.view.name : app.current;
  }

  async function leaveRoom() {
    const room = viewedRoom();
    const reply = await link.request('LEAVE', `/rooms/${room}`);
    if (reply.status === 200) {
      left(room);
      if (!app.caps.multiRoom) show('room', LOBBY);
    } else {
      showError(why(reply));
    }
    scheduleRefresh();
  }

  async function changeNick(nick) {
    const reply = await link.request('NICK', `/users/${nick}`);
    if (reply.status === 200) {
      app.me = nick;
      $('me').textContent = nick;
      $('account-output').textContent = why(reply);
    } else {
      $('account-output').textContent = why(reply);
    }
    scheduleRefresh();
  }

  async function showPerson(nick) {
    document.querySelector('.chat').classList.add('show-details');
    $('person').hidden = false;
    $('person-name').textContent = nick;
    $('person-profile').textContent = '';
    $('person-whisper').hidden = nick === app.me;
    renderOwnerControls();
    try {
      const reply = await link.request('PROFILE', `/users/${nick}`);
      $('person-profile').textContent = why(reply);
    } catch (e) {
      $('person-profile').textContent = 'not connected';
    }
  }

  async function ownerRequest(verb, nick) {
    if (!nick) return;
    const reply = await link.request(verb, `/users/${nick}`, { Room: viewedRoom() });
    $('owner-output').textContent = why(reply);
    scheduleRefresh();
  }

  async function refreshWhoami() {
    const reply = await link.request('WHOAMI', '/');
    $('whoami').textContent = why(reply);
    app.registered = reply.headers.get('registered') === 'yes';
    $('register-form').hidden = app.registered;
    $('profile-form').hidden = !app.registered;
  }

  // ------------------------------------------------------------ history

  async function loadOlder() {
    const conv = viewed();
    if (conv.kind !== 'room' || app.caps.history === false || !conv.more || loadOlder.busy) return;
    loadOlder.busy = true;
    try {
      const reply = await link.request('HISTORY', `/rooms/${conv.name}`, {
        Before: Number.isFinite(conv.minSeq) ? conv.minSeq : undefined, Limit: HISTORY_PAGE,
      });
      if (reply.status === 200) {
        conv.more = reply.headers.get('more') === 'yes';
      } else if (reply.status === 400 || reply.status === 503) {
        // A server without (or not yet serving) HISTORY: entering a room
        // still brings its latest messages.
        app.caps.history = false;
      }
    } catch (e) {
      // Not connected: try again on the next scroll.
    } finally {
      loadOlder.busy = false;
    }
    renderOlder();
  }

  // ------------------------------------------------------------ files

  function formatSize(bytes) {
    const units = ['B', 'KiB', 'MiB', 'GiB'];
    let value = bytes;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit += 1;
    }
    return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
  }

  /** A download link for file `id`: an ordinary link carrying the token. */
  function fileLink(id, name) {
    const a = el('a', '', name);
    a.dataset.fileId = id;
    a.rel = 'noopener';
    app.fileLinks.add(a);
    setFileHref(a);
    return a;
  }

  function setFileHref(a) {
    if (app.token) {
      a.href = `/files/${encodeURIComponent(a.dataset.fileId)}?token=${encodeURIComponent(app.token)}`;
      a.title = 'download';
    } else {
      a.removeAttribute('href');
      a.title = app.caps.files === false
        ? `This server cannot send files to a browser yet: /get_file ${a.dataset.fileId} in the terminal client`
        : 'not connected';
    }
  }

  function updateFileLinks() {
    for (const a of app.fileLinks) {
      if (!a.isConnected && !a.closest('li')) app.fileLinks.delete(a);
      else setFileHref(a);
    }
  }

  function addFile(conv, file) {
    const li = el('li', 'msg file');
    const text = el('span', 'text');
    text.append(`shared `, fileLink(file.id, file.name), ` (${formatSize(file.size)}, file id ${file.id})`);
    const who = el('button', 'from', file.from);
    who.type = 'button';
    who.addEventListener('click', () => showPerson(file.from));
    li.append(el('time', '', formatTime(file.date)), who, text);
    insertItem(conv, { order: [conv.maxSeq, ++conv.sub], node: li });
    noteUnread(conv, false);
    if (conv === viewed()) refreshFiles();
  }

  async function refreshFiles() {
    if (!link.isOpen) return;
    const list = $('files');
    try {
      const reply = await link.request('FILES', `/rooms/${viewedRoom()}`);
      list.replaceChildren();
      const files = reply.status === 200 ? parseFiles(reply.body) : [];
      for (const f of files) {
        const li = el('li');
        li.append(fileLink(f.id, f.name), el('span', 'meta', ` ${f.size}, ${f.from}`));
        list.append(li);
      }
      $('files-note').textContent = files.length === 0 ? (reply.status === 200 ? 'No files shared here yet.' : why(reply)) : '';
    } catch (e) {
      // Not connected.
    }
  }

  /** A short-lived token for HTTP uploads and downloads, renewed while online. */
  async function refreshToken() {
    clearTimeout(app.tokenTimer);
    if (app.caps.files === false) return;
    try {
      const reply = await link.request('TOKEN', '/');
      if (reply.status === 400) {
        // A server that does not know TOKEN has no file endpoints.
        app.caps.files = false;
        app.token = null;
        $('upload-label').classList.add('disabled');
        $('upload-label').title = 'This server does not take uploads from a browser; use the terminal client\'s /send_file';
        $('upload-input').disabled = true;
      } else if (reply.status !== 200 || !reply.headers.get('token')) {
        // Refused for now (too fast, say): try again soon.
        app.token = null;
        app.tokenTimer = setTimeout(refreshToken, 30000);
      } else {
        app.caps.files = true;
        app.token = reply.headers.get('token');
        app.resume = reply.headers.get('resume') || app.resume;
        const seconds = Number(reply.headers.get('expires-in')) || 300;
        app.tokenTimer = setTimeout(refreshToken, Math.max(10, seconds / 2) * 1000);
      }
    } catch (e) {
      app.token = null;
    }
    updateFileLinks();
  }

  function upload(file) {
    const item = el('li');
    const bar = el('progress');
    bar.max = 1;
    bar.value = 0;
    const label = el('span', '', file.name);
    const status = el('span', 'hint', '');
    item.append(label, bar, status);
    $('uploads').append(item);
    const done = (text, failed) => {
      status.textContent = text;
      bar.hidden = true;
      if (failed) status.classList.add('error');
      setTimeout(() => item.remove(), failed ? 15000 : 4000);
    };
    if (!app.token) {
      done('file sharing from the browser is not available on this server', true);
      return;
    }
    if (app.maxFileSize && file.size > app.maxFileSize) {
      done(`too large: the limit is ${formatSize(app.maxFileSize)}`, true);
      return;
    }
    const room = viewedRoom();
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/files?room=${encodeURIComponent(room)}`);
    xhr.setRequestHeader('Authorization', `Bearer ${app.token}`);
    xhr.setRequestHeader('File-Name', encodeURIComponent(file.name));
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) bar.value = e.loaded / e.total;
    };
    xhr.onload = () => {
      if (xhr.status === 200 || xhr.status === 201) {
        done(`shared as file id ${xhr.getResponseHeader('File-Id') || '?'}`, false);
        refreshFiles();
      } else {
        done(xhr.responseText || `${xhr.status} ${xhr.statusText}`, true);
      }
    };
    xhr.onerror = () => done('upload failed: connection lost', true);
    xhr.send(file);
  }

  // ------------------------------------------------------------ session

  async function logIn(nick, password, register) {
    const error = $('login-error');
    error.textContent = '';
    $('login-button').disabled = true;
    $('register-button').disabled = true;
    try {
      if (register && !password) throw new Error('Choose a password to register with.');
      if (!link.isOpen) await link.open();
      const reply = await link.request('LOGIN', '/', { Nick: nick, Password: register ? undefined : password || undefined, Rooms: 'many' });
      if (reply.status !== 200) {
        error.textContent = why(reply);
        if (reply.status === 401) $('login-password').focus();
        if (reply.headers.get('connection') === 'close') link.close();
        return;
      }
      started(reply, nick, register ? null : password || null);
      if (register) {
        const r = await link.request('REGISTER', '/', { Password: password });
        if (r.status !== 200) {
          await logOut();
          error.textContent = why(r);
          return;
        }
        app.password = password;
      }
      await afterLogin(false);
    } catch (e) {
      error.textContent = e.message === 'cannot reach the server' ? 'Cannot reach the chat server.' : e.message;
    } finally {
      $('login-button').disabled = false;
      $('register-button').disabled = false;
    }
  }

  /** Logged in: remember who we are and what the server allows. */
  function started(reply, nick, password) {
    const h = reply.headers;
    app.me = h.get('nick') || nick;
    app.password = password;
    app.registered = h.get('registered') === 'yes';
    app.maxBody = Number(h.get('max-body')) || 4096;
    app.maxFileSize = Number(h.get('max-file-size')) || 0;
    // Asked for with `Rooms: many`; a server that says nothing keeps us
    // in one room at a time, and the page follows it.
    app.caps.multiRoom = h.get('rooms') === 'many';
    app.online = true;
    app.wantOnline = true;
    app.retries = 0;
    app.byeReason = '';
    $('me').textContent = app.me;
    $('login-view').hidden = true;
    $('chat-view').hidden = false;
    setConnection('online');
  }

  /**
   * Fetches what a room said after message `after` (the newest we had
   * before a drop), page by page: entering a room replays only its latest
   * messages, and a long drop may have missed more. Duplicates merge by Seq.
   */
  async function catchUp(conv, after) {
    const PAGES = 20;
    let from = after;
    for (let page = 0; page < PAGES && from > 0 && app.caps.history !== false; page += 1) {
      const reply = await link.request('HISTORY', `/rooms/${conv.name}`, { After: from, Limit: 500 });
      if (reply.status === 400 || reply.status === 503) app.caps.history = false;
      if (reply.status !== 200 || reply.headers.get('more-after') !== 'yes' || conv.maxSeq <= from) return;
      from = conv.maxSeq;
    }
  }

  async function afterLogin(reconnected, seen) {
    const wanted = [...app.joined].filter((r) => r !== key(LOBBY));
    const previous = app.view;
    const picks = app.viewPicks;
    if (!reconnected) app.joined = new Set([key(LOBBY)]);
    renderConversation();
    await Promise.all([refreshLists(), refreshWhoami(), refreshToken()]);
    if (reconnected) {
      // Back into the rooms we were in, then what they said meanwhile.
      for (const room of wanted) {
        const conv = conversation('room', roomInfo(room)?.name || room);
        await link.request('JOIN', `/rooms/${conv.name}`);
      }
      for (const room of app.joined) {
        const conv = conversation('room', roomInfo(room)?.name || room);
        await catchUp(conv, seen.get(conv.id) || 0);
      }
      if (app.viewPicks === picks) app.view = previous;
      renderConversation();
    }
    refreshFiles();
  }

  async function logOut() {
    app.wantOnline = false;
    try {
      await link.request('LOGOUT', '/');
    } catch (e) {
      // Already gone.
    }
    link.close();
    reset();
  }

  function reset() {
    clearTimeout(app.retryTimer);
    clearTimeout(app.tokenTimer);
    Object.assign(app, {
      me: null, password: null, online: false, wantOnline: false, current: LOBBY, joined: new Set([key(LOBBY)]),
      view: { kind: 'room', name: LOBBY }, conversations: new Map(), roomList: [], users: [], everyone: [],
      token: null, resume: null, mentions: 0, fileLinks: new Set(),
    });
    $('chat-view').hidden = true;
    $('login-view').hidden = false;
    $('messages').replaceChildren();
    document.title = 'chat';
    $('login-nick').focus();
  }

  function onDisconnect() {
    app.online = false;
    app.token = null;
    updateFileLinks();
    if (!app.wantOnline) return;
    if (app.byeReason && !/shutting down|restart/i.test(app.byeReason)) {
      setConnection(`disconnected: ${app.byeReason}`, true);
      app.wantOnline = false;
      offerReconnect();
      return;
    }
    scheduleReconnect();
  }

  function offerReconnect() {
    const conv = conversation('room', app.current);
    const item = systemLine(conv, 'You are disconnected. ');
    const again = el('button', 'link', 'Reconnect');
    again.type = 'button';
    again.addEventListener('click', () => {
      app.wantOnline = true;
      app.byeReason = '';
      removeItem(conv, item);
      reconnect();
    });
    item.node.append(again);
  }

  function scheduleReconnect() {
    clearTimeout(app.retryTimer);
    const base = RECONNECT_DELAYS_MS[Math.min(app.retries, RECONNECT_DELAYS_MS.length - 1)];
    const delay = base / 2 + Math.random() * base / 2;
    app.retries += 1;
    setConnection(`reconnecting in ${Math.ceil(delay / 1000)} s...`, true);
    app.retryTimer = setTimeout(reconnect, delay);
  }

  async function reconnect() {
    clearTimeout(app.retryTimer);
    if (!app.wantOnline || link.isOpen) return;
    setConnection('reconnecting...', true);
    // The newest message of each room before the drop: what to catch up from.
    const seen = new Map([...app.conversations.values()].map((c) => [c.id, c.maxSeq]));
    try {
      await link.open();
      // The resume token lets the server close our old session if it has
      // not noticed the drop yet, instead of refusing the nickname (409).
      const reply = await link.request('LOGIN', '/', {
        Nick: app.me, Password: app.password || undefined, Rooms: 'many', Resume: app.resume || undefined,
      });
      if (reply.status === 409) {
        // Someone else's now, or a server without takeover: try again later.
        link.close();
        scheduleReconnect();
        return;
      }
      if (reply.status !== 200) {
        const text = why(reply);
        link.close();
        reset();
        $('login-error').textContent = `Logged out: ${text}`;
        return;
      }
      started(reply, app.me, app.password);
      await afterLogin(true, seen);
    } catch (e) {
      if (app.wantOnline && !link.isOpen) scheduleReconnect();
    }
  }

  // ------------------------------------------------------------ wiring

  function wire() {
    $('login-form').addEventListener('submit', (e) => {
      e.preventDefault();
      logIn($('login-nick').value.trim(), $('login-password').value, false);
    });
    $('register-button').addEventListener('click', () => {
      logIn($('login-nick').value.trim(), $('login-password').value, true);
    });
    $('logout-button').addEventListener('click', logOut);

    const input = $('message-input');
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        $('composer').requestSubmit();
      }
    });
    input.addEventListener('input', () => {
      input.style.height = 'auto';
      input.style.height = `${Math.min(input.scrollHeight, 160)}px`;
    });
    $('composer').addEventListener('submit', async (e) => {
      e.preventDefault();
      const text = input.value;
      if (!text.trim()) return;
      input.value = '';
      input.style.height = 'auto';
      if (text.startsWith('/') && !text.startsWith('//')) {
        if (!(await command(text.trim()))) input.value = text;
        return;
      }
      await sendMessage(text.startsWith('//') ? text.slice(1) : text);
    });

    $('create-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const name = $('create-name').value.trim();
      $('create-name').value = '';
      createRoom(name, $('create-private').checked);
    });
    $('refresh-rooms').addEventListener('click', refreshLists);
    $('refresh-files').addEventListener('click', refreshFiles);
    $('leave-button').addEventListener('click', leaveRoom);
    $('close-button').addEventListener('click', () => {
      $('close-button').hidden = true;
      $('close-confirm').hidden = false;
      setTimeout(renderOwnerControls, 5000);
    });
    $('close-confirm').addEventListener('click', async () => {
      const reply = await link.request('CLOSE', `/rooms/${viewedRoom()}`);
      if (reply.status !== 200) showError(why(reply));
      scheduleRefresh();
    });

    $('person-whisper').addEventListener('click', () => show('whisper', $('person-name').textContent));
    for (const verb of ['ban', 'unban', 'permit', 'unpermit']) {
      $(`person-${verb}`).addEventListener('click', () => ownerRequest(verb.toUpperCase(), $('person-name').textContent));
    }
    $('owner-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const verb = e.submitter && e.submitter.dataset.verb;
      if (verb) ownerRequest(verb, $('owner-nick').value.trim());
    });
    $('show-bans').addEventListener('click', async () => {
      $('owner-output').textContent = why(await link.request('BANS', `/rooms/${viewedRoom()}`));
    });
    $('show-permits').addEventListener('click', async () => {
      $('owner-output').textContent = why(await link.request('PERMITS', `/rooms/${viewedRoom()}`));
    });

    $('register-form').addEventListener('submit', async (e) => {
      e.preventDefault();
      const password = $('register-password').value;
      const reply = await link.request('REGISTER', '/', { Password: password });
      $('account-output').textContent = why(reply);
      if (reply.status === 200) {
        app.password = password;
        $('register-password').value = '';
      }
      refreshWhoami();
    });
    $('profile-form').addEventListener('submit', async (e) => {
      e.preventDefault();
      const reply = await link.request('SET-PROFILE', `/profile/${$('profile-attr').value}`, {}, $('profile-value').value);
      $('account-output').textContent = why(reply);
      refreshWhoami();
    });
    $('nick-form').addEventListener('submit', (e) => {
      e.preventDefault();
      changeNick($('nick-input').value.trim());
    });

    const chat = document.querySelector('.chat');
    $('toggle-sidebar').addEventListener('click', () => {
      const open = chat.classList.toggle('show-sidebar');
      chat.classList.remove('show-details');
      $('toggle-sidebar').setAttribute('aria-expanded', String(open));
    });
    $('toggle-details').addEventListener('click', () => {
      const open = chat.classList.toggle('show-details');
      chat.classList.remove('show-sidebar');
      $('toggle-details').setAttribute('aria-expanded', String(open));
    });
    document.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') chat.classList.remove('show-sidebar', 'show-details');
    });

    $('older-button').addEventListener('click', loadOlder);
    $('messages').addEventListener('scroll', () => {
      if ($('messages').scrollTop < 30) loadOlder();
    });

    $('upload-input').addEventListener('change', () => {
      for (const file of $('upload-input').files) upload(file);
      $('upload-input').value = '';
    });
    const pane = $('conversation');
    let depth = 0;
    pane.addEventListener('dragenter', (e) => {
      if (!e.dataTransfer || ![...e.dataTransfer.types].includes('Files')) return;
      depth += 1;
      $('drop-hint').hidden = false;
    });
    pane.addEventListener('dragleave', () => {
      depth = Math.max(0, depth - 1);
      if (depth === 0) $('drop-hint').hidden = true;
    });
    pane.addEventListener('dragover', (e) => e.preventDefault());
    pane.addEventListener('drop', (e) => {
      e.preventDefault();
      depth = 0;
      $('drop-hint').hidden = true;
      for (const file of e.dataTransfer.files) upload(file);
    });

    document.addEventListener('visibilitychange', () => {
      if (!document.hidden && app.me) renderConversation();
    });
    window.addEventListener('focus', () => {
      if (app.me) renderConversation();
    });
    window.addEventListener('online', () => {
      if (app.wantOnline && !link.isOpen) reconnect();
    });
  }

  wire();
})();
