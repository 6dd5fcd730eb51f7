import { graph } from './api.js';
import { daysLeft, errorBox, formatDate, h, pagedRows, show } from './dom.js';

const SUBJECT_TYPES = ['currentEmployee', 'formerEmployee', 'customer', 'prospectiveEmployee', 'student', 'teacher', 'faculty', 'other'];
const STATUS_FILTERS = [['', 'All'], ['active', 'Active'], ['closed', 'Closed']];

function currentStage(request) {
  const stage = (request.stages || []).find((s) => s.status === 'current' || s.status === 'failed');
  return stage ? `${stage.stage}${stage.status === 'failed' ? ' (failed)' : ''}` : request.status === 'closed' ? 'caseResolved' : '—';
}

export function renderRequests(main, query) {
  const status = query.get('status') || '';
  const errors = h('div', { 'aria-live': 'polite' });
  const filter = h('select', { id: 'status-filter', name: 'status' },
    STATUS_FILTERS.map(([value, label]) => h('option', { value, selected: value === status }, label)));
  filter.addEventListener('change', () => { location.hash = filter.value ? `#/requests?status=${filter.value}` : '#/requests'; });
  const tbody = h('tbody');
  const path = `/v1.0/security/subjectRightsRequests?$top=50${status ? `&$filter=${encodeURIComponent(`status eq '${status}'`)}` : ''}`;
  const more = pagedRows(tbody, path, (r) => {
    const left = daysLeft(r.internalDueDateTime);
    const overdue = r.status === 'active' && left < 0;
    return h('tr', { class: overdue ? 'overdue' : null },
      h('td', {}, h('a', { href: `#/requests/${encodeURIComponent(r.id)}` }, r.displayName)),
      h('td', {}, r.type),
      h('td', {}, r.dataSubject?.email ?? '—'),
      h('td', {}, h('span', { class: 'badge' }, r.status)),
      h('td', {}, currentStage(r)),
      h('td', {}, formatDate(r.internalDueDateTime)),
      h('td', {}, r.status === 'closed' ? '—' : overdue ? h('span', { class: 'overdue-label' }, `Overdue by ${-left} d`) : `${left} d`));
  }, (err) => errors.replaceChildren(errorBox(err)));
  show(main,
    h('h1', {}, 'Requests'),
    h('div', { class: 'toolbar' }, h('div', {}, h('label', { for: 'status-filter' }, 'Status'), filter),
      h('a', { href: '#/requests/new' }, 'New request')),
    errors,
    h('div', { class: 'table-wrap' }, h('table', {},
      h('caption', { class: 'visually-hidden' }, 'Subject rights requests, earliest due first'),
      h('thead', {}, h('tr', {}, ['Name', 'Type', 'Subject', 'Status', 'Current stage', 'Due', 'Days left'].map((t) => h('th', { scope: 'col' }, t)))),
      tbody)),
    more);
}

export function renderNewRequest(main) {
  const errors = h('div', { 'aria-live': 'polite' });
  const subject = h('input', { id: 'nr-email', name: 'email', type: 'email', required: true, autocomplete: 'off', 'aria-describedby': 'nr-found' });
  const found = h('p', { id: 'nr-found', 'aria-live': 'polite' });
  // A look-up in the directory as the officer leaves the field: who the request will be about.
  subject.addEventListener('change', async () => {
    const upn = subject.value.trim();
    found.textContent = '';
    if (!upn) return;
    try {
      const page = await graph('GET', `/v1.0/users?$filter=${encodeURIComponent(`userPrincipalName eq '${upn.replaceAll("'", "''")}'`)}&$select=displayName,userPrincipalName`);
      found.textContent = page.value.length > 0 ? `Directory: ${page.value[0].displayName ?? page.value[0].userPrincipalName}` : 'No user with this user principal name in the directory (a mail address may still match).';
    } catch (err) {
      found.replaceChildren(errorBox(err));
    }
  });
  const field = (id, label, input, hint) => [h('label', { for: id }, label), input, hint ? h('p', { id: `${id}-hint` }, hint) : null];
  const form = h('form', { novalidate: true },
    field('nr-name', 'Request name', h('input', { id: 'nr-name', name: 'displayName', required: true, maxlength: 200 })),
    field('nr-email', 'Data subject (mail or user principal name)', subject),
    found,
    field('nr-type', 'Type', h('select', { id: 'nr-type', name: 'type' }, h('option', { value: 'access' }, 'access'), h('option', { value: 'export' }, 'export'))),
    field('nr-subject-type', 'Data subject type', h('select', { id: 'nr-subject-type', name: 'dataSubjectType' },
      SUBJECT_TYPES.map((t) => h('option', { value: t }, t)))),
    field('nr-regulations', 'Regulations', h('input', { id: 'nr-regulations', name: 'regulations', value: 'GDPR', 'aria-describedby': 'nr-regulations-hint' }), 'Comma-separated, e.g. GDPR, CCPA; they set the default due date.'),
    field('nr-due', 'Due date (optional)', h('input', { id: 'nr-due', name: 'due', type: 'date' })),
    h('button', { type: 'submit', class: 'primary' }, 'Create request'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const body = {
      displayName: String(data.get('displayName')).trim(),
      type: data.get('type'),
      dataSubjectType: data.get('dataSubjectType'),
      dataSubject: { email: String(data.get('email')).trim() },
      regulations: String(data.get('regulations')).split(',').map((s) => s.trim()).filter(Boolean),
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

export function renderExports(main) {
  const errors = h('div', { 'aria-live': 'polite' });
  const tbody = h('tbody');
  const more = pagedRows(tbody, '/v1.0/dataPolicyOperations?$top=50', (op) => h('tr', {},
    h('td', {}, h('code', {}, op.id)),
    h('td', {}, op.userId ?? '—'),
    h('td', {}, h('span', { class: `badge ${op.status}` }, op.status)),
    h('td', {}, h('progress', { max: 100, value: op.progress ?? 0, 'aria-label': `progress of ${op.id}` }), ` ${op.progress ?? 0}%`),
    h('td', {}, formatDate(op.submittedDateTime)),
    h('td', {}, op.error ? [h('code', {}, op.error.code), ' ', op.error.message] : '—')),
  (err) => errors.replaceChildren(errorBox(err)));
  show(main,
    h('h1', {}, 'Exports'),
    errors,
    h('div', { class: 'table-wrap' }, h('table', {},
      h('thead', {}, h('tr', {}, ['Operation', 'User', 'Status', 'Progress', 'Submitted', 'Error'].map((t) => h('th', { scope: 'col' }, t)))),
      tbody)),
    more);
}
