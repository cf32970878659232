// The profile card: opened from a member (nearby list, a room's member list, a nickname in a
// message). Nickname, age, gender, city, rounded distance, time online, status; then send a
// message, ignore or show again, block or unblock, report. It follows live changes (status,
// block) while open.

import { $, clear, el } from './dom.js';
import { distanceLabel, genderLetter, genderName, onlineDuration, statusOf } from './format.js';
import { t } from './i18n.js';
import { openModalId, show } from './modal.js';
import { state } from './state.js';

let handlers = { message: () => {}, ignore: () => {}, block: () => {}, report: () => {} };
/** The member shown: {id, nickname, ...} as given when opened (state.known is preferred). */
let shown = null;

function member() {
  if (!shown) return null;
  return { ...shown, ...(state.known.get(shown.id) || {}) };
}

export function initProfile(given) {
  handlers = { ...handlers, ...given };
  $('#profile-modal').addEventListener('click', (event) => {
    const button = event.target.closest('[data-profile]');
    const who = member();
    if (!button || !who || button.disabled) return;
    switch (button.dataset.profile) {
      case 'message': handlers.message(who); break;
      case 'ignore': handlers.ignore(who, !state.ignored.has(who.id)); break;
      case 'block': handlers.block(who, !state.blocked.has(who.id)); break;
      case 'report': handlers.report(who); break;
      default:
    }
  });
}

export function profileOpen() {
  return openModalId() === 'profile-modal' && shown !== null;
}

/** Opens the card of a member (never mine). */
export function openProfile(given) {
  if (!given || !given.id || given.id === state.me?.id) return;
  shown = { ...given };
  render();
  show($('#profile-modal'), $('[data-profile="message"]'), () => { shown = null; });
  // A blocked member cannot be written to: focus the first control that works.
  const message = $('[data-profile="message"]');
  if (message.disabled) $('[data-profile="ignore"]').focus();
}

/** Live changes (presence, block, ignore, language): redraw when that member is shown. */
export function refreshProfile(id) {
  if (!profileOpen() || (id && id !== shown.id)) return;
  render();
}

function fact(list, label, value) {
  if (value === undefined || value === null || value === '') return;
  list.append(el('dt', { text: label }), el('dd', { text: String(value) }));
}

function render() {
  const who = member();
  if (!who) return;
  const title = $('#profile-title');
  clear(title);
  if (who.gender) title.append(el('span', { class: `gender-mark g-${who.gender}`, text: genderLetter(who.gender), attrs: { 'aria-hidden': 'true' } }), ' ');
  title.append(el('span', { class: 'mono', text: who.nickname }));
  const status = statusOf(who);
  const statusLine = $('#profile-status');
  clear(statusLine);
  statusLine.append(el('span', { class: `status-dot s-${status}`, attrs: { 'aria-hidden': 'true' } }), t(`status.${status}`));
  const facts = $('#profile-facts');
  clear(facts);
  if (who.age) fact(facts, t('profile.age'), t('members.age', { age: who.age }));
  if (who.gender) fact(facts, t('profile.gender'), genderName(who.gender));
  fact(facts, t('profile.city'), who.city);
  fact(facts, t('profile.distance'), distanceLabel(who.distance_km));
  fact(facts, t('profile.online'), onlineDuration(who.since));
  const blocked = state.blocked.has(who.id);
  const ignored = state.ignored.has(who.id);
  const note = $('#profile-note');
  note.textContent = blocked ? t('dm.state.blocked', { name: who.nickname }) : (ignored ? t('profile.ignoredNote', { name: who.nickname }) : '');
  note.hidden = !note.textContent;
  const message = $('[data-profile="message"]');
  message.disabled = blocked;
  message.textContent = t('profile.message');
  $('[data-profile="ignore"]').textContent = ignored ? t('profile.unignore') : t('profile.ignore');
  $('[data-profile="block"]').textContent = blocked ? t('profile.unblock') : t('profile.block');
  $('[data-profile="report"]').textContent = t('profile.report');
  $('#profile-modal').setAttribute('aria-describedby', 'profile-status');
}
