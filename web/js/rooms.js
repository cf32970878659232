// The left column: themed rooms with their live member counts, then my private rooms and the
// invitations waiting for an answer. Clicking a room opens it.

import { $, clear, el, keepFocus } from './dom.js';
import { memberDetails } from './format.js';
import { t } from './i18n.js';
import { remember, state } from './state.js';

let handlers = { open: () => {}, accept: () => {}, decline: () => {}, report: () => {} };

export function initRooms(given) {
  handlers = { ...handlers, ...given };
  for (const id of ['#room-list', '#private-room-list']) {
    $(id).addEventListener('click', (event) => {
      const button = event.target.closest('[data-room]');
      if (button) handlers.open(button.dataset.room);
    });
  }
  $('#invitation-list').addEventListener('click', (event) => {
    const button = event.target.closest('[data-invitation]');
    if (!button) return;
    const invitation = state.invitations.get(button.dataset.invitation);
    if (!invitation) return;
    const action = button.dataset.answer;
    if (action === 'report') {
      handlers.report(invitation);
      return;
    }
    state.invitations.delete(button.dataset.invitation);
    renderRooms();
    if (action === 'accept') handlers.accept(invitation.room.id);
    else handlers.decline(invitation.room.id);
  });
}

export function setRooms(rooms) {
  state.rooms = rooms.map((r) => ({ ...r }));
  renderRooms();
}

export function setCounts(counts) {
  for (const room of state.rooms) {
    if (counts[room.id] !== undefined) room.count = counts[room.id];
  }
  for (const room of state.privateRooms.values()) {
    if (counts[room.id] !== undefined) room.count = counts[room.id];
  }
  renderRooms();
}

export function setPrivateRooms(rooms) {
  state.privateRooms = new Map((rooms || []).map((r) => [r.id, { ...r }]));
  renderRooms();
}

/** A private room was created or changed (name, owner): replaces what I knew of it. */
export function updatePrivateRoom(room) {
  state.privateRooms.set(room.id, { ...room });
  renderRooms();
}

export function forgetPrivateRoom(id) {
  state.privateRooms.delete(id);
  renderRooms();
}

export function addInvitation(room, from) {
  remember(from);
  state.invitations.set(room.id, { room, from });
  renderRooms();
}

/** A themed or private room, by id. */
export function roomInfo(id) {
  return state.rooms.find((r) => r.id === id) || state.privateRooms.get(id);
}

export function isPrivate(id) {
  return state.privateRooms.has(id) || id.startsWith('p-');
}

export function renderRooms() {
  const list = $('#room-list');
  keepFocus(list, () => fillRooms(list, state.rooms, true));
  const privateList = $('#private-room-list');
  keepFocus(privateList, () => fillRooms(privateList, Array.from(state.privateRooms.values()), false));
  const invitations = $('#invitation-list');
  keepFocus(invitations, () => fillInvitations(invitations));
  $('#private-empty').hidden = state.privateRooms.size > 0 || state.invitations.size > 0;
  // The drawer button says when an invitation waits (phones).
  const button = document.querySelector('[data-action="open-drawer"][data-drawer="rooms"]');
  const news = state.invitations.size > 0 || Array.from(state.convs.values()).some((c) => c.kind === 'room' && c.key !== state.active && (c.mentions || 0) > 0);
  if (button) button.classList.toggle('has-news', news);
}

function fillRooms(list, rooms, withTopic) {
  clear(list);
  for (const room of rooms) {
    const conv = state.convs.get(`room:${room.id}`);
    const isActive = state.active === `room:${room.id}`;
    const unread = conv && !isActive ? conv.unread : 0;
    const mentions = conv && !isActive ? (conv.mentions || 0) : 0;
    // Screen readers hear "cuisine, 3 en ligne, 2 non lus"; the figures are for the eyes.
    let spoken = `, ${t('rooms.online', { count: room.count })}`;
    if (unread) spoken += `, ${t('tabs.unread', { count: unread })}`;
    if (mentions) spoken += `, ${t('tabs.mentions', { count: mentions })}`;
    const badges = el('span', { class: 'room-badges', attrs: { 'aria-hidden': 'true' } });
    if (mentions) badges.append(el('span', { class: 'badge-mention mono', text: `@${mentions > 9 ? '9+' : mentions}` }));
    if (unread) badges.append(el('span', { class: 'badge-unread mono', text: unread > 99 ? '99+' : String(unread) }));
    badges.append(el('span', { class: 'room-count mono', text: String(withTopic || !conv ? room.count : conv.roomMembers.size) }));
    const button = el('button', {
      type: 'button',
      class: `room${conv ? ' is-open' : ''}${isActive ? ' is-active' : ''}`,
      data: { room: room.id },
      attrs: { 'aria-current': isActive ? 'true' : null },
    },
    el('span', { class: 'room-name', text: room.name }),
    el('span', { class: 'sr-only', text: spoken }),
    badges);
    if (withTopic) button.append(el('span', { class: 'room-topic', text: room.topic }));
    else if (room.owner === state.me?.id) button.append(el('span', { class: 'room-topic', text: t('private.owner') }));
    list.append(el('li', {}, button));
  }
}

function fillInvitations(list) {
  clear(list);
  for (const [id, { room, from }] of state.invitations) {
    const answer = (key, action, extra) => el('button', {
      type: 'button', class: `btn btn-small ${extra}`, text: t(key), data: { invitation: id, answer: action },
    });
    list.append(el('li', { class: 'invitation' },
      el('p', { text: t('private.invitation', { name: from.nickname, details: memberDetails(from), room: room.name }) }),
      el('div', { class: 'invitation-actions' },
        answer('private.accept', 'accept', 'btn-primary'),
        answer('private.decline', 'decline', 'btn-ghost'),
        answer('private.report', 'report', 'btn-danger-ghost'))));
  }
}
