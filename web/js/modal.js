// Modals: the two-click report form and the "are you sure?" before sharing contact details.
// Focus is kept inside the open modal; Escape closes it and focus returns where it was.

import { $, $$ } from './dom.js';

let open = null; // {modal, restore, onClose}
let sendReport = () => {};
let reportTarget = null;
let confirmResolve = null;

function focusables(modal) {
  return $$('button, input, textarea, select, [tabindex]:not([tabindex="-1"])', modal)
    .filter((n) => !n.disabled && !n.hidden && n.offsetParent !== null);
}

function show(modal, focus, onClose) {
  if (open) close();
  open = { modal, restore: document.activeElement, onClose };
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
  if (restore && document.contains(restore)) restore.focus();
}

export function isOpen() {
  return !!open;
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
  quote.textContent = target.message ? `« ${target.message.text} »` : '';
  quote.hidden = !target.message;
  show($('#report-modal'), $('input[name="category"]', form), () => { reportTarget = null; });
}

/** Asks before sending contact details; resolves true to send. */
export function confirmShare(text) {
  if (confirmResolve) confirmResolve(false);
  $('#confirm-quote').textContent = `« ${text} »`;
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
  const appeal = [statement.how_to_appeal, statement.appeal_code ? `(${statement.appeal_code})` : ''].filter(Boolean).join(' ');
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

export function initModals(handlers) {
  sendReport = handlers.report;
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
