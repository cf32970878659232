// The left column: themed rooms with their live member counts. Clicking one opens it.

import { $, clear, el, keepFocus } from './dom.js';
import { t } from './i18n.js';
import { state } from './state.js';

let onOpen = () => {};

export function initRooms(handlers) {
  onOpen = handlers.open;
  $('#room-list').addEventListener('click', (event) => {
    const button = event.target.closest('[data-room]');
    if (button) onOpen(button.dataset.room);
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
  renderRooms();
}

export function roomInfo(id) {
  return state.rooms.find((r) => r.id === id);
}

export function renderRooms() {
  const list = $('#room-list');
  keepFocus(list, () => fillRooms(list));
}

function fillRooms(list) {
  clear(list);
  for (const room of state.rooms) {
    const conv = state.convs.get(`room:${room.id}`);
    const isActive = state.active === `room:${room.id}`;
    const button = el('button', {
      type: 'button',
      class: `room${conv ? ' is-open' : ''}${isActive ? ' is-active' : ''}`,
      data: { room: room.id },
      attrs: { 'aria-label': t('rooms.label', { name: room.name, count: room.count }), 'aria-current': isActive ? 'true' : null },
    },
    el('span', { class: 'room-name', text: room.name }),
    el('span', { class: 'room-count mono', text: String(room.count), attrs: { 'aria-hidden': 'true' } }),
    el('span', { class: 'room-topic', text: room.topic }));
    list.append(el('li', {}, button));
  }
}
