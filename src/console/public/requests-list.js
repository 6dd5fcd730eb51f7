import { daysLeft, errorBox, formatDate, h, pagedRows, show } from './dom.js';

// Filters and sort go to the service as OData ($filter, $search, $orderby), so a long list is
// paged there and never fetched whole. The screen's state lives in the address (#/requests?…),
// so a reload or a shared link keeps it.
const STATUS_FILTERS = [
  ['', 'All'],
  ['active', 'Active'],
  ['overdue', 'Overdue'],
  ['closed', 'Closed'],
];
const TYPE_FILTERS = [
  ['', 'All'],
  ['access', 'access'],
  ['export', 'export'],
];
const SORTS = [
  ['internalDueDateTime', 'Due date, earliest first'],
  ['internalDueDateTime desc', 'Due date, latest first'],
  ['createdDateTime desc', 'Created, newest first'],
  ['createdDateTime', 'Created, oldest first'],
  ['status', 'Status (active first), then due date'],
];

function currentStage(request) {
  const stage = (request.stages || []).find((s) => s.status === 'current' || s.status === 'failed');
  return stage ? `${stage.stage}${stage.status === 'failed' ? ' (failed)' : ''}` : request.status === 'closed' ? 'caseResolved' : '—';
}

function row(r) {
  const left = daysLeft(r.internalDueDateTime);
  const overdue = r.status === 'active' && left < 0;
  return h(
    'tr',
    { class: overdue ? 'overdue' : null },
    h('td', {}, h('a', { href: `#/requests/${encodeURIComponent(r.id)}` }, r.displayName)),
    h('td', {}, r.type),
    h('td', {}, r.dataSubject?.email ?? '—'),
    h('td', {}, h('span', { class: 'badge' }, r.status)),
    h('td', {}, currentStage(r)),
    h('td', {}, formatDate(r.internalDueDateTime)),
    h('td', {}, formatDate(r.createdDateTime)),
    h('td', {}, r.status === 'closed' ? '—' : overdue ? h('span', { class: 'overdue-label' }, `Overdue by ${-left} d`) : `${left} d`),
  );
}

/** The Graph URL of the list for the screen's state; `now` makes "overdue" a date comparison. */
export function requestsPath(state, now = new Date()) {
  const terms = [];
  if (state.status === 'overdue') terms.push("status eq 'active'", `internalDueDateTime lt ${now.toISOString()}`);
  else if (state.status) terms.push(`status eq '${state.status}'`);
  if (state.type) terms.push(`type eq '${state.type}'`);
  const params = ['$top=50'];
  if (terms.length > 0) params.push(`$filter=${encodeURIComponent(terms.join(' and '))}`);
  // $search="…" takes no double quote inside; the field drops them.
  const text = (state.q || '').replaceAll('"', '').trim();
  if (text) params.push(`$search=${encodeURIComponent(`"${text}"`)}`);
  if (state.sort && state.sort !== SORTS[0][0]) params.push(`$orderby=${encodeURIComponent(state.sort)}`);
  return `/v1.0/security/subjectRightsRequests?${params.join('&')}`;
}

function stateOf(query) {
  const pick = (name, options) => (options.some(([v]) => v === query.get(name)) ? query.get(name) : options[0][0]);
  return { status: pick('status', STATUS_FILTERS), type: pick('type', TYPE_FILTERS), sort: pick('sort', SORTS), q: query.get('q') || '' };
}

function select(id, name, options, value) {
  return h(
    'select',
    { id, name },
    options.map(([v, label]) => h('option', { value: v, selected: v === value }, label)),
  );
}

export function renderRequests(main, query) {
  const state = stateOf(query);
  const errors = h('div', { 'aria-live': 'polite' });
  const form = h(
    'form',
    { class: 'toolbar', role: 'search', 'aria-label': 'Filter and sort requests' },
    h('div', {}, h('label', { for: 'status-filter' }, 'Status'), select('status-filter', 'status', STATUS_FILTERS, state.status)),
    h('div', {}, h('label', { for: 'type-filter' }, 'Type'), select('type-filter', 'type', TYPE_FILTERS, state.type)),
    h(
      'div',
      {},
      h('label', { for: 'text-filter' }, 'Name or subject contains'),
      h('input', { id: 'text-filter', name: 'q', type: 'search', value: state.q, maxlength: 200 }),
    ),
    h('div', {}, h('label', { for: 'sort' }, 'Sort by'), select('sort', 'sort', SORTS, state.sort)),
    h('button', { type: 'submit' }, 'Apply'),
  );
  const results = h('div');
  const load = (current) => {
    const tbody = h('tbody');
    errors.replaceChildren();
    const more = pagedRows(tbody, requestsPath(current), row, (err) => errors.replaceChildren(errorBox(err)));
    const sortLabel = SORTS.find(([v]) => v === current.sort)[1].toLowerCase();
    results.replaceChildren(
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          {},
          h('caption', { class: 'visually-hidden' }, `Subject rights requests, sorted by ${sortLabel}`),
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['Name', 'Type', 'Subject', 'Status', 'Current stage', 'Due', 'Created', 'Days left'].map((t) => h('th', { scope: 'col' }, t)),
            ),
          ),
          tbody,
        ),
      ),
      more,
    );
  };
  // The list reloads in place (focus stays on the control), and the address keeps the state.
  const apply = () => {
    const params = new URLSearchParams();
    for (const [key, value] of new FormData(form)) if (value && !(key === 'sort' && value === SORTS[0][0])) params.set(key, String(value));
    history.replaceState(null, '', params.size > 0 ? `#/requests?${params}` : '#/requests');
    load(stateOf(params));
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    apply();
  });
  // Lists apply at once; the text when submitted (Enter or Apply), not on every key.
  form.addEventListener('change', (event) => {
    if (event.target.tagName === 'SELECT') apply();
  });
  load(state);
  show(main, h('h1', {}, 'Requests'), h('p', {}, h('a', { href: '#/requests/new' }, 'New request')), form, errors, results);
}
