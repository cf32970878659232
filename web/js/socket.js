// The WebSocket: one per tab, JSON frames tagged by "t", reconnect with backoff.
//
// Close codes (docs/protocol.md): 4001 and 1008 end the session (back to entry); 4000 (too
// slow), 1001 (server restarting or idle), 1006 (network) and anything else reconnect after
// 0.5 s, 1 s, 2 s… up to 10 s. A socket that could not even open may mean the session is gone:
// `checkSession` decides before the next try. The caller resumes rooms and conversations when
// `welcome` arrives on the new socket.

const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 10000];
const PING_EVERY_MS = 25000;
/** With a ping every 25 s, nothing heard for this long means the link is dead. */
const SILENCE_MS = 60000;
/** After the network comes back, an open socket must answer a ping within this. */
const PROBE_MS = 5000;
/** A socket still connecting after this is abandoned and retried. */
const CONNECT_TIMEOUT_MS = 10000;

export const FATAL_CODES = new Set([4001, 1008]);

export class Socket {
  /**
   * @param {object} options
   * @param {() => string} options.url
   * @param {(msg: object) => void} options.onMessage
   * @param {(state: 'connecting'|'open'|'reconnecting'|'offline') => void} options.onStatus
   * @param {(code: number, reason: string) => void} options.onFatal
   * @param {() => Promise<boolean>} options.checkSession  false: the session is gone
   */
  constructor(options) {
    this.options = options;
    this.ws = null;
    this.attempt = 0;
    this.timer = null;
    this.pingTimer = null;
    this.lastHeard = 0;
    this.stopped = true;
    this.opened = false;
    this.status = 'connecting';
    this.connectTimer = null;
    this.everOpened = false;
    window.addEventListener('online', () => this.probe());
    window.addEventListener('offline', () => {
      if (!this.stopped) this.setStatus('offline');
    });
  }

  start() {
    this.stopped = false;
    this.attempt = 0;
    this.open();
  }

  /** Closes for good (leaving the site, back to entry). */
  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.connectTimer);
    clearInterval(this.pingTimer);
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.close(1000, 'bye');
    }
  }

  /** Drops the current socket and opens a new one at once (e.g. after a language change). */
  restart() {
    if (this.stopped) return;
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.close(1000, 'restart');
    }
    clearTimeout(this.timer);
    this.attempt = 0;
    this.setStatus('reconnecting');
    this.open();
  }

  /** The network is back: reconnect now, or check that the open socket still answers. */
  probe() {
    if (this.stopped) return;
    if (!this.ws) {
      clearTimeout(this.timer);
      this.open();
      return;
    }
    if (!this.isOpen) return;
    const heard = this.lastHeard;
    this.send({ t: 'ping' });
    setTimeout(() => {
      if (this.stopped || !this.isOpen) return;
      if (this.lastHeard === heard) this.drop();
    }, PROBE_MS);
  }

  /** Gives up on the current socket and reconnects. */
  drop() {
    const ws = this.ws;
    if (!ws) return;
    this.ws = null;
    clearInterval(this.pingTimer);
    ws.close(4100, 'silent');
    this.scheduleReconnect(true);
  }

  setStatus(status) {
    this.status = status;
    this.options.onStatus(status);
  }

  get isOpen() {
    return !!this.ws && this.ws.readyState === WebSocket.OPEN;
  }

  /** Sends a message; false when the socket is not open (the caller keeps the line pending). */
  send(msg) {
    if (!this.isOpen) return false;
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  open() {
    this.setStatus(this.everOpened ? 'reconnecting' : 'connecting');
    let ws;
    try {
      ws = new WebSocket(this.options.url());
    } catch {
      this.scheduleReconnect(false);
      return;
    }
    this.ws = ws;
    this.opened = false;
    clearTimeout(this.connectTimer);
    this.connectTimer = setTimeout(() => {
      if (this.ws === ws && ws.readyState === WebSocket.CONNECTING) {
        this.ws = null;
        ws.close();
        this.scheduleReconnect(false);
      }
    }, CONNECT_TIMEOUT_MS);
    ws.addEventListener('open', () => {
      if (this.ws !== ws) return;
      clearTimeout(this.connectTimer);
      this.opened = true;
      this.everOpened = true;
      this.lastHeard = Date.now();
      clearInterval(this.pingTimer);
      this.pingTimer = setInterval(() => this.keepAlive(), PING_EVERY_MS);
    });
    ws.addEventListener('message', (event) => {
      if (this.ws !== ws) return;
      this.lastHeard = Date.now();
      let msg;
      try { msg = JSON.parse(event.data); } catch { return; }
      if (!msg || typeof msg.t !== 'string') return;
      if (msg.t === 'welcome') this.attempt = 0;
      if (this.status !== 'open') this.setStatus('open');
      this.options.onMessage(msg);
    });
    ws.addEventListener('close', (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      clearInterval(this.pingTimer);
      if (this.stopped) return;
      if (FATAL_CODES.has(event.code)) {
        this.stopped = true;
        this.options.onFatal(event.code, event.reason || '');
        return;
      }
      this.scheduleReconnect(this.opened);
    });
  }

  keepAlive() {
    if (!this.isOpen) return;
    if (Date.now() - this.lastHeard > SILENCE_MS) {
      // The link is dead without a close: drop it and reconnect.
      this.drop();
      return;
    }
    this.send({ t: 'ping' });
  }

  async scheduleReconnect(wasOpen) {
    if (this.stopped) return;
    this.setStatus(navigator.onLine === false ? 'offline' : 'reconnecting');
    if (!wasOpen) {
      // The upgrade failed: a 401 (session over) looks exactly like a network error here.
      const alive = await this.options.checkSession();
      if (this.stopped) return;
      if (alive === false) {
        this.stopped = true;
        this.options.onFatal(4001, 'no_session');
        return;
      }
    }
    const delay = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
    this.attempt += 1;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.open(), delay);
  }
}
