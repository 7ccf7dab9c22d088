/** The reviewer dashboard: identity, live metrics over SSE, health, tenants, journal and the deliberation queue. */
import { api, authHeaders, describeError, getToken, setToken } from './api.js';
import { $, count, h, micros, rate, replaceChildren, setText, svg, time } from './dom.js';
import { openEventStream } from './events.js';
import { DeliberationQueue } from './queue.js';

const HISTORY = 120;
const ACTIVITY_LIMIT = 50;
const REVIEWER_KEY = 'agent-bus.reviewer';

const state = {
  whoami: undefined,
  stream: undefined,
  previous: undefined,
  history: [],
  queueTimer: undefined,
  healthTimer: undefined,
  reloadTimer: undefined,
};

const queue = new DeliberationQueue({
  list: $('queue'),
  status: $('queue-status'),
  reviewer: reviewerFields,
  onDecided: (text) => activity(text, 'ok'),
  onError: (text) => activity(text, 'error'),
});

// ---- identity and access -------------------------------------------------------------------

function reviewerFields() {
  if (state.whoami?.mode !== 'dev') return {};
  const name = $('reviewer-name').value.trim();
  const roles = $('reviewer-roles').value.split(',').map((r) => r.trim()).filter((r) => r !== '');
  return { ...(name === '' ? {} : { reviewerId: name }), ...(roles.length === 0 ? {} : { roles }) };
}

function restoreReviewer() {
  try {
    const saved = JSON.parse(window.sessionStorage.getItem(REVIEWER_KEY) ?? '{}');
    if (typeof saved.name === 'string') $('reviewer-name').value = saved.name;
    if (typeof saved.roles === 'string') $('reviewer-roles').value = saved.roles;
  } catch {
    // nothing saved
  }
  const save = () => {
    try {
      window.sessionStorage.setItem(REVIEWER_KEY, JSON.stringify({ name: $('reviewer-name').value, roles: $('reviewer-roles').value }));
    } catch {
      // storage refused
    }
  };
  $('reviewer-name').addEventListener('change', save);
  $('reviewer-roles').addEventListener('change', save);
}

function authMessage(text) {
  const el = $('auth-message');
  el.hidden = text === '';
  el.textContent = text;
}

function showIdentity(who) {
  const dev = who.mode === 'dev';
  $('dev-reviewer').hidden = !dev;
  setText('mode', dev ? 'Dev mode: no authentication' : `Authenticated (${who.kind})`);
  if (dev) {
    setText('identity', 'Dev mode: the server accepts any identity. Decisions are recorded under the reviewer name below (default dev-reviewer) with the roles you list.');
  } else {
    const roles = who.roles.join(', ');
    const approver = who.approverRoles.length > 0 ? `; approver roles ${who.approverRoles.join(', ')}` : '';
    setText('identity', `Signed in as ${who.subject} — tenant ${who.tenantId === '*' ? 'all tenants' : who.tenantId}, roles ${roles}${approver}. Decisions are recorded under this identity.`);
  }
}

function connection(kind, text) {
  const el = $('connection');
  el.className = `pill pill-${kind}`;
  if (el.textContent !== text) el.textContent = text;
}

async function connect() {
  state.stream?.close();
  state.stream = undefined;
  const who = await api('GET', '/v1/whoami');
  if (who.status === 401) {
    connection('bad', 'Not signed in');
    authMessage(getToken() === '' ? 'This server requires authentication: enter an API key or JWT with the reviewer or admin role.' : `The token was refused (${describeError(who)}).`);
    $('token').focus();
    setText('identity', 'Identity: not signed in');
    queue.setStatus('Sign in to see the queue.');
    return;
  }
  if (!who.ok) {
    connection('bad', 'Server unreachable');
    authMessage(describeError(who));
    setTimeout(() => void connect(), 3000);
    return;
  }
  authMessage('');
  state.whoami = who.body;
  showIdentity(who.body);
  state.stream = openEventStream('/v1/events', authHeaders, { onEvent, onState });
  void queue.reload();
}

function onState(s, detail) {
  if (s === 'open') connection('ok', 'Live');
  else if (s === 'connecting') connection('wait', 'Connecting…');
  else if (s === 'retrying') connection('wait', `Reconnecting (${detail})`);
  else if (s === 'refused') {
    connection('bad', 'Live updates refused');
    authMessage(`Live updates need the reviewer or admin role (${detail}).`);
  }
}

function onEvent(name, data) {
  switch (name) {
    case 'metrics':
      renderSnapshot(data);
      break;
    case 'deliberation':
      activity(describeDeliberationEvent(data), data.type === 'rejected' || data.type === 'timed_out' ? 'error' : data.type === 'released' ? 'ok' : '');
      scheduleQueueReload();
      break;
    case 'resync':
      scheduleQueueReload();
      break;
    case 'shutdown':
      connection('wait', 'Server shutting down');
      break;
    default:
      break;
  }
}

function describeDeliberationEvent(e) {
  const who = e.details?.reviewerId ? ` by ${e.details.reviewerId}` : e.details?.by ? ` by ${e.details.by}` : '';
  const why = e.details?.reason && e.type !== 'held' ? ` — ${e.details.reason}` : '';
  const extra = e.type === 'held' && e.details?.policyId ? ` (policy ${e.details.policyId}, impact ${e.details.impactScore ?? 'n/a'})` : '';
  const what = e.type === 'decision' ? `${e.details?.decision ?? 'decision'}${who}` : `${e.type.replace('_', ' ')}${who}`;
  return `${e.tenantId}: item ${shortId(e.itemId)} ${what}${extra}${why}`;
}

function shortId(id) {
  return typeof id === 'string' && id.length > 12 ? `${id.slice(0, 8)}…` : String(id);
}

function scheduleQueueReload() {
  clearTimeout(state.reloadTimer);
  state.reloadTimer = setTimeout(() => void queue.reload(), 150);
}

function activity(text, kind = '') {
  const list = $('activity');
  list.prepend(h('li', { class: kind }, h('time', { datetime: new Date().toISOString() }, new Date().toLocaleTimeString()), ' ', text));
  while (list.childElementCount > ACTIVITY_LIMIT) list.lastElementChild.remove();
}

// ---- metrics -------------------------------------------------------------------------------

function renderSnapshot(s) {
  const prev = state.previous;
  state.previous = s;
  const bus = s.bus;
  if (prev !== undefined && s.at > prev.at) {
    const dt = (s.at - prev.at) / 1000;
    const r = (k) => Math.max(0, (bus[k] - prev.bus[k]) / dt);
    const point = { sent: r('sent'), delivered: r('delivered'), held: r('held'), rejected: r('rejected') };
    state.history.push(point);
    if (state.history.length > HISTORY) state.history.shift();
    setText('rate-sent', rate(point.sent));
    setText('rate-delivered', rate(point.delivered));
    setText('rate-held', rate(point.held));
    setText('rate-rejected', rate(point.rejected));
    drawChart();
  }
  setText('total-sent', `${count(bus.sent)} total`);
  setText('total-delivered', `${count(bus.delivered)} total`);
  setText('total-held', `${count(bus.held)} total`);
  setText('total-rejected', `${count(bus.rejected)} total`);
  const codes = Object.entries(bus.byCode ?? {});
  setText('codes', codes.length === 0 ? 'No refusals so far.' : `Refusals by code: ${codes.map(([c, n]) => `${c} ${count(n)}`).join(', ')}`);

  setText('lat-p50', micros(bus.sendLatency.p50, bus.sendLatency.count));
  setText('lat-p99', micros(bus.sendLatency.p99, bus.sendLatency.count));
  replaceChildren(
    $('stages'),
    Object.entries(bus.stages).map(([name, p]) => h('tr', {}, h('th', { scope: 'row' }, name), h('td', { class: 'num' }, micros(p.p50, p.count)), h('td', { class: 'num' }, micros(p.p99, p.count)), h('td', { class: 'num' }, count(p.count)))),
  );

  const tenants = Object.entries(s.tenants ?? {}).sort(([a], [b]) => a.localeCompare(b));
  if (s.otherTenants && s.otherTenants.sent > 0) tenants.push(['(other tenants)', s.otherTenants]);
  replaceChildren(
    $('tenants'),
    tenants.length === 0
      ? [h('tr', {}, h('td', { colspan: 5, class: 'muted' }, 'No traffic yet.'))]
      : tenants.map(([t, c]) => h('tr', {}, h('th', { scope: 'row' }, t), h('td', { class: 'num' }, count(c.sent)), h('td', { class: 'num' }, count(c.delivered)), h('td', { class: 'num' }, count(c.held)), h('td', { class: 'num' }, count(c.rejected)))),
  );

  setText('health-hash', bus.constitutionalHash);
  setText('health-started', time(bus.startedAt));
  setText('health-agents', count(bus.agents));
  setText('health-sessions', `${count(s.sessions?.sessions)} (${count(s.sessions?.attached)} connected, ${count(s.sessions?.retained)} messages held)`);
  renderJournal(s);
}

function drawChart() {
  const chart = $('rate-chart');
  const width = 600;
  const height = 120;
  const max = Math.max(1, ...state.history.flatMap((p) => [p.sent, p.delivered, p.rejected])) * 1.1;
  const step = width / (HISTORY - 1);
  const offset = (HISTORY - state.history.length) * step;
  const line = (key) =>
    svg('polyline', {
      class: `line line-${key}`,
      points: state.history.map((p, i) => `${(offset + i * step).toFixed(1)},${(height - (p[key] / max) * height).toFixed(1)}`).join(' '),
    });
  const label = svg('text', { x: 4, y: 14, class: 'chart-label' });
  label.textContent = `${rate(max / 1.1)} msg/s`;
  const last = state.history.at(-1);
  const title = svg('title');
  title.textContent = last === undefined ? 'No data yet' : `Now: ${rate(last.sent)} sent, ${rate(last.delivered)} delivered, ${rate(last.rejected)} rejected per second`;
  chart.replaceChildren(title, svg('line', { x1: 0, y1: height - 0.5, x2: width, y2: height - 0.5, class: 'axis' }), line('sent'), line('delivered'), line('rejected'), label);
}

function renderJournal(s) {
  if (s.health?.journal === 'none') {
    setText('journal-state', 'No journal on this server');
    $('journal-verify').disabled = true;
    return;
  }
  const j = s.journal;
  if (j === undefined) {
    setText('journal-state', state.whoami?.roles?.includes('admin') ? '–' : 'Needs the admin role');
    return;
  }
  setText('journal-state', j.writable === false ? `Not writable${j.error ? ` (${j.error})` : ''}` : j.lost > 0 ? `Writable — ${count(j.lost)} record(s) lost` : 'Writable');
  setText('journal-head', j.head ? `seq ${j.head.seq} · ${String(j.head.hash).slice(0, 16)}…` : '–');
  setText('journal-records', count(j.appended));
  setText('journal-seals', count(j.sealedBatches));
}

async function verifyJournal() {
  const button = $('journal-verify');
  const out = $('journal-result');
  button.disabled = true;
  out.className = 'message';
  out.textContent = 'Verifying the hash chain and seals…';
  const answer = await api('GET', '/v1/journal/verify');
  button.disabled = false;
  if (answer.status === 200 || answer.status === 409) {
    const r = answer.body;
    const issues = Array.isArray(r.issues) ? r.issues.length : 0;
    out.className = `message ${r.ok ? 'ok' : 'error'}`;
    out.textContent = r.ok
      ? `Intact: ${count(r.records)} records, ${count(r.seals)} seals${r.head ? `, head seq ${r.head.seq}` : ''}.`
      : `TAMPERED or incomplete: ${issues} issue(s)${issues > 0 ? ` — first: ${r.issues[0].kind} at ${r.issues[0].file}${r.issues[0].line ? `:${r.issues[0].line}` : ''}` : ''}.`;
    return;
  }
  out.className = 'message error';
  out.textContent = `Cannot verify: ${describeError(answer)}`;
}

// ---- health --------------------------------------------------------------------------------

async function pollHealth() {
  const [live, ready] = await Promise.all([api('GET', '/healthz'), api('GET', '/readyz')]);
  setText('health-live', live.ok ? 'ok' : live.status === 0 ? 'unreachable' : `failing (HTTP ${live.status})`);
  $('health-live').className = live.ok ? 'good' : 'bad';
  const r = ready.body ?? {};
  setText('health-ready', ready.ok ? 'ready' : ready.status === 0 ? 'unreachable' : `not ready${r.shuttingDown ? ' (shutting down)' : ''}${r.journal === 'not_writable' ? ' (journal not writable)' : ''}${r.bus === false ? ' (bus stopped)' : ''}`);
  $('health-ready').className = ready.ok ? 'good' : 'bad';
}

// ---- start ---------------------------------------------------------------------------------

function start() {
  restoreReviewer();
  $('token-form').addEventListener('submit', (event) => {
    event.preventDefault();
    setToken($('token').value.trim());
    $('token').value = '';
    void connect();
  });
  $('token-forget').addEventListener('click', () => {
    setToken('');
    void connect();
  });
  $('journal-verify').addEventListener('click', () => void verifyJournal());
  $('queue-refresh').addEventListener('click', () => void queue.reload());
  drawChart();
  void pollHealth();
  state.healthTimer = setInterval(() => void pollHealth(), 5000);
  // A fallback for servers whose deliberation port publishes no events.
  state.queueTimer = setInterval(() => {
    if (state.whoami !== undefined) void queue.reload();
  }, 15_000);
  void connect();
}

start();
