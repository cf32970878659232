// The small settings menu: language, and the opt-in alerts for private messages (a sound, a
// browser notification when the tab is hidden). Everything is kept in this browser only.

import { $ } from './dom.js';
import { currentLang, onLangChange, setLang, t } from './i18n.js';
import { show } from './modal.js';
import { alertPrefs, askNotificationPermission, beep, notificationPermission, setAlertPref } from './notify.js';

function sync() {
  const form = $('#settings-form');
  for (const radio of form.elements.lang) radio.checked = radio.value === currentLang();
  const prefs = alertPrefs();
  form.elements.sound.checked = prefs.sound;
  form.elements.notify.checked = prefs.notify && notificationPermission() === 'granted';
  if (prefs.notify && !form.elements.notify.checked) setAlertPref('notify', false);
  setNotifyState(prefs.notify ? notifyProblem(notificationPermission()) : '');
}

function notifyProblem(permission) {
  if (permission === 'unsupported') return t('settings.unsupported');
  if (permission === 'denied') return t('settings.denied');
  return '';
}

function setNotifyState(text) {
  const box = $('#settings-notify-state');
  box.textContent = text;
  box.hidden = !text;
}

export function openSettings() {
  sync();
  const checked = $('#settings-form input[name="lang"]:checked');
  show($('#settings-modal'), checked);
}

export function initSettings() {
  const form = $('#settings-form');
  form.addEventListener('submit', (event) => event.preventDefault());
  form.addEventListener('change', async (event) => {
    const input = event.target;
    if (input.name === 'lang') {
      setLang(input.value);
    } else if (input.name === 'sound') {
      setAlertPref('sound', input.checked);
      if (input.checked) beep(); // what it will sound like
    } else if (input.name === 'notify') {
      if (!input.checked) {
        setAlertPref('notify', false);
        setNotifyState('');
        return;
      }
      const permission = await askNotificationPermission();
      const ok = permission === 'granted';
      input.checked = ok;
      setAlertPref('notify', ok);
      setNotifyState(notifyProblem(permission));
    }
  });
  onLangChange(() => {
    if (!$('#settings-modal').hidden) sync();
  });
}
