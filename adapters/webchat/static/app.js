// Gongdan web chat client. Plain ES2020, no build step.
// Trust boundary: card and form HTML come pre-escaped from the server (adapters/webchat/render.py)
// and are the only strings inserted as HTML; everything a person typed goes in with textContent.
(() => {
  'use strict';

  const STRINGS = {
    'zh-CN': {
      iam: '我是', rooms: '频道', send: '发送', new_ticket: '新建工单',
      hint: 'Enter 发送 · Shift+Enter 换行 · /new {type} 新建工单',
      placeholder: '发消息到 #{room}', placeholder_direct: '发消息给{bot}', reconnecting: '连接已断开，正在重新连接…',
      online: '已连接', offline: '未连接', connecting: '连接中…',
      help_desk: '服务台', default_type: '默认工单类型：{type}', today: '今天', yesterday: '昨天',
      empty: '这里还没有消息。说点什么，或点击“新建工单”。', loading: '加载中…',
      not_connected: '尚未连接到服务器，请稍候再试。', boot_failed: '无法加载网页聊天配置。',
      retry: '重试', submitted: '已提交', saved: '已保存', dismiss: '关闭', no_rooms: '没有可用的频道',
      composer_label: '消息', thread: '对话（{n}）', internal: '内部备注', via: '来自 {channel}',
      elsewhere: '其他渠道', menu: '菜单', upload_failed: '附件上传失败：{why}', uploading: '正在上传 {name}…',
    },
    en: {
      iam: 'I am', rooms: 'Rooms', send: 'Send', new_ticket: 'New ticket',
      hint: 'Enter to send · Shift+Enter for a new line · /new {type} opens a ticket',
      placeholder: 'Message #{room}', placeholder_direct: 'Message {bot}', reconnecting: 'Connection lost, reconnecting…',
      online: 'Connected', offline: 'Offline', connecting: 'Connecting…',
      help_desk: 'Help desk', default_type: 'Default ticket type: {type}', today: 'Today', yesterday: 'Yesterday',
      empty: 'No messages yet. Say something, or press “New ticket”.', loading: 'Loading…',
      not_connected: 'Not connected to the server yet, please try again in a moment.',
      boot_failed: 'Could not load the web chat configuration.',
      retry: 'Retry', submitted: 'Submitted', saved: 'Saved', dismiss: 'Dismiss', no_rooms: 'No rooms available',
      composer_label: 'Message', thread: 'Conversation ({n})', internal: 'Internal note', via: 'via {channel}',
      elsewhere: 'another channel', menu: 'Menu', upload_failed: 'Could not attach the file: {why}', uploading: 'Uploading {name}…',
    },
  };
  const KEY = { person: 'gongdan.person', room: 'gongdan.room', locale: 'gongdan.locale' };
  const GROUP_MS = 5 * 60 * 1000;
  // where a comment was written, by the channel's id (a restored thread carries every one)
  const CHANNELS = {
    webchat: { 'zh-CN': '网页聊天', en: 'web chat' }, slack: 'Slack', email: { 'zh-CN': '邮件', en: 'email' },
    dingtalk: { 'zh-CN': '钉钉', en: 'DingTalk' }, wecom: { 'zh-CN': '企业微信', en: 'WeCom' },
    api: { 'zh-CN': 'REST 接口', en: 'the REST API' },
  };
  const BUSY_TIMEOUT_MS = 20000;

  const state = {
    boot: null, person: null, room: null, locale: 'zh-CN',
    ws: null, retry: 0, retryTimer: null,
    pending: new Map(), // client_id -> {kind, ticket?, el?, timer?}
    writing: new Map(), // client_id of a comment sent from a card -> {input, node}: its box empties once it is taken
    unread: new Map(),
    asked: null, // a link's ?ticket=KEY or ?new=TYPE, said in the person's direct room once there
  };
  const items = new WeakMap(); // message element -> what it was drawn from, for locale redraws

  const $ = (id) => document.getElementById(id);
  const store = {
    get(k) { try { return localStorage.getItem(k); } catch { return null; } },
    set(k, v) { try { localStorage.setItem(k, v); } catch { /* private mode: not remembered */ } },
  };

  function tr(key, vars = {}) {
    const text = (STRINGS[state.locale] || STRINGS['zh-CN'])[key] || key;
    return text.replace(/\{(\w+)\}/g, (_, k) => (k in vars ? String(vars[k]) : ''));
  }
  function pick(pair) {
    if (pair == null) return '';
    if (typeof pair === 'string') return pair;
    return pair[state.locale] ?? pair['zh-CN'] ?? pair.en ?? '';
  }
  function newId() {
    const b = crypto.getRandomValues(new Uint8Array(12));
    return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  }
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }
  // Each person also has a direct room ("dm:<person id>"): reminders and escalations land there.
  const dmRoom = () => (state.person ? {
    id: `dm:${state.person}`, name: { 'zh-CN': '私信', en: 'Direct messages' },
    help_desk: false, ticket_type: state.boot?.rooms?.[0]?.ticket_type, direct: true,
  } : null);
  const allRooms = () => [...(state.boot?.rooms || []), ...(state.person ? [dmRoom()] : [])];
  const roomById = (id) => allRooms().find((r) => r.id === id);
  const personById = (id) => (state.boot?.people || []).find((p) => p.id === id);
  const typeById = (id) => (state.boot?.types || []).find((t) => t.id === id);
  // Times show in the viewer's zone: the person's configured one, else the browser's.
  const zone = () => personById(state.person)?.timezone || undefined;
  function timeText(d, opts) {
    try { return d.toLocaleString(state.locale, { ...opts, timeZone: zone() }); } catch { return d.toLocaleString(state.locale, opts); }
  }
  function wallClock(d) {
    const parts = {};
    const fmt = new Intl.DateTimeFormat('en-CA', {
      year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone: zone(),
    });
    for (const p of fmt.formatToParts(d)) parts[p.type] = p.value;
    const name = zone() || Intl.DateTimeFormat().resolvedOptions().timeZone;
    return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute} (${name})`;
  }
  function localTimes(root) {
    for (const t of root.querySelectorAll('time[data-local]')) {
      const d = new Date(t.getAttribute('datetime'));
      if (!Number.isNaN(d.getTime())) t.textContent = wallClock(d);
    }
  }

  // ------------------------------------------------------------------ chrome

  function paintChrome() {
    document.documentElement.lang = state.locale;
    for (const node of document.querySelectorAll('[data-i18n]')) node.textContent = tr(node.dataset.i18n);
    $('sidebar-toggle').setAttribute('aria-label', tr('menu'));
    for (const b of document.querySelectorAll('.lang__btn')) {
      b.setAttribute('aria-pressed', String(b.dataset.locale === state.locale));
    }
    if (!state.boot) return;
    const service = state.boot.service?.name || 'Gongdan';
    $('service-name').textContent = service;
    const picker = $('person');
    picker.replaceChildren(...state.boot.people.map((p) => {
      const o = el('option', null, pick(p.name));
      o.value = p.id;
      return o;
    }));
    picker.value = state.person || '';
    paintRooms();
    const room = roomById(state.room);
    const roomName = room ? pick(room.name) : '';
    const prefix = room?.direct ? '' : '# ';
    $('room-title').textContent = room ? `${prefix}${roomName}` : tr('no_rooms');
    document.title = room ? `${prefix}${roomName} · ${service}` : service;
    const type = room && typeById(room.ticket_type);
    $('room-sub').textContent = room?.help_desk
      ? `${tr('help_desk')} · ${tr('default_type', { type: type ? pick(type.name) : room.ticket_type })}`
      : '';
    // a direct room is a conversation with the bot, not a channel: no '#'
    const bot = pick(state.boot.bot?.name) || 'Gongdan';
    $('composer-input').placeholder = room?.direct
      ? tr('placeholder_direct', { bot })
      : tr('placeholder', { room: roomName });
    // the example command opens this room's own type
    const example = room?.ticket_type || state.boot.types?.[0]?.id || 'it';
    $('composer-hint').textContent = tr('hint', { type: example });
    paintConn();
  }

  function paintRooms() {
    $('rooms').replaceChildren(...allRooms().map((r) => {
      const li = el('li');
      const b = el('button', 'room');
      b.type = 'button';
      b.dataset.room = r.id;
      b.dataset.testid = `room-${r.id}`;
      if (r.id === state.room) b.setAttribute('aria-current', 'true');
      b.append(el('span', 'room__hash', r.direct ? '✉' : r.help_desk ? '✦' : '#'), el('span', 'room__name', pick(r.name)));
      if (r.help_desk) b.append(el('span', 'room__tag', tr('help_desk')));
      const n = state.unread.get(r.id);
      if (n) b.append(el('span', 'room__unread', n > 99 ? '99+' : String(n)));
      li.append(b);
      return li;
    }));
  }

  function paintConn() {
    const s = state.ws?.readyState === WebSocket.OPEN ? 'online' : state.ws ? 'connecting' : 'offline';
    const node = $('conn-state');
    node.dataset.state = s;
    node.textContent = tr(s);
  }

  function setLocale(locale, remember) {
    state.locale = locale === 'en' ? 'en' : 'zh-CN';
    if (remember) store.set(KEY.locale, state.locale);
    paintChrome();
    for (const node of $('messages').children) redraw(node);
    for (const node of $('toasts').children) redraw(node);
  }

  // ------------------------------------------------------------------ message list

  function dayLabel(d) {
    const today = new Date();
    const y = new Date(today);
    y.setDate(today.getDate() - 1);
    if (d.toDateString() === today.toDateString()) return tr('today');
    if (d.toDateString() === y.toDateString()) return tr('yesterday');
    return d.toLocaleDateString(state.locale, { year: 'numeric', month: 'long', day: 'numeric', weekday: 'short' });
  }

  function shell(kind, data, author, at, isBot) {
    const node = el('div', `msg msg--${kind}${isBot ? ' msg--bot' : ''}`);
    const when = at ? new Date(at) : new Date();
    node.dataset.author = author?.id || (isBot ? 'bot' : '');
    node.dataset.at = String(when.getTime());
    if (data.id) node.dataset.id = data.id;
    const avatar = el('div', 'msg__avatar', isBot ? '工' : '?');
    avatar.setAttribute('aria-hidden', 'true');
    if (!isBot) avatar.style.setProperty('--hue', String(hue(author?.id || '')));
    const meta = el('div', 'msg__meta');
    meta.append(el('span', 'msg__author'), el('time', 'msg__time'));
    if (isBot) meta.append(el('span', 'msg__badge', 'BOT'));
    const body = el('div', 'msg__body');
    const main = el('div', 'msg__main');
    main.append(meta, body);
    node.append(avatar, main);
    return { node, body, when };
  }

  function hue(id) {
    let h = 0;
    for (const ch of id) h = (h * 31 + ch.codePointAt(0)) % 360;
    return h;
  }

  function build(m) {
    const isCard = m.type === 'card' || (m.type == null && m.html && m.ticket);
    if (m.type === 'form') {
      const { node, when } = shell('form', m, null, m.at, true);
      items.set(node, { kind: 'form', data: { ...m, room: m.room || state.room }, when });
      return node;
    }
    if (isCard) {
      const { node, when } = shell('card', m, null, m.at, true);
      node.dataset.cardTicket = m.ticket;
      node.dataset.cardKind = m.kind || 'ticket';
      items.set(node, { kind: 'card', data: { html: m.html, version: Number(m.version) || 0, thread: m.thread || [] }, when });
      return node;
    }
    const { node, body, when } = shell('message', m, m.author, m.at, Boolean(m.bot));
    body.append(el('p', 'msg__text'));
    items.set(node, { kind: 'message', data: m, when });
    return node;
  }

  // Draws everything locale-dependent in one message; safe to call again on a locale switch.
  function redraw(node) {
    const item = items.get(node);
    if (!item) return;
    if (item.kind === 'day') { node.firstChild.textContent = dayLabel(item.when); return; }
    if (item.kind === 'notice') { node.querySelector('.notice__text').textContent = pick(item.data.text); return; }
    const author = node.querySelector('.msg__author');
    const human = item.kind === 'message' && !item.data.bot;
    if (author) author.textContent = human ? pick(item.data.author?.name) : botName(item);
    const avatar = node.querySelector('.msg__avatar');
    if (avatar && human) avatar.textContent = Array.from(pick(item.data.author?.name) || '?')[0];
    const time = node.querySelector('.msg__time');
    if (time) {
      time.dateTime = item.when.toISOString();
      time.textContent = timeText(item.when, { hour: '2-digit', minute: '2-digit' });
      time.title = timeText(item.when, {});
    }
    const body = node.querySelector('.msg__body');
    // a bot's line comes in both languages (a notice in a direct room, a team line): the page's
    if (item.kind === 'message') body.firstChild.textContent = (item.data.bot && item.data.texts ? pick(item.data.texts) : item.data.text) ?? '';
    else if (item.kind === 'card') paintCard(node, item);
    else if (item.kind === 'form') paintForm(node, item);
  }

  // The card (server html) and its conversation under it (drawn here, all of it as text).
  // A redraw (a live change, a comment arriving) keeps what the viewer was doing in it: a
  // half-written comment, the internal-note tick and the keyboard focus.
  function paintCard(node, item) {
    const body = node.querySelector('.msg__body');
    const wasOpen = body.querySelector('.thread')?.open;
    const drafts = [...body.querySelectorAll('.card form[data-action] input[name]')]
      .map((c) => [controlKey(c), c.type === 'checkbox' ? c.checked : c.value]);
    const focus = body.contains(document.activeElement) ? controlKey(document.activeElement) : null;
    body.innerHTML = pick(item.data.html);
    localTimes(body);
    for (const [key, value] of drafts) {
      const c = body.querySelector(key);
      if (c?.type === 'checkbox') c.checked = value; else if (c) c.value = value;
    }
    paintThread(body, item, wasOpen);
    if (focus) item.focus = focus;
    refocus(node);
  }

  // A control's place in a card, the same in every render of it: how focus and drafts find it again.
  function controlKey(c) {
    const form = c.closest('form[data-action]');
    const own = c.dataset.action ? `[data-action="${CSS.escape(c.dataset.action)}"]`
      : c.name ? `[name="${CSS.escape(c.name)}"]`
        : c.hasAttribute('data-edit') ? '[data-edit]'
          : c.hasAttribute('data-attach') ? '[data-attach]'
            : c.type ? `[type="${CSS.escape(c.type)}"]` : '';
    const scope = form ? `form[data-action="${CSS.escape(form.dataset.action)}"] ` : '';
    return `${scope}${c.tagName.toLowerCase()}${own}`;
  }

  // Gives the focus back to the control of this card it was on (or was pressed with) when the
  // card's redraw or a busy wait took it away. When that control is gone (Accept, once accepted)
  // the card itself takes it: Tab goes on from there, and a held Enter cannot press the next
  // step (Start, then Resolve) by itself.
  function refocus(node) {
    const item = items.get(node);
    if (!item?.focus) return;
    const active = document.activeElement;
    if (active && active !== document.body && !node.contains(active)) { item.focus = null; return; } // moved on
    const body = node.querySelector('.msg__body');
    let target = body.querySelector(item.focus);
    if (target?.disabled) return; // busy: the answer redraws or frees it
    item.focus = null;
    if (!target) {
      target = body.querySelector('.card');
      target?.setAttribute('tabindex', '-1');
    }
    if (target && target !== active) target.focus({ preventScroll: true });
  }

  function paintThread(body, item, wasOpen) {
    const thread = item.data.thread || [];
    if (!thread.length) return;
    const box = el('details', 'thread');
    box.dataset.testid = 'thread';
    box.open = wasOpen ?? item.threadOpen ?? false;
    box.addEventListener('toggle', () => { item.threadOpen = box.open; });
    box.append(el('summary', 'thread__summary', tr('thread', { n: thread.length })));
    const list = el('ol', 'thread__list');
    for (const c of thread) list.append(commentNode(c));
    box.append(list);
    body.append(box);
  }

  function commentNode(c) {
    const li = el('li', `comment${c.internal ? ' comment--internal' : ''}`);
    li.dataset.id = c.id;
    const meta = el('div', 'comment__meta');
    meta.append(el('span', 'comment__author', pick(c.author?.name) || '?'));
    const when = new Date(c.at);
    const t = el('time', 'comment__time', timeText(when, { month: 'numeric', day: 'numeric', hour: '2-digit', minute: '2-digit' }));
    t.dateTime = c.at;
    meta.append(t);
    const via = c.channel ? pick(CHANNELS[c.channel] || c.channel) : tr('elsewhere');
    meta.append(el('span', 'comment__via', tr('via', { channel: via })));
    if (c.internal) meta.append(el('span', 'comment__internal', tr('internal')));
    li.append(meta);
    if (c.body) li.append(el('p', 'comment__body', c.body));
    for (const f of c.attachments || []) li.append(fileNode(f));
    return li;
  }

  // A file in a thread: a download link (the server checks this person may see the ticket),
  // and a small preview for images.
  function fileNode(f) {
    const url = `/webchat/attachments/${encodeURIComponent(f.id)}?person=${encodeURIComponent(state.person || '')}`;
    const box = el('div', 'comment__file');
    if (/^image\//.test(f.content_type || '')) {
      const img = el('img', 'comment__image');
      img.src = url;
      img.alt = f.name;
      img.loading = 'lazy';
      const frame = el('div', 'comment__preview'); // a line of its own; the image keeps its size
      frame.append(img);
      box.append(frame);
    }
    const a = el('a', 'comment__download', `📎 ${f.name}`);
    a.href = url;
    a.download = f.name;
    a.dataset.testid = 'attachment';
    box.append(a, el('span', 'comment__size', sizeText(f.size)));
    return box;
  }

  function sizeText(n) {
    if (n >= 1048576) return `${(n / 1048576).toFixed(1)} MB`;
    if (n >= 1024) return `${Math.round(n / 1024)} KB`;
    return `${n} B`;
  }

  async function upload(ticket, files) {
    for (const file of files) {
      const q = new URLSearchParams({ person: state.person || '', name: file.name || 'pasted.png', client_id: newId() });
      const busy = notice({ 'zh-CN': STRINGS['zh-CN'].uploading.replace('{name}', file.name), en: STRINGS.en.uploading.replace('{name}', file.name) });
      let res;
      try {
        res = await fetch(`/webchat/tickets/${encodeURIComponent(ticket)}/attachments?${q}`, {
          method: 'POST', body: file, headers: { 'Content-Type': file.type || 'application/octet-stream' },
        });
      } catch (err) {
        busy.remove();
        notice({ 'zh-CN': STRINGS['zh-CN'].upload_failed.replace('{why}', String(err)), en: STRINGS.en.upload_failed.replace('{why}', String(err)) }, 'error');
        continue;
      }
      busy.remove();
      if (res.ok) continue; // the file joins the card's thread over the socket
      let why = { en: `HTTP ${res.status}`, 'zh-CN': `HTTP ${res.status}` };
      try { why = (await res.json()).error || why; } catch { /* not JSON: keep the status */ }
      if (res.status === 413 && !why.en.startsWith('file')) why = { en: 'file: too large', 'zh-CN': 'file：文件过大' };
      notice({ 'zh-CN': STRINGS['zh-CN'].upload_failed.replace('{why}', why['zh-CN']), en: STRINGS.en.upload_failed.replace('{why}', why.en) }, 'error');
    }
  }

  // A comment sent from a card was taken (its ack, or its entry in the thread, whichever comes
  // first): its box is emptied, in whichever render of the card shows now. A refused one keeps it.
  function written(clientId) {
    const w = state.writing.get(clientId);
    if (!w) return;
    state.writing.delete(clientId);
    const field = w.input.isConnected ? w.input : w.node?.querySelector(controlKey(w.input));
    field?.form?.reset();
  }

  function onComment(m) {
    if (String(m.comment?.id).startsWith('w-')) written(m.comment.id.slice(2));
    const list = $('messages');
    const stick = nearBottom(list); // a thread growing at the bottom keeps the newest line in view
    for (const node of cardNodes(m.ticket)) {
      const item = items.get(node);
      const thread = item.data.thread || (item.data.thread = []);
      if (thread.some((c) => c.id === m.comment.id)) continue;
      thread.push(m.comment);
      item.threadOpen = true;
      redraw(node);
    }
    if (stick) list.scrollTop = list.scrollHeight;
  }

  function botName(item) {
    return pick(item.data.author?.name) || pick(state.boot?.bot?.name) || 'Gongdan';
  }

  function paintForm(node, item) {
    const body = node.querySelector('.msg__body');
    if (item.done) {
      // an edit form saved changes to a ticket; a new-ticket form submitted one
      const said = tr(item.edit ? 'saved' : 'submitted');
      body.replaceChildren(el('p', 'form-done', `✓ ${said}${item.done === true ? '' : ` · ${item.done}`}`));
      return;
    }
    const kept = body.querySelector('form') ? formValues(body.querySelector('form')) : null;
    body.innerHTML = pick(item.data.html);
    const form = body.querySelector('form');
    if (form && kept) restoreValues(form, kept);
  }

  function nearBottom(list) {
    return list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  }

  function append(m, { force = false } = {}) {
    const list = $('messages');
    if (m.id && list.querySelector(`[data-id="${CSS.escape(m.id)}"]`)) return null;
    list.querySelector('.messages__empty')?.remove();
    const stick = force || nearBottom(list);
    const node = build(m);
    const item = items.get(node);
    const last = [...list.children].reverse().find((n) => n.classList.contains('msg'));
    const lastItem = last && items.get(last);
    if (!lastItem || lastItem.when.toDateString() !== item.when.toDateString()) {
      const day = el('div', 'day');
      day.append(el('span'));
      items.set(day, { kind: 'day', when: item.when });
      list.append(day);
      redraw(day);
    } else if (last.dataset.author === node.dataset.author && item.kind === 'message' && lastItem.kind === 'message'
        && item.when - lastItem.when < GROUP_MS) {
      node.classList.add('msg--cont');
    }
    list.append(node);
    redraw(node);
    if (stick) list.scrollTop = list.scrollHeight;
    return node;
  }

  // A placeholder in the message list; data-i18n lets a language switch redraw it.
  function showEmpty(key) {
    const p = el('p', 'messages__empty', tr(key));
    p.dataset.i18n = key;
    $('messages').replaceChildren(p);
  }

  // ------------------------------------------------------------------ cards & forms

  const cardNodes = (ticket) => [...$('messages').querySelectorAll('.msg--card')]
    .filter((n) => n.dataset.cardTicket === ticket);

  function setBusy(ticket, busy) {
    for (const node of cardNodes(ticket)) {
      const card = node.querySelector('.card');
      if (!card) continue;
      card.classList.toggle('card--busy', busy);
      card.setAttribute('aria-busy', String(busy));
      for (const c of card.querySelectorAll('button, select, input')) c.disabled = busy;
      if (!busy) {
        for (const s of card.querySelectorAll('select')) s.value = '';
        refocus(node);
      }
    }
  }

  function settle(clientId, ticket) {
    const p = state.pending.get(clientId);
    if (p) {
      clearTimeout(p.timer);
      state.pending.delete(clientId);
    }
    const t = ticket || p?.ticket;
    if (p?.kind === 'action' && t) setBusy(t, false);
    if (p?.kind === 'form') setFormBusy(p.el, false);
    return p;
  }

  function track(clientId, entry) {
    entry.timer = setTimeout(() => settle(clientId), BUSY_TIMEOUT_MS);
    state.pending.set(clientId, entry);
  }

  function sendAction(card, action, value, input, internal = false) {
    const ticket = card.dataset.ticket;
    const clientId = newId();
    const msg = { type: 'action', room: state.room, ticket, action, version: Number(card.dataset.version), client_id: clientId };
    if (value !== undefined) msg.value = value;
    if (internal) msg.internal = true;
    const node = card.closest('.msg--card');
    if (node && card.contains(document.activeElement)) items.get(node).focus = controlKey(document.activeElement);
    if (!send(msg)) {
      const select = card.querySelector(`select[data-action="${action}"]`);
      if (select) select.value = '';
      return;
    }
    track(clientId, { kind: 'action', ticket });
    if (input) state.writing.set(clientId, { input, node });
    setBusy(ticket, true);
  }

  // A ticket's card: every copy of it in the room. A reminder or escalation: that card alone
  // (each says its own thing about the ticket; neither becomes the other).
  const updatedNodes = (m) => (m.kind && m.kind !== 'ticket'
    ? cardNodes(m.ticket).filter((n) => n.dataset.id === m.id)
    : cardNodes(m.ticket).filter((n) => (n.dataset.cardKind || 'ticket') === 'ticket'));

  function onCardUpdate(m) {
    const list = $('messages');
    const stick = nearBottom(list);
    for (const node of updatedNodes(m)) {
      const item = items.get(node);
      if (item.data.version > Number(m.version)) continue;
      item.data = { html: m.html, version: Number(m.version), thread: m.thread || item.data.thread };
      redraw(node);
    }
    if (stick) list.scrollTop = list.scrollHeight;
    for (const [cid, p] of state.pending) if (p.ticket === m.ticket) settle(cid);
    setBusy(m.ticket, false);
  }

  function formValues(form) {
    const out = [];
    for (const c of form.querySelectorAll('input, select, textarea')) {
      if (!c.name) continue;
      out.push(c.type === 'checkbox' ? [c.name, c.value, c.checked] : [c.name, null, c.value]);
    }
    return out;
  }

  function restoreValues(form, kept) {
    for (const [name, value, v] of kept) {
      const sel = value == null ? `[name="${CSS.escape(name)}"]` : `[name="${CSS.escape(name)}"][value="${CSS.escape(value)}"]`;
      const c = form.querySelector(sel);
      if (!c) continue;
      if (c.type === 'checkbox') c.checked = v; else c.value = v;
    }
  }

  function collectForm(form) {
    const fields = {};
    for (const row of form.querySelectorAll('[data-field]')) {
      const name = row.dataset.field;
      const kind = row.dataset.kind;
      if (['title', 'description', 'priority', 'type'].includes(name) || kind === 'attachment') continue;
      if (kind === 'multi_select') {
        const chosen = [...row.querySelectorAll('input[type=checkbox]:checked')].map((c) => c.value);
        if (chosen.length) fields[name] = chosen;
        continue;
      }
      const c = row.querySelector('[name]');
      const v = c ? c.value.trim() : '';
      if (v) fields[name] = v;
    }
    return {
      title: (form.elements.title?.value || '').trim(),
      description: (form.elements.description?.value || '').trim(),
      fields,
    };
  }

  function setFormBusy(node, busy) {
    const form = node?.querySelector('form');
    if (!form) return;
    form.classList.toggle('ticket-form--busy', busy);
    form.setAttribute('aria-busy', String(busy));
    for (const b of form.querySelectorAll('button')) b.disabled = busy;
  }

  function submitForm(form) {
    const node = form.closest('.msg--form');
    const item = items.get(node);
    const clientId = newId();
    const msg = form.dataset.edit
      ? {
        type: 'submit_edit', room: state.room, ticket: form.dataset.edit, version: Number(form.dataset.version),
        ticket_type: form.elements.type?.value || form.dataset.type, priority: form.elements.priority?.value || '',
        client_id: clientId, ...collectForm(form),
      }
      : { type: 'submit_form', room: state.room, ticket_type: form.dataset.type || item.data.ticket_type, client_id: clientId, ...collectForm(form) };
    if (!send(msg)) return;
    item.data.client_id = clientId;
    item.edit = Boolean(form.dataset.edit);
    node.dataset.clientId = clientId;
    track(clientId, { kind: 'form', el: node });
    setFormBusy(node, true);
  }

  function formByClientId(clientId) {
    return [...$('messages').querySelectorAll('.msg--form')].find((n) => items.get(n).data.client_id === clientId);
  }

  // Where a form wants the keyboard: its first required field still empty (the location a
  // message's form lacks, the title of a blank one), else its first field.
  function firstToFill(node) {
    const form = node?.querySelector('form');
    if (!form) return null;
    return [...form.querySelectorAll('input[required], select[required], textarea[required]')].find((c) => !c.value)
      || form.querySelector('input:not([type=hidden]), textarea');
  }

  function onFormErrors(m) {
    const node = formByClientId(m.client_id);
    settle(m.client_id);
    if (!node) return;
    const item = items.get(node);
    item.data.html = m.html;
    node.querySelector('.msg__body').replaceChildren(); // the server's re-render carries the values
    redraw(node);
    node.querySelector('.form-row--error input, .form-row--error select, .form-row--error textarea')?.focus();
  }

  function onAck(m) {
    const p = settle(m.client_id, m.ticket);
    written(m.client_id);
    if (p?.kind === 'form' && p.el) {
      const item = items.get(p.el);
      item.done = m.ticket || true;
      redraw(p.el);
      // the form is gone: the keyboard goes on from the composer, not from the top of the page
      if (!document.activeElement || document.activeElement === document.body) $('composer-input').focus();
    }
  }

  // ------------------------------------------------------------------ notices

  const MAX_TOASTS = 3;

  function notice(text, level = 'info') {
    const node = el('div', `notice notice--${level === 'error' ? 'error' : 'info'}`);
    node.setAttribute('role', level === 'error' ? 'alert' : 'status');
    node.dataset.testid = 'notice';
    const close = el('button', 'notice__close', '×');
    close.type = 'button';
    close.setAttribute('aria-label', tr('dismiss'));
    close.addEventListener('click', () => node.remove());
    node.append(el('span', 'notice__text'), close);
    items.set(node, { kind: 'notice', data: { text } });
    redraw(node);
    const toasts = $('toasts');
    toasts.append(node);
    // a few at a time: a burst of answers must not cover the cards and the composer
    while (toasts.childElementCount > MAX_TOASTS) toasts.firstElementChild.remove();
    setTimeout(() => node.remove(), level === 'error' ? 10000 : 6000);
    return node;
  }

  // ------------------------------------------------------------------ socket

  function send(msg) {
    if (state.ws?.readyState !== WebSocket.OPEN) {
      notice({ 'zh-CN': STRINGS['zh-CN'].not_connected, en: STRINGS.en.not_connected }, 'error');
      return false;
    }
    state.ws.send(JSON.stringify(msg));
    return true;
  }

  function hello() {
    if (state.ws?.readyState === WebSocket.OPEN && state.person && state.room) {
      state.ws.send(JSON.stringify({ type: 'hello', person: state.person, room: state.room }));
    }
  }

  function connect() {
    clearTimeout(state.retryTimer);
    state.retryTimer = null;
    const scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
    let ws;
    try {
      ws = new WebSocket(`${scheme}${location.host}/webchat/ws`);
    } catch {
      reconnectLater();
      return;
    }
    state.ws = ws;
    paintConn();
    ws.addEventListener('open', () => {
      state.retry = 0;
      $('reconnecting').hidden = true;
      paintConn();
      // Answers to anything sent on the old socket are lost with it.
      for (const cid of [...state.pending.keys()]) settle(cid);
      state.writing.clear();
      hello();
    });
    ws.addEventListener('message', (ev) => {
      let m;
      try { m = JSON.parse(ev.data); } catch { return; }
      if (m && typeof m === 'object') dispatch(m);
    });
    ws.addEventListener('close', () => {
      if (state.ws !== ws) return;
      state.ws = null;
      $('reconnecting').hidden = false;
      paintConn();
      reconnectLater();
    });
  }

  function reconnectLater() {
    if (state.retryTimer) return;
    const delay = Math.min(15000, 500 * 2 ** state.retry) * (0.75 + Math.random() * 0.5);
    state.retry = Math.min(state.retry + 1, 10);
    state.retryTimer = setTimeout(connect, delay);
  }

  const inRoom = (m) => !m.room || m.room === state.room;

  function bump(room) {
    state.unread.set(room, (state.unread.get(room) || 0) + 1);
    paintRooms();
  }

  function dispatch(m) {
    switch (m.type) {
      case 'history': {
        if (!inRoom(m)) return;
        sayAsked();
        // Keep forms someone is still filling in: history does not carry them.
        const open = [...$('messages').querySelectorAll('.msg--form')]
          .filter((n) => !items.get(n).done && items.get(n).data.room === state.room);
        $('messages').replaceChildren();
        for (const x of m.messages || []) append(x);
        for (const n of open) $('messages').append(n);
        if (!$('messages').children.length) showEmpty('empty');
        $('messages').scrollTop = $('messages').scrollHeight;
        return;
      }
      case 'message':
      case 'card':
        if (inRoom(m)) append(m, { force: m.author?.id === state.person });
        else bump(m.room);
        return;
      case 'card_update':
        if (inRoom(m)) onCardUpdate(m);
        return;
      case 'comment':
        if (inRoom(m)) onComment(m);
        return;
      case 'form': {
        const retyped = m.client_id && state.pending.get(m.client_id);
        if (retyped?.kind === 'retype') { // the same edit form, now for the type just chosen
          settle(m.client_id);
          const item = items.get(retyped.el);
          item.data = { ...item.data, html: m.html, ticket_type: m.ticket_type };
          redraw(retyped.el);
          return;
        }
        if (m.client_id) settle(m.client_id);
        if (inRoom(m)) firstToFill(append({ ...m, id: null }, { force: true }))?.focus();
        return;
      }
      case 'form_errors':
        onFormErrors(m);
        return;
      case 'notice':
        if (m.client_id) settle(m.client_id);
        if (m.client_id && m.level === 'error') state.writing.delete(m.client_id);
        notice(m.text, m.level);
        return;
      case 'ack':
        onAck(m);
        return;
      default:
        // Unknown frames come from a newer server; ignoring them keeps old pages working.
    }
  }

  // ------------------------------------------------------------------ input

  function say(text) {
    const clean = text.trim();
    if (!clean) return false;
    const clientId = newId();
    if (!send({ type: 'say', room: state.room, text: clean, client_id: clientId })) return false;
    track(clientId, { kind: 'say' });
    return true;
  }

  // Links from other channels (DingTalk's cards, DingTalk's and WeCom's /new) open the web chat with
  // ?ticket=IT-1001 (show that ticket's card) or ?new=purchase (its form): said once, as the
  // person would type it, in their direct room, then dropped from the address bar.
  function linkAsked() {
    const q = new URLSearchParams(window.location.search);
    const ticket = q.get('ticket') || '';
    const type = q.get('new') || '';
    if (/^[A-Za-z][A-Za-z0-9]*-\d+$/.test(ticket)) return `/status ${ticket}`;
    if (/^[\w-]+$/.test(type)) return `/new ${type}`;
    return null;
  }

  function sayAsked() {
    if (!state.asked || state.room !== dmRoom()?.id) return;
    if (say(state.asked)) {
      state.asked = null;
      window.history.replaceState(null, '', window.location.pathname);
    }
  }

  function closeNav() {
    if (!document.body.classList.contains('nav-open')) return;
    document.body.classList.remove('nav-open');
    $('sidebar-toggle').setAttribute('aria-expanded', 'false');
  }

  function chooseRoom(id) {
    closeNav(); // choosing the room already shown closes the drawer too
    if (!roomById(id) || id === state.room) return;
    state.room = id;
    state.unread.delete(id);
    store.set(KEY.room, id);
    showEmpty('loading');
    paintChrome();
    hello();
  }

  function choosePerson(id) {
    if (!personById(id)) return;
    const wasDirect = roomById(state.room)?.direct;
    state.person = id;
    store.set(KEY.person, id);
    $('toasts').replaceChildren(); // what the previous person was told is theirs
    if (wasDirect) { state.room = dmRoom().id; store.set(KEY.room, state.room); paintChrome(); }
    if (!store.get(KEY.locale)) setLocale(personById(id).locale, false);
    else for (const node of $('messages').children) redraw(node); // their time zone
    hello();
  }

  function bind() {
    const input = $('composer-input');
    const grow = () => { input.style.height = 'auto'; input.style.height = `${Math.min(input.scrollHeight, 200)}px`; };
    input.addEventListener('input', grow);
    input.addEventListener('keydown', (e) => {
      // Enter while an IME is composing picks a candidate (拼音): it must not send.
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
        e.preventDefault();
        $('composer').requestSubmit();
      }
    });
    $('composer').addEventListener('submit', (e) => {
      e.preventDefault();
      if (say(input.value)) { input.value = ''; grow(); }
      input.focus();
    });
    $('person').addEventListener('change', (e) => choosePerson(e.target.value));
    $('rooms').addEventListener('click', (e) => {
      const b = e.target.closest('[data-room]');
      if (b) chooseRoom(b.dataset.room);
    });
    for (const b of document.querySelectorAll('.lang__btn')) {
      b.addEventListener('click', () => setLocale(b.dataset.locale, true));
    }
    $('sidebar-toggle').addEventListener('click', (e) => {
      e.stopPropagation();
      const open = document.body.classList.toggle('nav-open');
      $('sidebar-toggle').setAttribute('aria-expanded', String(open));
    });
    // The drawer (small screens) closes on a tap outside it and on Escape.
    $('scrim').addEventListener('click', closeNav);
    document.addEventListener('keydown', (e) => { if (e.key === 'Escape') closeNav(); });
    $('new-ticket').addEventListener('click', () => {
      const room = roomById(state.room);
      const type = room?.ticket_type || state.boot?.types?.[0]?.id;
      say(type ? `/new ${type}` : '/new');
    });

    const list = $('messages');
    list.addEventListener('click', (e) => {
      const edit = e.target.closest('.card button[data-edit]');
      if (edit) {
        const clientId = newId();
        if (send({ type: 'edit', room: state.room, ticket: edit.dataset.edit, client_id: clientId })) track(clientId, { kind: 'say' });
        return;
      }
      const b = e.target.closest('.card button[data-action]');
      if (!b || b.disabled) return;
      if (b.dataset.confirm && !window.confirm(b.dataset.confirm)) return;
      sendAction(b.closest('.card'), b.dataset.action);
    });
    list.addEventListener('change', (e) => {
      const picked = e.target.closest('.card input[type=file][data-attach]');
      if (picked) {
        const files = [...picked.files];
        picked.value = '';
        upload(picked.closest('.card').dataset.ticket, files);
        return;
      }
      const retype = e.target.closest('form.ticket-form[data-edit] select[name="type"]');
      if (retype && retype.value) {
        const form = retype.closest('form');
        const clientId = newId();
        const msg = { type: 'edit', room: state.room, ticket: form.dataset.edit, ticket_type: retype.value, client_id: clientId };
        if (send(msg)) track(clientId, { kind: 'retype', el: form.closest('.msg--form') });
        return;
      }
      const s = e.target.closest('.card select[data-action]');
      if (s && s.value !== '') sendAction(s.closest('.card'), s.dataset.action, s.value);
    });
    list.addEventListener('submit', (e) => {
      const form = e.target;
      if (form.matches('.card form[data-action]')) {
        e.preventDefault();
        const field = form.querySelector('[name="value"]');
        const value = field.value.trim();
        const internal = form.querySelector('[name="internal"]')?.checked || false;
        if (value) sendAction(form.closest('.card'), form.dataset.action, value, field, internal);
      } else if (form.matches('form.ticket-form')) {
        e.preventDefault();
        submitForm(form);
      }
    });
    list.addEventListener('paste', (e) => {
      const input = e.target.closest('.card form[data-action] input[name="value"]');
      const files = [...(e.clipboardData?.files || [])];
      if (!input || !files.length) return;
      e.preventDefault();
      upload(input.closest('.card').dataset.ticket, files);
    });
    window.addEventListener('online', () => { if (!state.ws) connect(); });
  }

  async function start() {
    bind();
    paintChrome();
    showEmpty('loading');
    try {
      const res = await fetch('/webchat/bootstrap', { headers: { Accept: 'application/json' } });
      if (!res.ok) throw new Error(`bootstrap: HTTP ${res.status}`);
      state.boot = await res.json();
    } catch (err) {
      console.error(err);
      document.getElementById('app').dataset.state = 'failed';
      const p = el('p', 'messages__empty messages__empty--error');
      const said = el('span', null, tr('boot_failed'));
      said.dataset.i18n = 'boot_failed';
      const again = el('button', 'btn btn--default', tr('retry'));
      again.dataset.i18n = 'retry';
      again.type = 'button';
      again.addEventListener('click', () => window.location.reload());
      p.append(said, ' ', again);
      $('messages').replaceChildren(p);
      return;
    }
    const boot = state.boot;
    boot.people ||= []; boot.rooms ||= []; boot.types ||= [];
    state.person = personById(store.get(KEY.person))?.id || boot.people[0]?.id || null;
    state.room = roomById(store.get(KEY.room))?.id || boot.rooms[0]?.id || null;
    state.asked = linkAsked();
    if (state.asked && dmRoom()) state.room = dmRoom().id;
    const stored = store.get(KEY.locale);
    state.locale = stored || personById(state.person)?.locale || 'zh-CN';
    document.getElementById('app').dataset.state = 'ready';
    setLocale(state.locale, false);
    connect();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
