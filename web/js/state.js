// What the client knows, shared by the modules. Plain data; the modules render from it.

export const state = {
  /** My Profile, from entry or /api/session. */
  me: null,
  /** Themed rooms in display order: [{id, name, topic, count, banner}]. */
  rooms: [],
  /** Open conversations by key ("room:cuisine", "dm:m…"), in tab order. */
  convs: new Map(),
  /** Key of the conversation shown. */
  active: null,
  /** My member list, nearest first (server-sorted, kept sorted on presence). */
  members: [],
  /** Every member seen (list, rooms, requests), by id: to name a peer from an id alone. */
  known: new Map(),
  /** Private conversation states by member id, kept when a tab is closed. */
  dmStates: new Map(),
  /** Private rooms I belong to, by id: {id, name, count, private: true, owner}. */
  privateRooms: new Map(),
  /** Invitations waiting for my answer, by room id: {room, from}. */
  invitations: new Map(),
  /** Members whose public lines I hide. */
  ignored: new Set(),
  /** Members I blocked. */
  blocked: new Set(),
  /** My member-list filter as sent to the server. */
  filter: { gender: ['homme', 'femme', 'autre'], age_min: 18, age_max: 99 },
  /** Counts up on every welcome: a line sent on an older connection may have been lost. */
  connection: 0,
};

export function remember(member) {
  if (member && member.id) {
    const previous = state.known.get(member.id);
    // Room member lists carry no distance: keep the one the member list gave.
    if (previous && member.distance_km === undefined) member = { ...member, distance_km: previous.distance_km };
    if (previous && member.distance_km === null && previous.distance_km !== null && previous.distance_km !== undefined) {
      member = { ...member, distance_km: previous.distance_km };
    }
    state.known.set(member.id, member);
  }
  return member;
}

export function resetState() {
  state.me = null;
  state.rooms = [];
  state.convs.clear();
  state.active = null;
  state.members = [];
  state.known.clear();
  state.blocked.clear();
  state.dmStates.clear();
  state.privateRooms.clear();
  state.invitations.clear();
  state.ignored.clear();
  state.connection = 0;
}
