// Modals: the two-click report form and the "are you sure?" before sharing contact details.
// Focus is kept inside the open modal; Escape closes it and focus returns where it was.

import { $, $$, clear, el } from './dom.js';
import { t } from './i18n.js';
import { memberRow } from './members.js';

let open = null; // {modal, restore, onClose}
let sendReport = () => {};
let reportTarget = null;
let confirmResolve = null;

function focusables(modal) {
  return $$('button, input, textarea, select, [tabindex]:not([tabindex="-1"])', modal)
    .filter((n) => !n.disabled && !n.hidden && n.offsetParent !== null);
}

/**
 * Shows one modal (any other closes first). Focus goes to `focus` (or the first control) and
 * comes back, on close, to where it was before the first of a chain of modals: a report opened
 * from a profile card returns to the member the card was opened from.
 */
export function show(modal, focus, onClose) {
  let restore = document.activeElement;
  if (open) {
    restore = open.restore;
    const { modal: previous, onClose: previousClose } = open;
    open = null;
    previous.hidden = true;
    if (previousClose) previousClose();
  }
  open = { modal, restore, onClose };
  $('#modal-layer').hidden = false;
  modal.hidden = false;
  (focus || focusables(modal)[0])?.focus();
}

export function close() {
  if (!open) return;
  const { modal, restore, onClose } = open;
  open = null;
  modal.hidden = true;
  $('#modal-layer').hidden = true;
  if (onClose) onClose();
  if (restore && document.contains(restore) && restore.offsetParent !== null) restore.focus();
  else fallbackFocus();
}

/** The element focus came from is gone (the session ended meanwhile): the screen's first field. */
function fallbackFocus() {
  const target = document.querySelector('main:not([hidden]) input:not([type="hidden"]):not([disabled]), main:not([hidden]) button:not([disabled])');
  if (target && target.offsetParent !== null) target.focus();
}

export function isOpen() {
  return !!open;
}

/** The id of the modal on screen, or null. */
export function openModalId() {
  return open ? open.modal.id : null;
}

/**
 * Opens the report form for a member, optionally about one message.
 * @param {{member: {id, nickname}, message?: {id, text}, room?: string}} target
 */
export function openReport(target) {
  reportTarget = target;
  const form = $('#report-form');
  form.reset();
  $('#report-who').textContent = target.member.nickname;
  const quote = $('#report-quote');
  quote.textContent = target.message ? t('common.quote', { text: target.message.text }) : '';
  quote.hidden = !target.message;
  show($('#report-modal'), $('input[name="category"]', form), () => { reportTarget = null; });
}

/** Asks before sending contact details; resolves true to send. */
export function confirmShare(text) {
  if (confirmResolve) confirmResolve(false);
  $('#confirm-quote').textContent = t('common.quote', { text });
  return new Promise((resolve) => {
    confirmResolve = resolve;
    show($('#confirm-modal'), $('[data-action="confirm-no"]'), () => {
      const pending = confirmResolve;
      confirmResolve = null;
      if (pending) pending(false);
    });
  });
}

/** Only links to this site (a relative path or this origin) are followed from server data. */
function safeHref(url) {
  try {
    const parsed = new URL(url, location.origin);
    if (parsed.origin === location.origin && (parsed.protocol === 'http:' || parsed.protocol === 'https:')) return parsed.href;
  } catch { /* not a URL */ }
  return null;
}

/** A moderator's decision: the statement of reasons, with how to appeal. */
export function showStatement(statement, formatTime) {
  const set = (id, text) => {
    const node = $(`#${id}`);
    node.textContent = text || '';
    node.hidden = !text;
    const label = node.previousElementSibling;
    if (label && label.tagName === 'DT') label.hidden = !text;
  };
  set('st-kind', statement.kind_label || statement.kind);
  set('st-reason', statement.reason_label || statement.reason);
  set('st-rule', statement.rule);
  set('st-facts', statement.facts);
  set('st-until', statement.until ? formatTime(statement.until) : '');
  $('#st-automated').hidden = !statement.automated;
  // The code, unless the server's sentence already gives it.
  const how = statement.how_to_appeal || '';
  const code = statement.appeal_code && !how.includes(statement.appeal_code) ? t('sanction.code', { code: statement.appeal_code }) : '';
  const appeal = [how, code].filter(Boolean).join(' ');
  $('#st-appeal').textContent = appeal;
  $('#st-appeal').hidden = !appeal;
  const link = $('#st-appeal-link');
  const href = statement.appeal_url ? safeHref(statement.appeal_url) : null;
  link.hidden = !href;
  if (href) link.href = href;
  show($('#sanction-modal'), $('[data-action="close-modal"]', $('#sanction-modal')));
}

/** True when the statement of reasons is on screen (it survives the end of the session). */
export function statementOpen() {
  return !!open && open.modal.id === 'sanction-modal';
}

function answerConfirm(yes) {
  const resolve = confirmResolve;
  confirmResolve = null;
  close();
  if (resolve) resolve(yes);
}

// ---------------------------------------------------------------- private rooms

let createRoom = () => {};
let inviteState = null; // {room, members, invited: Set, onInvite}

/** The "create a private room" form; its answer comes later (created, or refused). */
export function openCreateRoom() {
  const form = $('#create-room-form');
  form.reset();
  setCreateError('');
  show($('#create-room-modal'), $('#create-room-name'));
}

function setCreateError(message) {
  const box = $('#create-room-error');
  box.textContent = message;
  box.hidden = !message;
  if (message) $('#create-room-name').setAttribute('aria-invalid', 'true');
  else $('#create-room-name').removeAttribute('aria-invalid');
}

/** The server refused the name: say why, in the form. False when the form is not open. */
export function createRoomRefused(message) {
  if (!open || open.modal.id !== 'create-room-modal') return false;
  setCreateError(message);
  $('#create-room-name').focus();
  return true;
}

export function createRoomDone() {
  if (open && open.modal.id === 'create-room-modal') close();
}

/**
 * Lets me pick members to invite to a private room.
 * @param {{name: string}} room
 * @param {Array<object>} members  candidates (my member list minus the room's members)
 * @param {(member: object) => boolean} onInvite  true when the invitation went out
 */
export function openInvite(room, members, onInvite) {
  inviteState = { members, invited: new Set(), onInvite };
  $('#invite-room').textContent = room.name;
  $('#invite-search').value = '';
  renderInvite();
  show($('#invite-modal'), $('#invite-search'), () => { inviteState = null; });
}

function renderInvite() {
  if (!inviteState) return;
  const list = $('#invite-list');
  const search = $('#invite-search').value.trim().toLowerCase();
  clear(list);
  const shown = inviteState.members.filter((m) => !search || m.nickname.toLowerCase().includes(search));
  for (const member of shown) {
    const done = inviteState.invited.has(member.id);
    const row = memberRow(member, done ? 'is-invited' : '');
    row.removeAttribute('aria-haspopup');
    row.disabled = done;
    row.append(el('span', { class: 'invite-state mono', text: done ? t('private.invited') : t('private.invite') }));
    list.append(el('li', {}, row));
  }
  $('#invite-empty').hidden = shown.length > 0;
}

export function initModals(handlers) {
  sendReport = handlers.report;
  createRoom = handlers.createRoom;
  $('#create-room-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const name = $('#create-room-name').value.trim();
    const length = Array.from(name).length;
    if (length < 3 || length > 40) {
      setCreateError(t('private.nameLength'));
      return;
    }
    setCreateError('');
    createRoom(name);
  });
  $('#invite-search').addEventListener('input', renderInvite);
  $('#invite-list').addEventListener('click', (event) => {
    const row = event.target.closest('[data-member]');
    if (!row || !inviteState) return;
    const member = inviteState.members.find((m) => m.id === row.dataset.member);
    if (member && inviteState.onInvite(member)) {
      inviteState.invited.add(member.id);
      renderInvite();
      $('#invite-search').focus();
    }
  });
  $('#report-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    const category = form.elements.category.value;
    if (!category || !reportTarget) {
      $('input[name="category"]', form).focus();
      return;
    }
    const comment = form.elements.comment.value.trim();
    const report = { t: 'report', member: reportTarget.member.id, category };
    if (reportTarget.message && reportTarget.message.id !== undefined) report.message = reportTarget.message.id;
    if (reportTarget.room) report.room = reportTarget.room;
    if (comment) report.comment = comment;
    sendReport(report);
    close();
  });
  $('#modal-layer').addEventListener('click', (event) => {
    const action = event.target.closest('[data-action]')?.dataset.action;
    if (action === 'close-modal') close();
    else if (action === 'confirm-yes') answerConfirm(true);
    else if (action === 'confirm-no') answerConfirm(false);
    else if (event.target === event.currentTarget) close();
  });
  document.addEventListener('keydown', (event) => {
    if (!open) return;
    if (event.key === 'Escape') {
      event.preventDefault();
      close();
    } else if (event.key === 'Tab') {
      const items = focusables(open.modal);
      if (items.length === 0) return;
      const first = items[0];
      const last = items[items.length - 1];
      if (event.shiftKey && document.activeElement === first) {
        event.preventDefault();
        last.focus();
      } else if (!event.shiftKey && document.activeElement === last) {
        event.preventDefault();
        first.focus();
      }
    }
  });
}
