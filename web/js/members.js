// The right column: members near me (the server's list, then presence diffs), filters by gender
// and age range (remembered in this browser). Clicking a member opens their profile card.

import { $, $$, clear, el, keepFocus, setText } from './dom.js';
import { distanceLabel, genderLetter, genderName, onlineFor, statusOf } from './format.js';
import { t } from './i18n.js';
import { remember, state } from './state.js';

const FILTER_KEY = 'papote.filter';
let onOpen = () => {};
let send = () => false;

function byDistance(a, b) {
  const da = a.distance_km ?? Number.MAX_SAFE_INTEGER;
  const db = b.distance_km ?? Number.MAX_SAFE_INTEGER;
  return da - db || a.nickname.toLowerCase().localeCompare(b.nickname.toLowerCase());
}

function loadFilter() {
  try {
    const saved = JSON.parse(localStorage.getItem(FILTER_KEY) || 'null');
    if (saved && Array.isArray(saved.gender)) state.filter = saved;
  } catch { /* default filter */ }
  const form = $('#member-filters');
  for (const box of $$('input[name="gender"]', form)) box.checked = state.filter.gender.includes(box.value);
  form.elements.age_min.value = state.filter.age_min;
  form.elements.age_max.value = state.filter.age_max;
}

let searchTimer = null;

function readFilter() {
  const form = $('#member-filters');
  const gender = $$('input[name="gender"]:checked', form).map((b) => b.value);
  const clamp = (v, d) => {
    const n = Number.parseInt(v, 10);
    return Number.isFinite(n) ? Math.min(99, Math.max(18, n)) : d;
  };
  let ageMin = clamp(form.elements.age_min.value, 18);
  let ageMax = clamp(form.elements.age_max.value, 99);
  if (ageMin > ageMax) [ageMin, ageMax] = [ageMax, ageMin];
  return { gender, age_min: ageMin, age_max: ageMax };
}

function currentSearch() {
  return $('#member-search').value.trim().toLowerCase().slice(0, 20);
}

/** Sends my filter; the server answers with a fresh `members` list. */
export function requestMembers() {
  const filter = state.filter;
  // No box ticked means nobody: say so to the server as an impossible filter rather than "all".
  const message = { t: 'members', age_min: filter.age_min, age_max: filter.age_max };
  if (filter.gender.length < 3) message.gender = filter.gender;
  const search = currentSearch();
  if (search) message.search = search;
  if (filter.gender.length === 0) {
    state.members = [];
    renderMembers();
    return;
  }
  send(message);
}

export function initMembers(handlers) {
  onOpen = handlers.open;
  send = handlers.send;
  loadFilter();
  const form = $('#member-filters');
  const changed = () => {
    state.filter = readFilter();
    try { localStorage.setItem(FILTER_KEY, JSON.stringify(state.filter)); } catch { /* not kept */ }
    requestMembers();
  };
  form.addEventListener('change', (event) => {
    if (event.target.name !== 'search') changed();
  });
  form.addEventListener('submit', (event) => { event.preventDefault(); changed(); });
  // The nickname search is not remembered; it asks the server as one types, gently.
  $('#member-search').addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(requestMembers, 250);
  });
  $('#member-list').addEventListener('click', (event) => {
    const row = event.target.closest('[data-member]');
    if (!row) return;
    const member = state.known.get(row.dataset.member);
    if (member) onOpen(member);
  });
}

function visible(member) {
  const f = state.filter;
  const search = currentSearch();
  return !state.blocked.has(member.id) && f.gender.includes(member.gender) && member.age >= f.age_min && member.age <= f.age_max
    && (!search || member.nickname.toLowerCase().includes(search));
}

export function setMembers(list) {
  state.members = list.map(remember).filter(visible);
  renderMembers();
}

export function applyPresence(joined, left) {
  const gone = new Set(left || []);
  let members = state.members.filter((m) => !gone.has(m.id));
  for (const member of joined || []) {
    remember(member);
    if (!visible(member)) continue;
    members = members.filter((m) => m.id !== member.id);
    members.push(member);
  }
  members.sort(byDistance);
  state.members = members;
  renderMembers();
}

export function removeMember(id) {
  state.members = state.members.filter((m) => m.id !== id);
  renderMembers();
}

/** One member row: "nickname, age, gender letter, city, distance". Also used in room lists. */
export function memberRow(member, extraClass = '') {
  const distance = distanceLabel(member.distance_km);
  const status = statusOf(member);
  const online = onlineFor(member.since);
  // What the eyes get from the marks, screen readers get in words (no aria-label: the name
  // read is the text shown, plus these).
  const spoken = [genderName(member.gender), t(`status.${status}`), online].filter(Boolean).join(', ');
  return el('button', {
    type: 'button',
    class: `member is-${status} ${extraClass}`.trim(),
    data: { member: member.id },
    title: online || undefined,
    attrs: { 'aria-haspopup': 'dialog' },
  },
  el('span', { class: `gender-mark g-${member.gender}`, text: genderLetter(member.gender), attrs: { 'aria-hidden': 'true' } }),
  el('span', { class: 'member-nick' }, el('span', { class: `status-dot s-${status}`, attrs: { 'aria-hidden': 'true' } }), member.nickname),
  el('span', { class: 'member-age mono' }, String(member.age), el('span', { class: 'sr-only', text: ` ${t('members.years')}` })),
  el('span', { class: 'member-city', text: member.city || '' }),
  el('span', { class: 'member-distance mono', text: distance }),
  el('span', { class: 'sr-only', text: `, ${spoken}` }));
}

export function renderMembers() {
  const list = $('#member-list');
  keepFocus(list, () => {
    clear(list);
    for (const member of state.members) list.append(el('li', {}, memberRow(member)));
  });
  $('#members-empty').hidden = state.members.length > 0;
  setText($('#members-count'), String(state.members.length));
  setText($('#members-btn-count'), String(state.members.length));
}
