import { graph } from './api.js';
import { directoryLookup, odataString } from './directory-lookup.js';
import { errorBox, formatDate, h, pagedRows, show } from './dom.js';
import { poll } from './live.js';

const SUBJECT_TYPES = ['currentEmployee', 'formerEmployee', 'customer', 'prospectiveEmployee', 'student', 'teacher', 'faculty', 'other'];

export function renderNewRequest(main) {
  const errors = h('div', { 'aria-live': 'polite' });
  const subject = h('input', { id: 'nr-email', name: 'email', type: 'email', required: true, autocomplete: 'off', 'aria-describedby': 'nr-found' });
  const found = h('p', { id: 'nr-found', 'aria-live': 'polite' });
  // The exact user principal name, checked as the officer leaves the field: who the request will be about.
  subject.addEventListener('change', async () => {
    const upn = subject.value.trim();
    found.textContent = '';
    if (!upn) return;
    try {
      const page = await graph(
        'GET',
        `/v1.0/users?$filter=${encodeURIComponent(`userPrincipalName eq ${odataString(upn)}`)}&$select=displayName,userPrincipalName`,
      );
      found.textContent =
        page.value.length > 0
          ? `Directory: ${page.value[0].displayName ?? page.value[0].userPrincipalName}`
          : 'No user with this user principal name in the directory (a mail address may still match).';
    } catch (err) {
      found.replaceChildren(errorBox(err));
    }
  });
  const field = (id, label, input, hint) => [h('label', { for: id }, label), input, hint ? h('p', { id: `${id}-hint` }, hint) : null];
  const form = h(
    'form',
    { novalidate: true },
    field('nr-name', 'Request name', h('input', { id: 'nr-name', name: 'displayName', required: true, maxlength: 200 })),
    directoryLookup(subject, found),
    field('nr-email', 'Data subject (mail or user principal name)', subject),
    found,
    field(
      'nr-type',
      'Type',
      h('select', { id: 'nr-type', name: 'type' }, h('option', { value: 'access' }, 'access'), h('option', { value: 'export' }, 'export')),
    ),
    field(
      'nr-subject-type',
      'Data subject type',
      h(
        'select',
        { id: 'nr-subject-type', name: 'dataSubjectType' },
        SUBJECT_TYPES.map((t) => h('option', { value: t }, t)),
      ),
    ),
    field(
      'nr-regulations',
      'Regulations',
      h('input', { id: 'nr-regulations', name: 'regulations', value: 'GDPR', 'aria-describedby': 'nr-regulations-hint' }),
      'Comma-separated, e.g. GDPR, CCPA; they set the default due date.',
    ),
    field('nr-due', 'Due date (optional)', h('input', { id: 'nr-due', name: 'due', type: 'date' })),
    h('button', { type: 'submit', class: 'primary' }, 'Create request'),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const body = {
      displayName: String(data.get('displayName')).trim(),
      type: data.get('type'),
      dataSubjectType: data.get('dataSubjectType'),
      dataSubject: { email: String(data.get('email')).trim() },
      regulations: String(data.get('regulations'))
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    };
    if (data.get('due')) body.internalDueDateTime = `${data.get('due')}T00:00:00Z`;
    try {
      const created = await graph('POST', '/v1.0/security/subjectRightsRequests', body);
      location.hash = `#/requests/${encodeURIComponent(created.id)}`;
    } catch (err) {
      errors.replaceChildren(errorBox(err));
    }
  });
  show(main, h('h1', {}, 'New request'), errors, form);
}

const ACTIVE = ['notStarted', 'running'];

function operationRow(op) {
  return h(
    'tr',
    {},
    h('td', {}, h('code', {}, op.id)),
    h('td', {}, op.userId ?? '—'),
    h('td', {}, h('span', { class: `badge ${op.status}` }, op.status)),
    h('td', {}, h('progress', { max: 100, value: op.progress ?? 0, 'aria-label': `progress of ${op.id}` }), ` ${op.progress ?? 0}%`),
    h('td', {}, formatDate(op.submittedDateTime)),
    h('td', {}, op.error ? [h('code', {}, op.error.code), ' ', op.error.message] : '—'),
  );
}

export function renderExports(main) {
  const errors = h('div', { 'aria-live': 'polite' });
  const live = h('p', { class: 'live', role: 'status' });
  const tbody = h('tbody');
  // Operations still running are asked for again (live.js) and their rows replaced in place.
  const active = new Map();
  let polling = false;
  const watch = () => {
    if (polling || active.size === 0) return;
    polling = true;
    live.textContent = 'Exports are running; their rows update by themselves.';
    poll(
      live,
      async () => {
        let changed = false;
        for (const [id, tr] of [...active].slice(0, 20)) {
          const op = await graph('GET', `/v1.0/dataPolicyOperations/${encodeURIComponent(id)}`);
          const next = operationRow(op);
          if (next.textContent !== tr.textContent || next.querySelector('progress').value !== tr.querySelector('progress').value) changed = true;
          tr.replaceWith(next);
          if (ACTIVE.includes(op.status)) active.set(id, next);
          else active.delete(id);
        }
        if (active.size > 0) return changed ? 'changed' : 'same';
        polling = false;
        live.textContent = '';
        return false;
      },
      (why) => {
        polling = false;
        live.replaceChildren(why === 'deadline' ? 'Live updates stopped after 30 minutes; open Exports again to refresh.' : errorBox(why));
      },
    );
  };
  const more = pagedRows(
    tbody,
    '/v1.0/dataPolicyOperations?$top=50',
    (op) => {
      const tr = operationRow(op);
      if (ACTIVE.includes(op.status)) {
        active.set(op.id, tr);
        queueMicrotask(watch);
      }
      return tr;
    },
    (err) => errors.replaceChildren(errorBox(err)),
  );
  show(
    main,
    h('h1', {}, 'Exports'),
    errors,
    live,
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        {},
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['Operation', 'User', 'Status', 'Progress', 'Submitted', 'Error'].map((t) => h('th', { scope: 'col' }, t)),
          ),
        ),
        tbody,
      ),
    ),
    more,
  );
}
