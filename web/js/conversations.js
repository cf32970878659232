// The centre: conversations as tabs (rooms and private conversations), each with its log, its
// typing indicator and its composer. A line I send shows greyed until `ack` (matched by `ref`),
// or marked refused with the server's message.

import { announce } from './announce.js';
import { compactCard, safetyCard } from './cards.js';
import { $, clear, el, keepFocus, setText } from './dom.js';
import { fullTime, memberDetails, onlineFor, statusOf, timeLabel } from './format.js';
import { applyI18n, t } from './i18n.js';
import { memberRow } from './members.js';
import { confirmShare, openInvite, openReport } from './modal.js';
import { alertPrivate } from './notify.js';
import { openProfile, refreshProfile } from './profile.js';
import { isPrivate, renderRooms, roomInfo } from './rooms.js';
import { remember, state } from './state.js';

/** The longest message, from `welcome.limits` (500 until told otherwise). */
let maxChars = 500;
const TYPING_SEND_EVERY_MS = 3000;
const TYPING_SHOW_MS = 4000;
/** Lines kept per conversation in the page. */
const LOG_MAX_ITEMS = 400;

let send = () => false;
let toast = () => {};
let refCounter = 0;
/** ref → {conv, item} for my lines still waiting for an answer. */
const byRef = new Map();
/** Lines typed while disconnected, sent once the connection is back. */
let outQueue = [];

export function initConversations(handlers) {
  send = handlers.send;
  toast = handlers.toast;
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden) markRead(activeConv());
  });
}

function nextRef() {
  refCounter += 1;
  return `c${Date.now().toString(36)}${refCounter.toString(36)}`;
}

export function setLimits(limits) {
  if (limits && Number.isInteger(limits.message_max_chars) && limits.message_max_chars > 0) {
    maxChars = limits.message_max_chars;
    for (const conv of state.convs.values()) {
      conv.nodes.input.maxLength = maxChars;
      updateCounter(conv);
    }
  }
}

export function activeConv() {
  return state.active ? state.convs.get(state.active) : null;
}

// ---------------------------------------------------------------------------------- creation

function createConv(key, kind, id) {
  const root = $('#tpl-conv').content.firstElementChild.cloneNode(true);
  root.id = `panel-${key.replace(':', '-')}`;
  root.dataset.conv = key;
  root.hidden = true;
  const conv = {
    key, kind, id,
    items: [],
    ids: new Set(),
    lastSeq: 0,
    unread: 0,
    typing: new Map(),
    roomMembers: new Map(),
    showMembers: false,
    state: kind === 'dm' ? (state.dmStates.get(id) || 'new') : 'joining',
    minor: false,
    request: null,
    lastTypingSent: 0,
    nodes: {
      root,
      title: $('.conv-title', root),
      sub: $('.conv-sub', root),
      actions: $('.conv-actions', root),
      banner: $('.banner', root),
      log: $('.log', root),
      membersAside: $('.room-members', root),
      membersTitle: $('.room-members-title', root),
      membersList: $('.room-member-list', root),
      notice: $('.conv-notice', root),
      typing: $('.typing', root),
      form: $('.composer', root),
      input: $('.composer-input', root),
      count: $('.composer-count', root),
    },
  };
  const n = conv.nodes;
  n.intro = el('div', { class: 'log-intro' });
  n.older = el('button', { type: 'button', class: 'btn btn-small btn-ghost log-older', data: { action: 'load-older' }, hidden: true });
  n.log.append(n.intro);
  n.input.maxLength = maxChars;
  const inputId = `input-${key.replace(':', '-')}`;
  n.input.id = inputId;
  $('label', n.form).htmlFor = inputId;
  n.log.id = `log-${key.replace(':', '-')}`;
  n.membersList.id = `room-members-list-${key.replace(':', '-')}`;
  applyI18n(root);
  n.form.addEventListener('submit', (event) => {
    event.preventDefault();
    submitLine(conv);
  });
  n.input.addEventListener('input', () => {
    updateCounter(conv);
    maybeSendTyping(conv);
  });
  n.input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submitLine(conv);
    }
  });
  root.addEventListener('click', (event) => onConvClick(conv, event));
  n.membersList.addEventListener('click', (event) => {
    const row = event.target.closest('[data-member]');
    if (!row || row.dataset.member === state.me.id) return;
    const member = state.known.get(row.dataset.member) || conv.roomMembers.get(row.dataset.member);
    if (member) openProfile(member);
  });
  $('#convs').append(root);
  state.convs.set(key, conv);
  renderHeader(conv);
  renderNotice(conv);
  renderTabs();
  return conv;
}

export function ensureRoom(id) {
  const key = `room:${id}`;
  return state.convs.get(key) || createConv(key, 'room', id);
}

/** The private conversation with a member, created when needed. */
export function ensureDm(id, member, { fetch = true } = {}) {
  if (member) remember(member);
  const key = `dm:${id}`;
  let conv = state.convs.get(key);
  if (!conv) {
    conv = createConv(key, 'dm', id);
    // A conversation that exists on the server (its tab was closed): fetch what was said.
    if (fetch && conv.state !== 'new') send({ t: 'dm_history', with: id });
  } else if (member) {
    renderHeader(conv);
  }
  return conv;
}

export function findConv(key) {
  return state.convs.get(key);
}

export function dmPeer(conv) {
  return state.known.get(conv.id) || { id: conv.id, nickname: '…', gender: 'autre', age: '', city: '', distance_km: null };
}

function title(conv) {
  if (conv.kind === 'room') return roomInfo(conv.id)?.name || conv.id;
  return dmPeer(conv).nickname;
}

// ---------------------------------------------------------------------------------- tabs

export function renderTabs() {
  const tabs = $('#tabs');
  keepFocus(tabs, () => fillTabs(tabs));
}

function fillTabs(tabs) {
  clear(tabs);
  let total = 0;
  for (const conv of state.convs.values()) {
    const active = conv.key === state.active;
    const name = title(conv);
    total += conv.unread;
    const tab = el('button', {
      type: 'button',
      class: `tab tab-${conv.kind}${active ? ' is-active' : ''}`,
      id: `tab-${conv.key.replace(':', '-')}`,
      data: { activate: conv.key },
      attrs: { role: 'tab', 'aria-selected': active ? 'true' : 'false', 'aria-controls': conv.nodes.root.id, tabindex: active ? '0' : '-1' },
    },
    el('span', { class: 'tab-mark mono', text: tabMark(conv), attrs: { 'aria-hidden': 'true' } }),
    el('span', { class: 'tab-name', text: name }));
    tab.setAttribute('aria-keyshortcuts', 'Delete');
    if (conv.state === 'pending_in') tab.append(el('span', { class: 'tab-request', text: t('tabs.request') }));
    appendBadges(tab, conv);
    // The × is for the mouse; the keyboard closes a tab with Delete, or from the conversation's
    // own header ("close", "leave the room"): a tablist holds only tabs.
    const close = el('span', {
      class: 'tab-close', text: '×', data: { closeConv: conv.key },
      attrs: { 'aria-hidden': 'true', title: t('tabs.close', { name }) },
    });
    tabs.append(el('div', { class: `tab-wrap${active ? ' is-active' : ''}`, attrs: { role: 'presentation' } }, tab, close));
    conv.nodes.root.setAttribute('aria-labelledby', tab.id);
  }
  $('#empty-state').hidden = state.convs.size > 0;
  document.title = total > 0 ? `(${total}) ${t('meta.title')}` : t('meta.title');
}

function tabMark(conv) {
  if (conv.kind === 'dm') return '»';
  return isPrivate(conv.id) ? '◆' : '#';
}

/** Unread lines, and mentions of me counted apart ("@2"); screen readers hear them in words. */
export function appendBadges(node, conv) {
  if (!conv || conv.key === state.active) return;
  if (conv.mentions > 0) {
    node.append(el('span', { class: 'sr-only', text: `, ${t('tabs.mentions', { count: conv.mentions })}` }),
      el('span', { class: 'badge-mention mono', text: `@${conv.mentions > 9 ? '9+' : conv.mentions}`, attrs: { 'aria-hidden': 'true' } }));
  }
  if (conv.unread > 0) {
    node.append(el('span', { class: 'sr-only', text: `, ${t('tabs.unread', { count: conv.unread })}` }),
      el('span', { class: 'badge-unread mono', text: conv.unread > 99 ? '99+' : String(conv.unread), attrs: { 'aria-hidden': 'true' } }));
  }
}

let closeHandler = () => {};

export function initTabs(handlers) {
  closeHandler = handlers.close;
  const tabs = $('#tabs');
  tabs.addEventListener('click', (event) => {
    const close = event.target.closest('[data-close-conv]');
    if (close) {
      handlers.close(close.dataset.closeConv);
      return;
    }
    const tab = event.target.closest('[data-activate]');
    if (tab) activate(tab.dataset.activate);
  });
  tabs.addEventListener('keydown', (event) => {
    const focused = event.target.closest('[data-activate]');
    if (focused && event.key === 'Delete') {
      event.preventDefault();
      handlers.close(focused.dataset.activate);
      const next = state.active && $(`#tab-${state.active.replace(':', '-')}`);
      if (next) next.focus();
      else focusEmptyState();
      return;
    }
    if (!['ArrowLeft', 'ArrowRight', 'Home', 'End'].includes(event.key)) return;
    const keys = Array.from(state.convs.keys());
    if (keys.length === 0) return;
    let i = keys.indexOf(state.active);
    if (event.key === 'ArrowLeft') i = (i - 1 + keys.length) % keys.length;
    else if (event.key === 'ArrowRight') i = (i + 1) % keys.length;
    else if (event.key === 'Home') i = 0;
    else i = keys.length - 1;
    event.preventDefault();
    activate(keys[i]);
    $(`#tab-${keys[i].replace(':', '-')}`)?.focus();
  });
}

/** No conversation left: the keyboard goes to the rooms, where one is chosen. */
function focusEmptyState() {
  const room = document.querySelector('#room-list [data-room]');
  if (room && room.offsetParent !== null) room.focus();
  else $('#centre').focus();
}

export function activate(key, { focus = false } = {}) {
  const conv = state.convs.get(key);
  if (!conv) return;
  state.active = key;
  for (const other of state.convs.values()) other.nodes.root.hidden = other.key !== key;
  markRead(conv, false);
  renderTabs();
  renderRooms();
  scrollToEnd(conv);
  if (focus) {
    // A room still joining gets the focus as soon as its composer opens.
    if (conv.nodes.input.disabled) conv.wantFocus = true;
    else conv.nodes.input.focus();
  }
}

function markRead(conv, render = true) {
  if (!conv || (conv.unread === 0 && !conv.mentions)) return;
  conv.unread = 0;
  conv.mentions = 0;
  if (render) {
    renderTabs();
    renderRooms();
  }
}

/** Removes a conversation's tab and panel (the caller tells the server if needed). */
export function removeConv(key) {
  const conv = state.convs.get(key);
  if (!conv) return;
  for (const [ref, pending] of byRef) if (pending.conv === conv) byRef.delete(ref);
  outQueue = outQueue.filter((q) => q.conv !== conv);
  for (const entry of conv.typing.values()) clearTimeout(entry.timer);
  conv.nodes.root.remove();
  const keys = Array.from(state.convs.keys());
  const index = keys.indexOf(key);
  state.convs.delete(key);
  if (state.active === key) {
    state.active = null;
    const next = keys[index + 1] || keys[index - 1];
    if (next && next !== key) activate(next);
  }
  renderTabs();
  renderRooms();
}

export function removeAll() {
  for (const conv of state.convs.values()) conv.nodes.root.remove();
  state.convs.clear();
  state.active = null;
  byRef.clear();
  outQueue = [];
  renderTabs();
}

// ---------------------------------------------------------------------------------- header

function actionButton(label, action, extra = '') {
  return el('button', { type: 'button', class: `btn btn-small ${extra}`.trim(), text: label, data: { action } });
}

export function renderHeader(conv) {
  const n = conv.nodes;
  setText(n.title, title(conv));
  renderIntro(conv);
  clear(n.actions);
  if (conv.kind === 'room') {
    const room = roomInfo(conv.id);
    const privateRoom = isPrivate(conv.id);
    setText(n.sub, privateRoom ? t('private.sub') : (room ? room.topic : ''));
    n.title.prepend(el('span', { class: 'conv-mark', text: privateRoom ? '◆ ' : '# ', attrs: { 'aria-hidden': 'true' } }));
    n.banner.textContent = room && room.banner ? room.banner : '';
    n.banner.hidden = !(room && room.banner);
    const toggle = actionButton(t('conv.members', { count: memberCount(conv) }), 'toggle-members', 'btn-ghost');
    toggle.setAttribute('aria-expanded', conv.showMembers ? 'true' : 'false');
    toggle.setAttribute('aria-controls', `members-${conv.key.replace(':', '-')}`);
    n.membersAside.id = `members-${conv.key.replace(':', '-')}`;
    n.actions.append(toggle);
    if (privateRoom) n.actions.append(actionButton(t('private.invite'), 'invite', 'btn-ghost'));
    n.actions.append(actionButton(t('conv.leaveRoom'), 'leave-room', 'btn-ghost'));
    n.membersAside.hidden = !conv.showMembers;
    n.root.classList.toggle('with-members', conv.showMembers);
    setText(n.membersTitle, t('conv.membersTitle'));
    n.input.placeholder = t('composer.placeholderRoom', { room: room ? room.name : conv.id });
  } else {
    const peer = dmPeer(conv);
    // The nickname opens the profile card.
    clear(n.title);
    n.title.append(el('button', {
      type: 'button', class: 'conv-title-btn', data: { profileMember: conv.id }, title: t('conv.profileOf', { name: peer.nickname }),
      attrs: { 'aria-haspopup': 'dialog' },
    },
    el('span', { class: `gender-mark g-${peer.gender}`, text: t(`gender.letter.${peer.gender}`), attrs: { 'aria-hidden': 'true' } }), ' ', peer.nickname,
    el('span', { class: 'sr-only', text: `, ${t('conv.profileHint')}` })));
    const details = [memberDetails(peer), statusOf(peer) !== 'available' ? t(`status.${statusOf(peer)}`) : '', onlineFor(peer.since)].filter(Boolean).join(' · ');
    setText(n.sub, peer.age ? t('conv.privateSub', { details }) : '');
    n.banner.hidden = true;
    const blocked = state.blocked.has(conv.id);
    const ignored = state.ignored.has(conv.id);
    const close = actionButton('×', 'close-conv', 'btn-ghost btn-icon-small');
    close.setAttribute('aria-label', t('a11y.closeConv', { name: peer.nickname }));
    close.title = t('a11y.closeConv', { name: peer.nickname });
    n.actions.append(
      actionButton(ignored ? t('conv.unignore') : t('conv.ignore'), ignored ? 'unignore' : 'ignore', 'btn-ghost conv-ignore'),
      actionButton(blocked ? t('conv.unblock') : t('conv.block'), blocked ? 'unblock' : 'block', 'btn-ghost'),
      actionButton(t('conv.report'), 'report-member', 'btn-danger-ghost'),
      close,
    );
    n.input.placeholder = t('composer.placeholderDm', { name: peer.nickname });
  }
  n.log.setAttribute('aria-label', t('a11y.log', { name: title(conv) }));
  updateComposer(conv);
}

function renderRoomMembers(conv) {
  const list = conv.nodes.membersList;
  const members = Array.from(conv.roomMembers.values())
    .sort((a, b) => a.nickname.toLowerCase().localeCompare(b.nickname.toLowerCase()));
  keepFocus(list, () => {
    clear(list);
    const room = roomInfo(conv.id);
    const owner = isPrivate(conv.id) && room ? room.owner : undefined;
    const iOwn = owner !== undefined && owner === state.me?.id;
    for (const member of members) {
      const known = state.known.get(member.id) || member;
      const classes = [member.id === state.me?.id ? 'is-me' : '', member.id === owner ? 'is-owner' : '', state.ignored.has(member.id) ? 'is-ignored-member' : ''];
      const row = memberRow(known, classes.filter(Boolean).join(' '));
      if (member.id === state.me?.id) row.disabled = true;
      const li = el('li', {}, row);
      if (member.id === owner) row.append(el('span', { class: 'owner-tag mono', text: t('private.owner') }));
      if (iOwn && member.id !== state.me?.id) {
        li.append(el('div', { class: 'member-admin' },
          el('button', { type: 'button', class: 'btn btn-small btn-ghost', text: t('private.makeOwner'), data: { roomOwner: member.id }, attrs: { 'aria-label': t('private.makeOwnerLabel', { name: member.nickname }) } }),
          el('button', { type: 'button', class: 'btn btn-small btn-danger-ghost', text: t('private.remove'), data: { roomRemove: member.id }, attrs: { 'aria-label': t('private.removeLabel', { name: member.nickname }) } })));
      }
      list.append(li);
    }
  });
  const toggle = $('[data-action="toggle-members"]', conv.nodes.actions);
  if (toggle) toggle.textContent = t('conv.members', { count: memberCount(conv) });
}

/** How many are in a room: the server's count (big rooms list only some of their members). */
function memberCount(conv) {
  return Math.max(conv.memberCount || 0, conv.roomMembers.size);
}

// ---------------------------------------------------------------------------------- notices

/** Can I write in this conversation now? */
function canWrite(conv) {
  if (conv.kind === 'room') return conv.state === 'joined';
  if (state.blocked.has(conv.id) || conv.minor) return false;
  return ['new', 'open', 'refused'].includes(conv.state);
}

function updateComposer(conv) {
  const ok = canWrite(conv);
  conv.nodes.input.disabled = !ok;
  if (ok && conv.wantFocus) {
    conv.wantFocus = false;
    if (state.active === conv.key) conv.nodes.input.focus();
  }
  $('.composer-send', conv.nodes.form).disabled = !ok;
  conv.nodes.form.classList.toggle('is-disabled', !ok);
  updateCounter(conv);
}

function updateCounter(conv) {
  const left = maxChars - Array.from(conv.nodes.input.value).length;
  setText(conv.nodes.count, String(left));
  conv.nodes.count.classList.toggle('is-low', left <= 50);
  conv.nodes.count.classList.toggle('is-over', left < 0);
  conv.nodes.count.title = t('composer.counter', { left });
}

/** The strip above the composer: the request card, or the conversation's state. */
export function renderNotice(conv) {
  const box = conv.nodes.notice;
  clear(box);
  box.className = 'conv-notice';
  let text = '';
  if (conv.kind === 'dm') {
    const name = dmPeer(conv).nickname;
    if (state.blocked.has(conv.id)) text = t('dm.state.blocked', { name });
    else if (conv.minor) text = t('dm.state.minor');
    else if (conv.state === 'pending_in') {
      const peer = dmPeer(conv);
      box.classList.add('is-request');
      box.append(
        el('p', { class: 'request-title', text: t('dm.request.title') }),
        el('p', { class: 'request-text', text: t('dm.request.text', { name: peer.nickname, details: memberDetails(peer) }) }),
        el('div', { class: 'request-actions' },
          actionButton(t('dm.request.accept'), 'dm-accept', 'btn-primary'),
          actionButton(t('dm.request.decline'), 'dm-decline', 'btn-ghost'),
          actionButton(t('dm.request.report'), 'report-member', 'btn-danger-ghost')),
      );
      box.hidden = false;
      updateComposer(conv);
      return;
    } else if (conv.state === 'new') text = t('dm.new', { name });
    else if (['pending_out', 'declined', 'refused', 'closed'].includes(conv.state)) text = t(`dm.state.${conv.state}`, { name });
  }
  if (text) box.append(el('p', { text }));
  box.hidden = !text;
  updateComposer(conv);
}

// ---------------------------------------------------------------------------------- log items

function nearBottom(log) {
  return log.scrollHeight - log.scrollTop - log.clientHeight < 80;
}

function scrollToEnd(conv) {
  conv.nodes.log.scrollTop = conv.nodes.log.scrollHeight;
}

function resetLog(conv) {
  clear(conv.nodes.log);
  conv.nodes.log.append(conv.nodes.intro);
}

function renderIntro(conv) {
  const intro = conv.nodes.intro;
  clear(intro);
  if (conv.kind === 'room') {
    const room = roomInfo(conv.id);
    const privateRoom = isPrivate(conv.id);
    intro.append(
      el('p', { class: 'log-intro-title' }, el('span', { class: 'conv-mark', text: privateRoom ? '◆ ' : '# ' }), room ? room.name : conv.id),
      el('p', { text: privateRoom ? t('private.sub') : (room ? room.topic : '') }),
      el('p', { class: 'log-intro-rules', text: privateRoom ? t('private.intro') : t('intro.room') }));
  } else {
    const peer = dmPeer(conv);
    intro.append(
      el('p', { class: 'log-intro-title' }, el('span', { class: 'conv-mark', text: '» ', attrs: { 'aria-hidden': 'true' } }), peer.nickname),
      el('p', { class: 'log-intro-rules', text: t('intro.dm', { name: peer.nickname }) }));
  }
  conv.nodes.older.textContent = t('conv.olderLoad');
  intro.append(conv.nodes.older);
  conv.nodes.older.hidden = !canLoadOlder(conv);
}

// ---------------------------------------------------------------------------------- older history

/** The first message I hold with a sequence number (the page before it is what "older" asks). */
function firstSeq(conv) {
  const first = conv.items.find((i) => i.type === 'msg' && i.seq !== undefined);
  return first ? first.seq : undefined;
}

function canLoadOlder(conv) {
  if (conv.loadingOlder || conv.more === false) return false;
  const seq = firstSeq(conv);
  if (seq === undefined || seq <= 1) return false;
  return conv.more === true;
}

function refreshOlder(conv) {
  conv.nodes.older.hidden = !canLoadOlder(conv);
}

function loadOlder(conv) {
  const before = firstSeq(conv);
  if (before === undefined) return;
  const msg = conv.kind === 'room'
    ? { t: 'history', room: conv.id, before, limit: 50 }
    : { t: 'dm_history', with: conv.id, before, limit: 50 };
  if (!send(msg)) return;
  conv.loadingOlder = true;
  refreshOlder(conv);
}

/** Older lines go above the ones shown, without moving what the reader looks at. */
function prependBatch(conv, add) {
  const log = conv.nodes.log;
  const fromBottom = log.scrollHeight - log.scrollTop;
  add();
  log.scrollTop = log.scrollHeight - fromBottom;
}

/** `history`: a page of older room messages, oldest first. */
export function onHistory(msg) {
  const conv = state.convs.get(`room:${msg.room}`);
  if (!conv) return;
  conv.loadingOlder = false;
  conv.more = !!msg.more;
  prependBatch(conv, () => {
    for (const event of msg.messages || []) {
      if (event.t && event.t !== 'room_msg') continue;
      if (conv.ids.has(event.id)) continue;
      conv.ids.add(event.id);
      addItem(conv, roomItem(event), { live: false, older: true });
    }
  });
  refreshOlder(conv);
}

function renderItem(conv, item) {
  switch (item.type) {
    case 'msg': return renderMessage(conv, item);
    case 'card': return el('div', { class: 'log-card' }, safetyCard(item.kind, () => reportPeer(conv)));
    case 'system': return el('p', { class: 'log-system', text: t(item.key, item.params) });
    default: return el('p');
  }
}

/** Does a line name me (my nickname as a whole word, any case)? */
function mentionsMe(text) {
  const nick = state.me?.nickname;
  if (!nick || !text) return false;
  const escaped = nick.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');
  return new RegExp(`(^|[^\\p{L}\\p{N}_])@?${escaped}($|[^\\p{L}\\p{N}_])`, 'iu').test(text);
}

/** The nicknames a room line names: the server's `mentions` (ids), and me. */
function mentionedNicknames(conv, item) {
  const names = new Map();
  for (const id of item.mentions || []) {
    const member = conv.roomMembers.get(id) || state.known.get(id) || (id === state.me?.id ? state.me : null);
    if (member) names.set(member.nickname.toLowerCase(), id === state.me?.id);
  }
  if (state.me && item.from.id !== state.me.id && mentionsMe(item.text)) names.set(state.me.nickname.toLowerCase(), true);
  return names;
}

/** The text, with each "@nickname" that names a member marked (text nodes only, never HTML). */
function appendWithMentions(node, conv, item) {
  const names = conv.kind === 'room' ? mentionedNicknames(conv, item) : new Map();
  if (names.size === 0) {
    node.textContent = item.text;
    return;
  }
  const pattern = /@?[\p{L}\p{N}_.-]+/gu;
  let last = 0;
  for (const match of item.text.matchAll(pattern)) {
    const word = match[0].replace(/^@/, '').replace(/[.-]+$/, '');
    const isMe = names.get(word.toLowerCase());
    if (isMe === undefined || (!match[0].startsWith('@') && !isMe)) continue;
    const end = match.index + (match[0].startsWith('@') ? 1 : 0) + word.length;
    node.append(item.text.slice(last, match.index));
    node.append(el('mark', { class: `mention${isMe ? ' is-me' : ''}`, text: item.text.slice(match.index, end) }));
    last = end;
  }
  node.append(item.text.slice(last));
}

function renderMessage(conv, item) {
  const mine = item.from.id === state.me?.id;
  const classes = ['msg'];
  if (mine) classes.push('is-mine');
  if (item.pending) classes.push('is-pending');
  if (item.deleted) classes.push('is-deleted');
  if (!mine && conv.kind === 'room' && (item.mentions?.includes(state.me?.id) || mentionsMe(item.text))) classes.push('is-mention');
  if (!mine && conv.kind === 'room' && state.ignored.has(item.from.id)) classes.push('is-ignored');
  if (item.refused) classes.push('is-refused');
  const nick = mine || conv.kind === 'dm'
    ? el('span', { class: 'msg-nick', text: item.from.nickname })
    : el('button', { type: 'button', class: 'msg-nick', text: item.from.nickname, data: { profileMember: item.from.id }, attrs: { 'aria-label': t('conv.profileOf', { name: item.from.nickname }), 'aria-haspopup': 'dialog' } });
  const text = el('span', { class: 'msg-text' });
  if (item.deleted) text.textContent = t('conv.deleted');
  else appendWithMentions(text, conv, item);
  const line = el('div', { class: classes.join(' '), data: { id: item.id } },
    el('time', { class: 'msg-time', text: timeLabel(item.at), attrs: { datetime: new Date(item.at).toISOString(), title: fullTime(item.at) } }),
    el('p', { class: 'msg-body' }, nick, ' ', text));
  if (!mine && item.id !== undefined && !item.deleted) {
    if (conv.kind === 'room') {
      line.append(el('button', {
        type: 'button', class: 'msg-ignore', text: '⊘', data: { ignoreMember: item.from.id },
        attrs: { 'aria-label': t('conv.ignoreLabel', { name: item.from.nickname }), title: t('conv.ignore') },
      }));
    }
    line.append(el('button', {
      type: 'button', class: 'msg-report', text: '⚑', data: { reportMessage: String(item.id) },
      attrs: { 'aria-label': t('conv.reportMessage', { name: item.from.nickname }), title: t('conv.report') },
    }));
  }
  if (item.pending) line.append(el('span', { class: 'msg-state', text: item.awaitConfirm ? t('conv.awaitConfirm') : t('conv.pending') }));
  if (item.refused) line.append(el('p', { class: 'msg-refused', attrs: { role: 'status' }, text: item.refused }));
  if (item.card) {
    const card = compactCard(item.card);
    if (card) line.append(card);
  }
  return line;
}

function addItem(conv, item, { live = true, older = false } = {}) {
  const log = conv.nodes.log;
  const stick = nearBottom(log);
  item.node = renderItem(conv, item);
  // History fetched after newer lines (a reopened tab) goes in its place, by sequence.
  const later = item.seq === undefined ? -1 : conv.items.findIndex((i) => i.seq !== undefined && i.seq > item.seq);
  if (later >= 0) {
    conv.items.splice(later, 0, item);
    conv.items[later + 1].node.before(item.node);
  } else {
    conv.items.push(item);
    log.append(item.node);
  }
  if (!older && conv.items.length > LOG_MAX_ITEMS) {
    const dropped = conv.items.shift();
    dropped.node?.remove();
  }
  if (!older && (stick || (item.type === 'msg' && item.from.id === state.me?.id))) log.scrollTop = log.scrollHeight;
  const fromOther = item.type !== 'system' && !(item.type === 'msg' && item.from.id === state.me?.id);
  if (live && fromOther && (state.active !== conv.key || document.hidden)) {
    conv.unread += 1;
    renderTabs();
    if (conv.kind === 'room') renderRooms();
  }
  if (live && fromOther) announceItem(conv, item);
}

/** Screen readers hear the lines of the conversation shown; safety cards interrupt. */
function announceItem(conv, item) {
  const shown = state.active === conv.key;
  if (item.type === 'card') {
    announce(t(cardTitleKey(item.kind)), { assertive: true });
    return;
  }
  if (item.type !== 'msg') return;
  if (conv.kind === 'room' && state.ignored.has(item.from.id)) return;
  if (shown) {
    announce(t('a11y.newMessage', { name: item.from.nickname, text: item.text }));
    if (item.card) announce(t(`card.compact.${item.card}`), { assertive: true });
  } else if (conv.kind === 'dm' && conv.state !== 'pending_in') {
    announce(t('a11y.newDm', { name: item.from.nickname }));
  }
}

function cardTitleKey(kind) {
  return kind === 'minor_warning' ? 'card.minor.title' : `card.${kind}.title`;
}

function refresh(conv, item) {
  if (!item.node) return;
  const node = renderItem(conv, item);
  item.node.replaceWith(node);
  item.node = node;
}

/** Re-renders every log (after a language change). */
export function rebuildAll() {
  for (const conv of state.convs.values()) {
    resetLog(conv);
    for (const item of conv.items) {
      item.node = renderItem(conv, item);
      conv.nodes.log.append(item.node);
    }
    applyI18n(conv.nodes.root);
    renderHeader(conv);
    renderNotice(conv);
    renderTyping(conv);
    if (conv.kind === 'room') renderRoomMembers(conv);
  }
  renderTabs();
}

function onConvClick(conv, event) {
  const target = event.target;
  const profileButton = target.closest('[data-profile-member]');
  if (profileButton) {
    const id = profileButton.dataset.profileMember;
    const fromLine = conv.items.find((i) => i.type === 'msg' && i.from.id === id);
    const member = state.known.get(id) || conv.roomMembers.get(id) || (fromLine ? fromLine.from : { id, nickname: dmPeer(conv).nickname });
    openProfile(member);
    return;
  }
  const ignoreButton = target.closest('[data-ignore-member]');
  if (ignoreButton) {
    const item = conv.items.find((i) => i.type === 'msg' && i.from.id === ignoreButton.dataset.ignoreMember);
    setIgnored(ignoreButton.dataset.ignoreMember, true, item ? item.from.nickname : '');
    return;
  }
  const removeButton = target.closest('[data-room-remove]');
  if (removeButton) {
    send({ t: 'room_remove', room: conv.id, member: removeButton.dataset.roomRemove });
    return;
  }
  const ownerButton = target.closest('[data-room-owner]');
  if (ownerButton) {
    send({ t: 'room_owner', room: conv.id, member: ownerButton.dataset.roomOwner });
    return;
  }
  const reportButton = target.closest('[data-report-message]');
  if (reportButton) {
    const id = Number(reportButton.dataset.reportMessage);
    const item = conv.items.find((i) => i.type === 'msg' && i.id === id);
    if (item) openReport({ member: item.from, message: { id: item.id, text: item.text }, room: conv.kind === 'room' ? conv.id : undefined });
    return;
  }
  const action = target.closest('[data-action]')?.dataset.action;
  switch (action) {
    case 'toggle-members':
      conv.showMembers = !conv.showMembers;
      // The joined snapshot lists only the first members of a big room: fetch the whole list.
      if (conv.showMembers) send({ t: 'room_member_list', room: conv.id });
      renderHeader(conv);
      renderRoomMembers(conv);
      break;
    case 'load-older':
      loadOlder(conv);
      break;
    case 'invite':
      inviteTo(conv);
      break;
    case 'close-conv':
      closeHandler(conv.key);
      if (state.active) activeConv()?.nodes.input.focus();
      else focusEmptyState();
      break;
    case 'ignore':
      setIgnored(conv.id, true, dmPeer(conv).nickname);
      break;
    case 'unignore':
      setIgnored(conv.id, false, dmPeer(conv).nickname);
      break;
    case 'leave-room':
      send({ t: 'leave', room: conv.id });
      removeConv(conv.key);
      break;
    case 'block':
      setBlocked(conv.id, true, dmPeer(conv).nickname);
      break;
    case 'unblock':
      setBlocked(conv.id, false, dmPeer(conv).nickname);
      break;
    case 'report-member':
      reportPeer(conv);
      break;
    case 'dm-accept':
      if (send({ t: 'dm_accept', with: conv.id })) {
        target.closest('.request-actions')?.querySelectorAll('button').forEach((b) => { b.disabled = true; });
      }
      break;
    case 'dm-decline':
      if (send({ t: 'dm_decline', with: conv.id })) {
        target.closest('.request-actions')?.querySelectorAll('button').forEach((b) => { b.disabled = true; });
      }
      break;
    default:
  }
}

/** Block (or unblock) a member: they can no longer write to me nor see me. */
export function setBlocked(id, blocked, nickname) {
  if (!send({ t: blocked ? 'block' : 'unblock', member: id })) return false;
  if (blocked) state.blocked.add(id); else state.blocked.delete(id);
  toast(t(blocked ? 'toast.blocked' : 'toast.unblocked', { name: nickname || state.known.get(id)?.nickname || '' }));
  if (blocked) document.dispatchEvent(new CustomEvent('papote:blocked', { detail: id }));
  const conv = state.convs.get(`dm:${id}`);
  if (conv) {
    renderHeader(conv);
    renderNotice(conv);
  }
  refreshProfile(id);
  return true;
}

/** Hide (or show again) a member's public lines, for me only. */
export function setIgnored(id, ignored, nickname) {
  if (!send({ t: ignored ? 'ignore' : 'unignore', member: id })) return;
  if (ignored) state.ignored.add(id); else state.ignored.delete(id);
  toast(t(ignored ? 'toast.ignored' : 'toast.unignored', { name: nickname || state.known.get(id)?.nickname || '' }));
  refreshProfile(id);
  for (const conv of state.convs.values()) {
    if (conv.kind === 'room') {
      for (const item of conv.items) if (item.type === 'msg' && item.from.id === id) refresh(conv, item);
      clearTyping(conv, id);
      renderRoomMembers(conv);
    } else if (conv.id === id) {
      renderHeader(conv);
    }
  }
}

function inviteTo(conv) {
  const room = roomInfo(conv.id) || { name: conv.id };
  const candidates = state.members.filter((m) => !conv.roomMembers.has(m.id) && !state.blocked.has(m.id));
  openInvite(room, candidates, (member) => {
    if (!send({ t: 'room_invite', room: conv.id, member: member.id })) return false;
    toast(t('private.inviteSent', { name: member.nickname }));
    return true;
  });
}

function reportPeer(conv) {
  if (conv.kind !== 'dm') return;
  const lastFromThem = [...conv.items].reverse().find((i) => i.type === 'msg' && i.from.id === conv.id && i.id !== undefined);
  openReport({ member: { id: conv.id, nickname: dmPeer(conv).nickname }, message: lastFromThem ? { id: lastFromThem.id, text: lastFromThem.text } : undefined });
}

// ---------------------------------------------------------------------------------- sending

function submitLine(conv) {
  const input = conv.nodes.input;
  const text = input.value.trim();
  if (!text || !canWrite(conv)) return;
  if (Array.from(text).length > maxChars) {
    updateCounter(conv);
    return;
  }
  input.value = '';
  updateCounter(conv);
  const ref = nextRef();
  const item = { type: 'msg', ref, from: { id: state.me.id, nickname: state.me.nickname }, text, at: Date.now(), pending: true };
  byRef.set(ref, { conv, item });
  addItem(conv, item);
  dispatchLine(conv, item, false);
}

function lineMessage(conv, item, confirm) {
  if (conv.kind === 'room') return { t: 'say', room: conv.id, text: item.text, ref: item.ref };
  const msg = { t: 'dm', to: conv.id, text: item.text, ref: item.ref };
  if (confirm) msg.confirm = true;
  return msg;
}

function dispatchLine(conv, item, confirm) {
  const msg = lineMessage(conv, item, confirm);
  if (send(msg)) {
    item.sentOn = state.connection;
  } else {
    outQueue.push({ conv, item, msg });
  }
}

/** After a reconnection: send what was typed meanwhile. */
export function flushQueue() {
  const queue = outQueue;
  outQueue = [];
  for (const entry of queue) {
    if (!state.convs.has(entry.conv.key)) continue;
    if (send(entry.msg)) entry.item.sentOn = state.connection;
    else outQueue.push(entry);
  }
}

function maybeSendTyping(conv) {
  if (!conv.nodes.input.value.trim() || !canWrite(conv)) return;
  if (conv.kind === 'dm' && conv.state !== 'open') return;
  const now = Date.now();
  if (now - conv.lastTypingSent < TYPING_SEND_EVERY_MS) return;
  conv.lastTypingSent = now;
  send(conv.kind === 'room' ? { t: 'typing', room: conv.id } : { t: 'typing', to: conv.id });
}

export function onAck(msg) {
  const pending = byRef.get(msg.ref);
  if (!pending) return;
  byRef.delete(msg.ref);
  const { conv, item } = pending;
  item.pending = false;
  item.awaitConfirm = false;
  if (item.id === undefined) item.id = msg.id;
  // A private message's place in the conversation comes with the ack (this tab gets no copy).
  if (msg.seq !== undefined) {
    item.seq = msg.seq;
    conv.lastSeq = Math.max(conv.lastSeq || 0, msg.seq);
  }
  conv.ids.add(msg.id);
  refresh(conv, item);
}

export function onRefused(msg) {
  const pending = byRef.get(msg.ref);
  if (!pending) {
    toast(msg.message);
    return;
  }
  byRef.delete(msg.ref);
  const { conv, item } = pending;
  item.pending = false;
  let text = t('conv.refused', { message: msg.message });
  if (msg.retry_after_ms) text += ` ${t('conv.retryIn', { seconds: Math.ceil(msg.retry_after_ms / 1000) })}`;
  item.refused = text;
  item.code = msg.code;
  refresh(conv, item);
  announce(text, { assertive: true });
  // Give the text back so it can be fixed or re-sent later, unless something else was typed.
  if (!conv.nodes.input.value && ['rate_limited', 'too_long'].includes(msg.code)) {
    conv.nodes.input.value = item.text;
    updateCounter(conv);
  }
}

/** `confirm`: contact details, first time here. Ask, then re-send with confirm: true. */
export async function onConfirm(msg) {
  const pending = byRef.get(msg.ref);
  if (!pending) return;
  const { conv, item } = pending;
  item.awaitConfirm = true;
  refresh(conv, item);
  const yes = await confirmShare(item.text);
  if (!byRef.has(msg.ref)) return;
  if (yes) {
    item.awaitConfirm = false;
    refresh(conv, item);
    dispatchLine(conv, item, true);
  } else {
    byRef.delete(msg.ref);
    item.pending = false;
    item.awaitConfirm = false;
    item.refused = t('conv.cancelled');
    refresh(conv, item);
  }
}

/** My line came back as an event: match it to the pending line rather than show it twice. */
function matchMine(conv, msg) {
  const byId = conv.items.find((i) => i.type === 'msg' && i.id === msg.id);
  if (byId) return byId;
  const pending = conv.items.find((i) => i.type === 'msg' && i.ref && i.id === undefined && !i.refused && i.text === msg.text);
  if (pending) {
    pending.id = msg.id;
    pending.pending = false;
    pending.awaitConfirm = false;
    if (pending.ref) byRef.delete(pending.ref);
    return pending;
  }
  return null;
}

/** Lines sent on a connection that dropped before any answer: say they were not delivered. */
export function failStale(conv) {
  for (const item of conv.items) {
    if (item.type === 'msg' && item.pending && item.sentOn !== undefined && item.sentOn < state.connection) {
      item.pending = false;
      item.refused = t('conv.cancelled');
      if (item.ref) byRef.delete(item.ref);
      refresh(conv, item);
    }
  }
}

// ---------------------------------------------------------------------------------- rooms

export function onJoined(msg) {
  const conv = ensureRoom(msg.room);
  const wasJoined = conv.items.length > 0;
  if (!msg.replay) {
    // A resync: the server sends the last messages; keep only my lines still in flight.
    const keep = conv.items.filter((i) => i.type === 'msg' && i.pending && i.sentOn === undefined);
    resetLog(conv);
    conv.items = [];
    conv.ids.clear();
    if (wasJoined) addItem(conv, { type: 'system', key: 'conv.reset' }, { live: false });
    for (const event of msg.history) roomMessage(conv, event, false);
    for (const item of keep) addItem(conv, item, { live: false });
    // The server sends the last 50 messages on a fresh join: a full page may have older ones.
    conv.more = msg.history.filter((e) => e.t === 'room_msg').length >= 50;
  } else {
    for (const event of msg.history) {
      if (event.t === 'room_msg' && event.seq > conv.lastSeq) roomMessage(conv, event, true);
    }
  }
  conv.lastSeq = Math.max(msg.replay ? conv.lastSeq : 0, msg.seq);
  conv.roomMembers = new Map(msg.members.map((m) => [m.id, remember(m)]));
  conv.memberCount = msg.count || conv.roomMembers.size;
  conv.state = 'joined';
  failStale(conv);
  renderHeader(conv);
  renderRoomMembers(conv);
  renderRooms();
  refreshOlder(conv);
  scrollToEnd(conv);
}

function roomMessage(conv, msg, live) {
  if (msg.from.id === state.me?.id) {
    const mine = matchMine(conv, msg);
    if (mine) {
      conv.ids.add(msg.id);
      mine.seq = msg.seq;
      refreshCard(mine, msg.card);
      refresh(conv, mine);
      return;
    }
  }
  if (conv.ids.has(msg.id)) return;
  conv.ids.add(msg.id);
  clearTyping(conv, msg.from.id);
  const item = roomItem(msg);
  if (live && (state.active !== conv.key || document.hidden) && !state.ignored.has(msg.from.id) && item.mentions?.includes(state.me?.id)) {
    conv.mentions = (conv.mentions || 0) + 1;
  }
  addItem(conv, item, { live: live && !state.ignored.has(msg.from.id) });
}

function roomItem(msg) {
  return { type: 'msg', id: msg.id, seq: msg.seq, from: msg.from, text: msg.text, at: msg.at, card: msg.card, mentions: msg.mentions };
}

function refreshCard(item, card) {
  if (card) item.card = card;
}

export function onRoomMsg(msg) {
  const conv = state.convs.get(`room:${msg.room}`);
  if (!conv || msg.seq <= conv.lastSeq) return;
  conv.lastSeq = msg.seq;
  roomMessage(conv, msg, true);
}

export function onRoomMembers(msg) {
  const conv = state.convs.get(`room:${msg.room}`);
  if (!conv || msg.seq <= conv.lastSeq) return;
  conv.lastSeq = msg.seq;
  for (const id of msg.left) {
    conv.roomMembers.delete(id);
    clearTyping(conv, id);
  }
  for (const member of msg.joined) conv.roomMembers.set(member.id, remember(member));
  if (msg.count !== undefined) conv.memberCount = msg.count;
  renderRoomMembers(conv);
  if (isPrivate(conv.id)) renderRooms();
}

/** The whole member list of a room (asked for when its panel opens). */
export function onRoomMemberList(msg) {
  const conv = state.convs.get(`room:${msg.room}`);
  if (!conv) return;
  conv.roomMembers = new Map(msg.members.map((m) => [m.id, remember(m)]));
  conv.memberCount = msg.count;
  renderRoomMembers(conv);
}

export function onLeft(msg) {
  removeConv(`room:${msg.room}`);
}

/** A private room's info changed (created, renamed, new owner). */
export function onPrivateRoomChanged(previous, room) {
  const conv = state.convs.get(`room:${room.id}`);
  if (!conv) return;
  if (previous && previous.owner !== room.owner && room.owner) {
    const name = room.owner === state.me?.id ? state.me.nickname : (conv.roomMembers.get(room.owner) || state.known.get(room.owner))?.nickname;
    if (name) addItem(conv, { type: 'system', key: 'private.ownerNow', params: { name } }, { live: false });
  }
  renderHeader(conv);
  renderRoomMembers(conv);
  renderTabs();
}

export function onInvitationAnswer(msg) {
  const conv = state.convs.get(`room:${msg.room}`);
  if (!conv || msg.accepted) return;
  const name = state.known.get(msg.member)?.nickname || '…';
  addItem(conv, { type: 'system', key: 'private.declinedBy', params: { name } }, { live: false });
}

// ---------------------------------------------------------------------------------- typing

export function onTyping(msg) {
  if (!msg.member || msg.member.id === state.me?.id) return;
  const conv = msg.room ? state.convs.get(`room:${msg.room}`) : state.convs.get(`dm:${msg.from}`);
  if (!conv) return;
  const previous = conv.typing.get(msg.member.id);
  if (previous) clearTimeout(previous.timer);
  const timer = setTimeout(() => clearTyping(conv, msg.member.id), TYPING_SHOW_MS);
  conv.typing.set(msg.member.id, { nickname: msg.member.nickname, timer });
  renderTyping(conv);
}

function clearTyping(conv, id) {
  const entry = conv.typing.get(id);
  if (!entry) return;
  clearTimeout(entry.timer);
  conv.typing.delete(id);
  renderTyping(conv);
}

function renderTyping(conv) {
  const names = Array.from(conv.typing.values()).map((e) => e.nickname);
  let text = '';
  if (names.length === 1) text = t('typing.one', { name: names[0] });
  else if (names.length === 2) text = t('typing.two', { a: names[0], b: names[1] });
  else if (names.length > 2) text = t('typing.many');
  setText(conv.nodes.typing, text);
}

// ---------------------------------------------------------------------------------- private

export function openDm(member) {
  const conv = ensureDm(member.id, member.age !== undefined ? member : undefined);
  renderHeader(conv);
  renderNotice(conv);
  activate(conv.key, { focus: true });
  return conv;
}

/** The peer of a `dm` event. protocol.md names it `with`; the server sends `from` and `to`. */
function dmWith(msg) {
  if (msg.with) return msg.with;
  return msg.from === state.me?.id ? msg.to : msg.from;
}

function dmEntry(conv, entry, live) {
  if (entry.seq !== undefined) conv.lastSeq = Math.max(conv.lastSeq, entry.seq);
  if (conv.ids.has(entry.id)) {
    const known = conv.items.find((i) => i.type === 'msg' && i.id === entry.id);
    if (known && known.seq === undefined) known.seq = entry.seq;
    return;
  }
  const mine = entry.from === state.me?.id ? matchMine(conv, entry) : null;
  if (mine) {
    mine.seq = entry.seq;
    conv.ids.add(entry.id);
    refresh(conv, mine);
  } else {
    conv.ids.add(entry.id);
    const from = entry.from === state.me?.id
      ? { id: state.me.id, nickname: state.me.nickname }
      : { id: entry.from, nickname: dmPeer(conv).nickname };
    if (from.id !== state.me?.id) clearTyping(conv, from.id);
    addItem(conv, { type: 'msg', id: entry.id, seq: entry.seq, from, text: entry.text, at: entry.at }, { live });
  }
}

export function onDm(msg) {
  const conv = ensureDm(dmWith(msg));
  const known = conv.ids.has(msg.id);
  dmEntry(conv, msg, true);
  if (!known && msg.from !== state.me?.id) {
    alertPrivate('dm', dmPeer(conv).nickname, { shown: state.active === conv.key, tag: conv.key, onClick: () => activate(conv.key, { focus: true }) });
  }
}

export function onDmHistory(msg) {
  const conv = state.convs.get(`dm:${msg.with}`);
  if (!conv) return;
  if (conv.loadingOlder) {
    conv.loadingOlder = false;
    conv.more = !!msg.more;
    prependBatch(conv, () => {
      for (const entry of msg.messages) dmEntry(conv, entry, false);
    });
    refreshOlder(conv);
    return;
  }
  for (const entry of msg.messages) dmEntry(conv, entry, false);
  failStale(conv);
}

export function onDmRequest(msg) {
  state.dmStates.set(msg.from.id, 'pending_in');
  const conv = ensureDm(msg.from.id, msg.from);
  const changed = conv.state !== 'pending_in';
  conv.state = 'pending_in';
  conv.request = msg.message;
  dmEntry(conv, { ...msg.message, from: msg.from.id }, true);
  renderHeader(conv);
  renderNotice(conv);
  if (changed) {
    renderTabs();
    announce(t('a11y.request', { name: msg.from.nickname }));
    alertPrivate('request', msg.from.nickname, { shown: state.active === conv.key, tag: conv.key, onClick: () => activate(conv.key, { focus: true }) });
  }
  if (!state.active) activate(conv.key);
}

export function onDmState(msg) {
  let conv = state.convs.get(`dm:${msg.with}`);
  if (msg.member) remember(msg.member);
  state.dmStates.set(msg.with, msg.state);
  if (!conv) {
    // A state for a conversation I closed: only worth reopening when it needs me.
    if (!msg.member && !state.known.has(msg.with)) return;
    if (!['pending_in', 'open', 'pending_out'].includes(msg.state)) return;
    conv = ensureDm(msg.with);
  }
  setDmState(conv, msg.state, true);
}

export function setDmState(conv, next, announce) {
  const previous = conv.state;
  state.dmStates.set(conv.id, next);
  conv.state = next;
  if (announce && previous !== next) {
    const name = dmPeer(conv).nickname;
    if (next === 'open') addItem(conv, { type: 'system', key: 'dm.state.open', params: { name } }, { live: false });
    else if (['declined', 'closed'].includes(next)) addItem(conv, { type: 'system', key: `dm.state.${next}`, params: { name } }, { live: false });
  }
  if (next !== 'pending_in') conv.request = null;
  renderHeader(conv);
  renderNotice(conv);
  renderTabs();
}

export function onCard(msg) {
  let conv = msg.with ? state.convs.get(`dm:${msg.with}`) : activeConv();
  if (!conv && msg.with) conv = ensureDm(msg.with);
  if (!conv) return;
  addItem(conv, { type: 'card', kind: msg.kind });
  if (msg.kind === 'minor_warning') {
    conv.minor = true;
    renderNotice(conv);
  }
}

/** Messages removed by a moderator: they stay in place, replaced by a notice. */
export function onDeleted(msg) {
  const ids = new Set(msg.ids || []);
  const targets = msg.room ? [state.convs.get(`room:${msg.room}`)] : Array.from(state.convs.values()).filter((c) => c.kind === 'dm');
  for (const conv of targets) {
    if (!conv) continue;
    for (const item of conv.items) {
      if (item.type === 'msg' && ids.has(item.id) && !item.deleted) {
        item.deleted = true;
        item.text = '';
        item.card = undefined;
        refresh(conv, item);
      }
    }
  }
}

export function onBlockedChanged(id) {
  const conv = state.convs.get(`dm:${id}`);
  if (conv) {
    renderHeader(conv);
    renderNotice(conv);
  }
}

/** Focus the composer of the conversation shown (skip link, keyboard users). */
export function focusComposer() {
  const conv = activeConv();
  if (!conv) return false;
  // A conversation where I cannot write yet (a request waits): its messages.
  if (conv.nodes.input.disabled) conv.nodes.log.focus();
  else conv.nodes.input.focus();
  return true;
}
