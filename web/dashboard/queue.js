/** The deliberation queue: open held messages, each with its impact breakdown, policy decision, message and a decision form. */
import { api, describeError } from './api.js';
import { h, relative, time } from './dom.js';

const OPEN_STATUSES = ['pending', 'under_review', 'escalated'];
const PRIORITY_NAMES = ['LOW', 'NORMAL', 'HIGH', 'CRITICAL'];

/**
 * options: { list, status, reviewer() → { reviewerId?, roles? }, onDecided(text), onError(text) }
 */
export class DeliberationQueue {
  constructor(options) {
    this.options = options;
    /** id → { article, version } */
    this.rendered = new Map();
    this.loading = undefined;
    this.again = false;
  }

  /** Reloads the open items; concurrent calls are folded into one more reload. */
  reload() {
    if (this.loading !== undefined) {
      this.again = true;
      return this.loading;
    }
    this.loading = this.load().finally(() => {
      this.loading = undefined;
      if (this.again) {
        this.again = false;
        void this.reload();
      }
    });
    return this.loading;
  }

  async load() {
    const answers = await Promise.all(OPEN_STATUSES.map((s) => api('GET', `/v1/deliberations?status=${s}&limit=200`)));
    const failed = answers.find((a) => !a.ok);
    if (failed !== undefined) {
      const text = failed.status === 503 ? 'This server runs without a deliberation service.' : `The queue cannot be read: ${describeError(failed)}`;
      this.setStatus(text);
      return;
    }
    const items = answers.flatMap((a) => a.body.items).sort((a, b) => a.createdAt - b.createdAt);
    this.render(items);
  }

  setStatus(text) {
    if (this.options.status.textContent !== text) this.options.status.textContent = text;
  }

  render(items) {
    const seen = new Set();
    let previous = null;
    for (const item of items) {
      seen.add(item.id);
      let entry = this.rendered.get(item.id);
      if (entry === undefined) {
        entry = this.create(item);
        this.rendered.set(item.id, entry);
      } else if (entry.version !== item.version) {
        entry.body.replaceWith((entry.body = this.body(item)));
        entry.version = item.version;
        entry.item = item;
      }
      // Keep the order without re-creating elements (a reason being typed is preserved).
      const expected = previous === null ? this.options.list.firstElementChild : previous.nextElementSibling;
      if (expected !== entry.article) this.options.list.insertBefore(entry.article, expected);
      previous = entry.article;
    }
    for (const [id, entry] of this.rendered) {
      if (seen.has(id)) continue;
      entry.article.remove();
      this.rendered.delete(id);
    }
    this.setStatus(items.length === 0 ? 'No messages are waiting for a decision.' : `${items.length} message${items.length === 1 ? '' : 's'} waiting for a decision.`);
  }

  create(item) {
    const titleId = `item-${item.id}-title`;
    const reasonId = `item-${item.id}-reason`;
    const resultId = `item-${item.id}-result`;
    const reason = h('textarea', { id: reasonId, name: 'reason', rows: 2, required: true, 'aria-required': 'true', maxlength: 2000, placeholder: 'Why you approve or reject this message' });
    const result = h('p', { id: resultId, class: 'message', 'aria-live': 'polite' });
    const approve = h('button', { type: 'submit', value: 'approve', class: 'approve' }, 'Approve');
    const reject = h('button', { type: 'submit', value: 'reject', class: 'reject' }, 'Reject');
    const form = h(
      'form',
      { class: 'decision', 'aria-label': 'Decision', novalidate: true },
      h('label', { for: reasonId }, 'Reason (required)'),
      reason,
      h('div', { class: 'row' }, approve, reject),
      result,
    );
    const entry = { article: null, body: this.body(item), version: item.version, item };
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const kind = event.submitter?.value === 'reject' ? 'reject' : 'approve';
      void this.decide(entry, kind, reason, result, [approve, reject]);
    });
    entry.article = h('li', { class: 'item', 'data-item-id': item.id }, h('article', { 'aria-labelledby': titleId }, entry.body, form));
    return entry;
  }

  body(item) {
    const m = item.message ?? {};
    const titleId = `item-${item.id}-title`;
    const priority = PRIORITY_NAMES[m.priority] ?? String(m.priority);
    const req = item.requirements ?? {};
    const decisions = item.decisions ?? [];
    return h(
      'div',
      { class: 'item-body' },
      h(
        'header',
        { class: 'item-head' },
        h('h3', { id: titleId }, `${m.fromAgent ?? '?'} → ${m.toAgent ?? 'broadcast'}`, h('span', { class: `badge prio-${priority.toLowerCase()}` }, priority), h('span', { class: 'badge status' }, item.status.replace('_', ' '))),
        h('p', { class: 'muted small' }, `tenant ${item.tenantId} · ${m.messageType ?? 'message'} · held ${relative(item.createdAt)} · deadline ${relative(item.deadlineAt)} · id `, h('code', {}, item.id)),
      ),
      h('p', { class: 'held-reason' }, h('strong', {}, 'Held because: '), item.reason ?? '–'),
      h('div', { class: 'item-grid' }, impactView(item.impact), policyView(item.policyDecision), requirementsView(req, decisions)),
      h('h4', {}, 'Message content'),
      h('pre', { class: 'content', tabindex: 0 }, JSON.stringify(m.content ?? null, null, 2)),
      h('p', { class: 'muted small' }, 'Digest ', h('code', {}, item.messageDigest ?? '–'), ` · created ${time(m.createdAt)}`),
    );
  }

  async decide(entry, kind, reasonField, result, buttons) {
    const reason = reasonField.value.trim();
    if (reason === '') {
      reasonField.setAttribute('aria-invalid', 'true');
      result.className = 'message error';
      result.textContent = `A reason is required to ${kind} this message.`;
      reasonField.focus();
      return;
    }
    reasonField.removeAttribute('aria-invalid');
    for (const b of buttons) b.disabled = true;
    result.className = 'message';
    result.textContent = kind === 'approve' ? 'Approving…' : 'Rejecting…';
    const body = { reason, messageDigest: entry.item.messageDigest, ...this.options.reviewer() };
    const answer = await api('POST', `/v1/deliberations/${encodeURIComponent(entry.item.id)}/${kind}`, body);
    for (const b of buttons) b.disabled = false;
    if (!answer.ok) {
      result.className = 'message error';
      result.textContent = `Refused — ${describeError(answer)}`;
      this.options.onError(`Decision on ${entry.item.id} refused: ${describeError(answer)}`);
      return;
    }
    const item = answer.body.item;
    reasonField.value = '';
    const approvals = (item.decisions ?? []).filter((d) => d.decision === 'approve').length;
    const text =
      item.outcome !== undefined
        ? `${kind === 'approve' ? 'Approved' : 'Rejected'}: outcome ${item.outcome.result} (${item.outcome.reason}).`
        : `${kind === 'approve' ? 'Approval' : 'Rejection'} recorded; ${approvals} of ${item.requirements?.minApprovers ?? '?'} approvals so far.`;
    result.className = 'message ok';
    result.textContent = text;
    this.options.onDecided(`${entry.item.tenantId}: item ${entry.item.id.slice(0, 8)}… (${entry.item.message?.fromAgent ?? '?'} → ${entry.item.message?.toAgent ?? '?'}): ${text}`);
    await this.reload();
  }
}

function impactView(impact) {
  if (impact === undefined || impact === null) return h('section', { class: 'impact' }, h('h4', {}, 'Impact'), h('p', { class: 'muted' }, 'No impact score (held by policy).'));
  const rows = Object.entries(impact.factors ?? {}).map(([name, value]) =>
    h('tr', {}, h('th', { scope: 'row' }, name), h('td', {}, h('meter', { min: 0, max: 1, value, 'aria-label': `${name} factor` }, String(value))), h('td', { class: 'num' }, Number(value).toFixed(2))),
  );
  return h(
    'section',
    { class: 'impact' },
    h('h4', {}, 'Impact'),
    h('p', { class: 'score' }, h('span', { class: 'score-value' }, Number(impact.score).toFixed(2)), h('meter', { min: 0, max: 1, low: 0.5, high: 0.8, optimum: 0, value: impact.score, 'aria-label': 'impact score' }, String(impact.score))),
    h('table', { class: 'data compact' }, h('caption', { class: 'muted small' }, 'Per-factor breakdown (0–1)'), h('tbody', {}, rows)),
  );
}

function policyView(policy) {
  const decision = policy?.decision ?? policy;
  const section = h('section', { class: 'policy' }, h('h4', {}, 'Policy decision'));
  if (decision === undefined || decision === null) {
    section.append(h('p', { class: 'muted' }, 'No policy decision recorded.'));
    return section;
  }
  const allow = decision.allow;
  section.append(
    h(
      'dl',
      { class: 'facts compact' },
      h('dt', {}, 'Decision'),
      h('dd', {}, h('span', { class: `badge ${allow === false ? 'deny' : 'permit'}` }, allow === false ? 'deny' : allow === true ? 'permit' : 'n/a')),
      h('dt', {}, 'Policies'),
      h('dd', {}, Array.isArray(decision.policyIds) && decision.policyIds.length > 0 ? decision.policyIds.join(', ') : '–'),
      h('dt', {}, 'Engine'),
      h('dd', {}, decision.engine ?? '–'),
      h('dt', {}, 'Bundle'),
      h('dd', { class: 'mono' }, decision.bundleHash ?? '–'),
    ),
    h('details', {}, h('summary', {}, 'Raw policy decision'), h('pre', {}, JSON.stringify(policy, null, 2))),
  );
  return section;
}

function requirementsView(req, decisions) {
  const roles = req.requiredRoles ?? [];
  const rule = roles.length === 0 ? 'any reviewer' : req.requireAllRoles ? `together covering ${roles.join(', ')}` : `each holding one of ${roles.join(', ')}`;
  return h(
    'section',
    { class: 'requirements' },
    h('h4', {}, 'Approval policy'),
    h('p', {}, h('strong', {}, req.policyId ?? '–'), `: ${req.minApprovers ?? '?'} approval${req.minApprovers === 1 ? '' : 's'}, ${rule}.`),
    decisions.length === 0
      ? h('p', { class: 'muted' }, 'No decisions yet.')
      : h(
          'ul',
          { class: 'decisions' },
          decisions.map((d) => h('li', {}, h('span', { class: `badge ${d.decision === 'approve' ? 'permit' : 'deny'}` }, d.decision), ` ${d.reviewerId}`, d.roles?.length ? ` [${d.roles.join(', ')}]` : '', `: ${d.reason}`)),
        ),
  );
}
