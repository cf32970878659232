// Boot and wiring: session check, entry, the socket and its messages, drawers, language.
//
// The client, one concern per module (no framework, no build step; served by the binary):
//   api.js            HTTP: /api/session, /api/entry, /api/communes, /api/leave
//   socket.js         the WebSocket: reconnect with backoff, keep-alive, fatal close codes
//   state.js          what the client knows (me, rooms, conversations, members, blocks)
//   entry.js          the entry form, field errors, the under-18 refusal panel
//   rooms.js          left column: themed rooms and live counts
//   members.js        right column: members near me, filters, presence diffs
//   conversations.js  centre: tabs, logs, composer, pending lines, typing, requests, resume
//   cards.js          safety cards (meeting, contact, minor_warning)
//   modal.js          report form, "are you sure?" before contact details, statements
//   profile.js        a member's card: details, message, ignore, block, report
//   settings.js       the settings menu: language, opt-in alerts
//   notify.js         alerts for private messages: a WebAudio sound, browser notifications
//   announce.js       screen-reader live regions (polite lines, assertive safety)
//   i18n.js           strings from ../i18n/fr.js and ../i18n/en.js
//   dom.js, format.js helpers (text only ever goes in with textContent)
// docs/protocol.md is the contract; every server message type is routed in HANDLERS below.

import * as api from './api.js';
import * as convs from './conversations.js';
import { $, el } from './dom.js';
import { fullTime, STATUSES } from './format.js';
import { initEntry, showApp, showEntry } from './entry.js';
import { applyI18n, currentLang, onLangChange, t, toggleLang } from './i18n.js';
import { applyPresence, initMembers, removeMember, renderMembers, requestMembers, setMembers } from './members.js';
import { clearAnnouncements } from './announce.js';
import { close as closeModal, createRoomDone, createRoomRefused, initModals, isOpen as modalOpen, openCreateRoom, openReport, showStatement, statementOpen } from './modal.js';
import { alertPrivate, initAlerts } from './notify.js';
import { initProfile, openProfile, refreshProfile } from './profile.js';
import { initSettings, openSettings } from './settings.js';
import { addInvitation, forgetPrivateRoom, initRooms, isPrivate, renderRooms, setCounts, setPrivateRooms, setRooms, updatePrivateRoom } from './rooms.js';
import { Socket } from './socket.js';
import { remember, resetState, state } from './state.js';

let socket = null;
/** True until the first `welcome` after an entry: then the welcome room opens by itself. */
let freshEntry = false;
/** Rooms to show as soon as they are joined (a private room I created or accepted). */
const openWhenJoined = new Set();
/** A private room was asked for and not yet created. */
let creatingRoom = false;

// ---------------------------------------------------------------------------------- toasts

function toast(message, kind = 'info') {
  if (!message) return;
  const box = $('#toasts');
  const item = el('p', { class: `toast toast-${kind}`, text: message });
  box.append(item);
  setTimeout(() => item.classList.add('is-leaving'), 4500);
  setTimeout(() => item.remove(), 5000);
}

// ---------------------------------------------------------------------------------- status

function setStatus(connState) {
  const status = $('#status');
  const text = connState === 'open' ? '' : t(`status.${connState}`);
  status.textContent = text;
  status.dataset.state = connState;
  status.hidden = !text;
}

// ---------------------------------------------------------------------------------- socket

function send(msg) {
  return socket ? socket.send(msg) : false;
}

function socketUrl() {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/ws?lang=${currentLang()}`;
}

async function sessionAlive() {
  const result = await api.session();
  if (result.status === 401) return false;
  return true; // alive, or unknown (network): keep trying
}

function onFatal(code) {
  // A moderator's decision arrived just before the close: the entry page says so.
  const notice = statementOpen() ? t('error.sanctioned') : (code === 1008 ? t('error.policy') : t('error.sessionEnded'));
  endChat();
  showEntry(notice);
}

function onWelcome(msg) {
  state.connection += 1;
  state.me = msg.me;
  convs.setLimits(msg.limits);
  renderMe();
  setRooms(msg.rooms);
  setPrivateRooms(msg.private_rooms || []);
  state.blocked = new Set(msg.blocked || []);
  state.ignored = new Set(msg.ignored || []);
  // Rooms: the ones the session is in, and the ones this page has open; resume each.
  const rooms = new Set([...(msg.joined || [])]);
  for (const conv of state.convs.values()) if (conv.kind === 'room') rooms.add(conv.id);
  if (freshEntry && rooms.size === 0 && msg.rooms.length > 0) {
    rooms.add(msg.rooms[0].id);
  }
  for (const room of rooms) {
    const existing = convs.findConv(`room:${room}`);
    const conv = convs.ensureRoom(room);
    const join = { t: 'join', room };
    if (existing && existing.lastSeq > 0) join.since = existing.lastSeq;
    send(join);
    // After entering, the keyboard lands in the welcome room's composer (not on touch screens,
    // where it would pop the on-screen keyboard over the room at once).
    if (freshEntry && !state.active) convs.activate(conv.key, { focus: !modalOpen() && !matchMedia('(pointer: coarse)').matches });
  }
  // Private conversations: the server's list, plus the tabs open here; resume each.
  for (const c of msg.conversations || []) {
    remember(c.with);
    const closedHere = state.dmStates.has(c.with.id) && !convs.findConv(`dm:${c.with.id}`);
    state.dmStates.set(c.with.id, c.state);
    // A tab this page closed stays closed, unless a request waits for an answer.
    if (closedHere && c.state !== 'pending_in') continue;
    const conv = convs.ensureDm(c.with.id, c.with, { fetch: false }); // fetched just below
    convs.setDmState(conv, c.state, conv.items.length > 0);
  }
  const live = new Set((msg.conversations || []).map((c) => c.with.id));
  for (const conv of state.convs.values()) {
    if (conv.kind !== 'dm') continue;
    if (conv.state === 'new') {
      convs.failStale(conv);
      continue;
    }
    if (!live.has(conv.id)) {
      // The server forgot it while we were away: the other member left.
      convs.setDmState(conv, 'closed', true);
      convs.failStale(conv);
      continue;
    }
    const history = { t: 'dm_history', with: conv.id };
    if (conv.lastSeq > 0) history.since = conv.lastSeq;
    send(history);
  }
  if (!state.active && state.convs.size > 0) convs.activate(state.convs.keys().next().value);
  freshEntry = false;
  // My availability survives reloads in this browser; the server starts at "available".
  if (myStatus() !== 'available') send({ t: 'status', status: myStatus() });
  syncStatusSelects();
  requestMembers();
  convs.flushQueue();
  renderRooms();
}

const HANDLERS = {
  welcome: onWelcome,
  rooms: (m) => setCounts(m.counts || {}),
  joined: (m) => {
    convs.onJoined(m);
    if (openWhenJoined.delete(m.room)) {
      convs.activate(`room:${m.room}`, { focus: true });
      closeDrawerIfNarrow();
    }
  },
  left: (m) => {
    convs.onLeft(m);
    if (isPrivate(m.room)) forgetPrivateRoom(m.room);
  },
  history: convs.onHistory,
  private_room: (m) => {
    if (!m.room) return;
    const previous = state.privateRooms.get(m.room.id);
    updatePrivateRoom(m.room);
    if (creatingRoom && !previous) {
      creatingRoom = false;
      openWhenJoined.add(m.room.id);
      createRoomDone();
    }
    convs.onPrivateRoomChanged(previous, m.room);
  },
  room_invitation: (m) => {
    if (!m.room || !m.from) return;
    addInvitation(m.room, m.from);
    toast(t('private.invitationToast', { name: m.from.nickname, room: m.room.name }));
    alertPrivate('invitation', m.from.nickname, { tag: `invitation:${m.room.id}` });
  },
  room_invitation_answer: convs.onInvitationAnswer,
  removed: (m) => {
    const room = state.privateRooms.get(m.room);
    convs.removeConv(`room:${m.room}`);
    forgetPrivateRoom(m.room);
    toast(t('private.removed', { room: room ? room.name : m.room }));
  },
  room_msg: convs.onRoomMsg,
  room_members: convs.onRoomMembers,
  room_member_list: convs.onRoomMemberList,
  typing: convs.onTyping,
  dm: convs.onDm,
  dm_request: convs.onDmRequest,
  dm_state: convs.onDmState,
  dm_history: convs.onDmHistory,
  members: (m) => {
    setMembers(m.list || []);
    refreshProfile();
  },
  presence: (m) => {
    applyPresence(m.joined, m.left);
    for (const member of m.joined || []) refreshProfile(member.id);
  },
  ack: convs.onAck,
  refused: convs.onRefused,
  confirm: convs.onConfirm,
  card: convs.onCard,
  deleted: convs.onDeleted,
  sanction: (m) => { if (m.statement) showStatement(m.statement, fullTime); },
  info: (m) => toast(m.code === 'report_received' ? t('toast.reportSent') : m.message),
  error: (m) => {
    if (['invalid_room_name', 'room_name_refused'].includes(m.code) && creatingRoom) {
      creatingRoom = false;
      if (createRoomRefused(m.message || m.code)) return;
    }
    toast(m.message || m.code, 'error');
  },
  pong: () => {},
};

function onMessage(msg) {
  const handler = HANDLERS[msg.t];
  if (handler) handler(msg);
}

// ---------------------------------------------------------------------------------- status

const STATUS_KEY = 'papote.status';

function myStatus() {
  try {
    const saved = localStorage.getItem(STATUS_KEY);
    if (STATUSES.includes(saved)) return saved;
  } catch { /* not kept */ }
  return 'available';
}

function syncStatusSelects() {
  for (const select of document.querySelectorAll('[data-status-select]')) select.value = myStatus();
}

function setMyStatus(status) {
  if (!STATUSES.includes(status)) return;
  try { localStorage.setItem(STATUS_KEY, status); } catch { /* not kept */ }
  send({ t: 'status', status });
  syncStatusSelects();
}

// ---------------------------------------------------------------------------------- lifecycle

function renderMe() {
  for (const me of [$('#me'), $('#me-drawer')]) {
    me.textContent = '';
    if (!state.me) continue;
    me.append(el('span', { class: `gender-mark g-${state.me.gender}`, text: t(`gender.letter.${state.me.gender}`), attrs: { 'aria-hidden': 'true' } }),
      el('span', { class: 'me-nick', text: state.me.nickname }),
      el('span', { class: 'me-city', text: state.me.city }));
  }
}

function startChat(member, fresh) {
  state.me = member;
  freshEntry = fresh;
  showApp();
  renderMe();
  renderMembers();
  socket = new Socket({ url: socketUrl, onMessage, onStatus: setStatus, onFatal, checkSession: sessionAlive });
  socket.start();
}

function endChat() {
  if (socket) socket.stop();
  socket = null;
  // A statement of reasons stays readable after the session ends (a ban closes the socket).
  if (!statementOpen()) closeModal();
  closeDrawer();
  convs.removeAll();
  clearAnnouncements();
  resetState();
  renderMembers();
  renderRooms();
  setStatus('open');
}

async function leaveSite() {
  // Stop first: the server closes every socket of the session (4001), this one included.
  if (socket) socket.stop();
  try { localStorage.removeItem(STATUS_KEY); } catch { /* not kept */ }
  await api.leave();
  endChat();
  showEntry();
}

// ---------------------------------------------------------------------------------- drawers

function openDrawer(which) {
  const app = $('#app');
  app.classList.remove('drawer-rooms', 'drawer-members');
  app.classList.add(`drawer-${which}`);
  $('#backdrop').hidden = false;
  for (const button of document.querySelectorAll('[data-action="open-drawer"]')) {
    button.setAttribute('aria-expanded', button.dataset.drawer === which ? 'true' : 'false');
  }
  const panel = which === 'rooms' ? $('#rooms-panel') : $('#members-panel');
  panel.querySelector('button, input')?.focus();
}

function closeDrawer() {
  const app = $('#app');
  const was = app.classList.contains('drawer-rooms') ? 'rooms' : app.classList.contains('drawer-members') ? 'members' : null;
  app.classList.remove('drawer-rooms', 'drawer-members');
  $('#backdrop').hidden = true;
  for (const button of document.querySelectorAll('[data-action="open-drawer"]')) button.setAttribute('aria-expanded', 'false');
  if (was) document.querySelector(`[data-action="open-drawer"][data-drawer="${was}"]`)?.focus();
}

// ---------------------------------------------------------------------------------- boot

function openRoom(id) {
  const existing = convs.findConv(`room:${id}`);
  const conv = convs.ensureRoom(id);
  if (!existing) send({ t: 'join', room: id });
  convs.activate(conv.key, { focus: true });
  closeDrawerIfNarrow();
}

/** A member chosen anywhere (list, room, nickname): their profile card. */
function openMember(member) {
  openProfile(member);
}

function messageMember(member) {
  closeModal();
  convs.openDm(member);
  closeDrawerIfNarrow();
}

function closeDrawerIfNarrow() {
  const app = $('#app');
  if (app.classList.contains('drawer-rooms') || app.classList.contains('drawer-members')) {
    app.classList.remove('drawer-rooms', 'drawer-members');
    $('#backdrop').hidden = true;
    for (const button of document.querySelectorAll('[data-action="open-drawer"]')) button.setAttribute('aria-expanded', 'false');
  }
}

function closeConv(key) {
  const conv = convs.findConv(key);
  if (!conv) return;
  if (conv.kind === 'room') send({ t: 'leave', room: conv.id });
  convs.removeConv(key);
}

function wireGlobalActions() {
  document.addEventListener('click', (event) => {
    const target = event.target.closest('[data-action]');
    if (!target) return;
    switch (target.dataset.action) {
      case 'switch-lang': toggleLang(); break;
      case 'open-drawer': openDrawer(target.dataset.drawer); break;
      case 'close-drawer': closeDrawer(); break;
      case 'leave-site': leaveSite(); break;
      case 'create-room': openCreateRoom(); break;
      case 'open-settings': openSettings(); break;
      case 'skip':
        event.preventDefault();
        skipToComposer();
        break;
      default:
    }
  });
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && !modalOpen()) closeDrawer();
  });
  document.addEventListener('papote:blocked', (event) => removeMember(event.detail));
  document.addEventListener('change', (event) => {
    if (event.target.matches('[data-status-select]')) setMyStatus(event.target.value);
  });
}

/** The skip link: the message box when a conversation is open, else the first useful field. */
function skipToComposer() {
  if (!$('#app').hidden) {
    closeDrawerIfNarrow();
    if (convs.focusComposer()) return;
    const room = document.querySelector('#room-list [data-room]');
    if (room && room.offsetParent !== null) room.focus();
    else $('#centre').focus();
    return;
  }
  const field = document.querySelector('main:not([hidden]) input:not([type="hidden"])');
  if (field) field.focus();
}

async function boot() {
  applyI18n();
  initEntry({ onEntered: (member, fresh) => startChat(member, fresh) });
  initRooms({
    open: openRoom,
    accept: (room) => {
      if (send({ t: 'room_accept', room })) openWhenJoined.add(room);
    },
    decline: (room) => send({ t: 'room_decline', room }),
    report: (invitation) => openReport({ member: invitation.from }),
  });
  initMembers({ open: openMember, send });
  initProfile({
    message: messageMember,
    ignore: (member, on) => convs.setIgnored(member.id, on, member.nickname),
    block: (member, on) => convs.setBlocked(member.id, on, member.nickname),
    report: (member) => openReport({ member: { id: member.id, nickname: member.nickname } }),
  });
  initSettings();
  initAlerts();
  initModals({
    report: send,
    createRoom: (name) => {
      if (send({ t: 'room_create', name })) creatingRoom = true;
    },
  });
  convs.initConversations({ send, toast });
  convs.initTabs({ close: closeConv });
  wireGlobalActions();
  onLangChange(() => {
    renderMe();
    renderMembers();
    renderRooms();
    convs.rebuildAll();
    refreshProfile();
    // The server speaks the socket's language: reopen it (rooms and conversations resume).
    if (socket) socket.restart();
  });
  const result = await api.session();
  $('#boot').removeAttribute('aria-busy');
  if (result.ok && result.data && result.data.member) {
    startChat(result.data.member, false);
  } else {
    showEntry(result.status === 0 ? t('error.network') : '');
  }
}

boot();
