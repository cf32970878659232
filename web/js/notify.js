// Alerts for private messages, requests and invitations, opt-in (settings), off by default:
// a short sound made with WebAudio (no audio file), and a browser notification when the tab is
// hidden. A notification names the sender, never the text (lock screens are seen by others).

import { t } from './i18n.js';

const KEY = 'papote.alerts';
let prefs = load();
let audio = null;

function load() {
  try {
    const saved = JSON.parse(localStorage.getItem(KEY) || 'null');
    if (saved && typeof saved === 'object') return { sound: saved.sound === true, notify: saved.notify === true };
  } catch { /* defaults */ }
  return { sound: false, notify: false };
}

export function alertPrefs() {
  return { ...prefs };
}

export function setAlertPref(name, value) {
  prefs = { ...prefs, [name]: !!value };
  try { localStorage.setItem(KEY, JSON.stringify(prefs)); } catch { /* not kept */ }
}

export function notificationsSupported() {
  return typeof window.Notification === 'function';
}

/** 'granted', 'denied', 'default', or 'unsupported'. */
export function notificationPermission() {
  return notificationsSupported() ? Notification.permission : 'unsupported';
}

/** Asks the browser (from a click or a key press); resolves to the permission. */
export async function askNotificationPermission() {
  if (!notificationsSupported()) return 'unsupported';
  if (Notification.permission !== 'default') return Notification.permission;
  try {
    return await Notification.requestPermission();
  } catch {
    return Notification.permission;
  }
}

function audioContext() {
  const Context = window.AudioContext || window.webkitAudioContext;
  if (!Context) return null;
  if (!audio) audio = new Context();
  if (audio.state === 'suspended') audio.resume().catch(() => {});
  return audio;
}

/** Two short soft notes, a Minitel-like "bip-bip". */
export function beep() {
  const ctx = audioContext();
  if (!ctx) return;
  const start = ctx.currentTime + 0.01;
  [880, 1320].forEach((frequency, i) => {
    const at = start + i * 0.11;
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = 'sine';
    osc.frequency.value = frequency;
    gain.gain.setValueAtTime(0.0001, at);
    gain.gain.exponentialRampToValueAtTime(0.12, at + 0.01);
    gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.09);
    osc.connect(gain).connect(ctx.destination);
    osc.start(at);
    osc.stop(at + 0.1);
  });
}

/** Browsers start audio only after a gesture: the first click or key press wakes it. */
export function initAlerts() {
  const wake = () => {
    if (prefs.sound) audioContext();
    document.removeEventListener('pointerdown', wake);
    document.removeEventListener('keydown', wake);
  };
  document.addEventListener('pointerdown', wake);
  document.addEventListener('keydown', wake);
}

/**
 * Something private for me: `kind` is 'dm', 'request' or 'invitation'. The sound plays when
 * the conversation is not on screen (tab hidden or another conversation shown); the
 * notification only when the tab is hidden. `onClick` brings the conversation forward.
 */
export function alertPrivate(kind, name, { shown = false, tag, onClick } = {}) {
  const hidden = document.hidden;
  if (prefs.sound && (hidden || !shown)) beep();
  if (!prefs.notify || !hidden || notificationPermission() !== 'granted') return;
  try {
    const notification = new Notification(t('notify.title'), { body: t(`notify.${kind}`, { name }), tag, lang: document.documentElement.lang });
    notification.onclick = () => {
      window.focus();
      if (onClick) onClick();
      notification.close();
    };
  } catch { /* some browsers only allow notifications from a service worker */ }
}
