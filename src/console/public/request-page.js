import { download, graph } from './api.js';
import { daysLeft, errorBox, formatBytes, formatDate, h, pagedRows, show } from './dom.js';
import { poll } from './live.js';

function stageList(request) {
  return h(
    'ol',
    { class: 'stages', 'aria-label': 'Stages' },
    (request.stages || []).map((s) =>
      h(
        'li',
        { 'aria-current': s.status === 'current' ? 'step' : null },
        h('strong', {}, s.stage),
        ' ',
        h('span', { class: `badge ${s.status}` }, s.status),
        s.error ? h('p', {}, h('code', {}, s.error.code), ' ', s.error.message) : null,
      ),
    ),
  );
}

function facts(request) {
  const i = request.insight || {};
  const left = daysLeft(request.internalDueDateTime);
  const overdue = request.status === 'active' && left < 0;
  return h(
    'dl',
    { class: 'facts' },
    h('dt', {}, 'Type'),
    h('dd', {}, request.type),
    h('dt', {}, 'Subject'),
    h('dd', {}, request.dataSubject?.email ?? '—'),
    h('dt', {}, 'Regulations'),
    h('dd', {}, (request.regulations || []).join(', ') || '—'),
    h('dt', {}, 'Status'),
    h('dd', {}, request.status),
    h('dt', {}, 'Due'),
    h(
      'dd',
      {},
      formatDate(request.internalDueDateTime),
      ' ',
      request.status === 'closed' ? '' : overdue ? h('span', { class: 'overdue-label' }, `(overdue by ${-left} d)`) : `(${left} d left)`,
    ),
    h('dt', {}, 'Items'),
    h('dd', {}, `${i.itemCount ?? 0} (${formatBytes(i.totalItemSize ?? 0)})`),
    h('dt', {}, 'To review'),
    h('dd', {}, String(i.itemNeedReview ?? 0)),
    h('dt', {}, 'Excluded'),
    h('dd', {}, String(i.excludedItemCount ?? 0)),
    h('dt', {}, 'Signed off'),
    h('dd', {}, String(i.signedOffItemCount ?? 0)),
  );
}

function reviewTable(base, reviewing, report) {
  const tbody = h('tbody');
  const row = (file) => {
    const reasonId = `reason-${file.id}`;
    const reason = h('input', { id: reasonId, value: file.exclusionReason ?? '', disabled: !reviewing || file.excluded });
    const toggle = h('button', { type: 'button', disabled: !reviewing }, file.excluded ? 'Include' : 'Exclude');
    toggle.addEventListener('click', async () => {
      const body = file.excluded ? { excluded: false } : { excluded: true, exclusionReason: reason.value.trim() };
      try {
        const updated = await graph('PATCH', `${base}/packageFiles/${encodeURIComponent(file.id)}`, body);
        tr.replaceWith(row(updated));
      } catch (err) {
        report(err);
      }
    });
    const tr = h(
      'tr',
      {},
      h('td', {}, file.path),
      h('td', {}, file.section ?? '—'),
      h('td', {}, formatBytes(file.size)),
      h('td', {}, file.excluded ? 'excluded' : 'included'),
      h('td', {}, h('label', { for: reasonId, class: 'visually-hidden' }, `Reason for excluding ${file.path}`), reason),
      h('td', {}, toggle),
    );
    return tr;
  };
  const more = pagedRows(tbody, `${base}/packageFiles?$top=100`, row, report, 'Show more files');
  return [
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
            ['Path', 'Section', 'Size', 'State', 'Reason', ''].map((t) => h('th', { scope: 'col' }, t)),
          ),
        ),
        tbody,
      ),
    ),
    more,
  ];
}

function notesSection(base, report) {
  const list = h('ul');
  graph('GET', `${base}/notes`).then((page) => {
    list.replaceChildren(
      ...page.value.map((n) => h('li', {}, h('strong', {}, n.author?.displayName ?? '—'), ` ${formatDate(n.createdDateTime)}: `, n.content?.content ?? '')),
    );
    if (page.value.length === 0) list.append(h('li', {}, 'No notes yet.'));
  }, report);
  const text = h('textarea', { id: 'note-text', name: 'note', rows: 3, required: true });
  const form = h('form', {}, h('label', { for: 'note-text' }, 'Add a note'), text, h('button', { type: 'submit' }, 'Add note'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const note = await graph('POST', `${base}/notes`, { content: { content: text.value, contentType: 'text' } });
      if (list.firstChild?.textContent === 'No notes yet.') list.replaceChildren();
      list.append(h('li', {}, h('strong', {}, note.author?.displayName ?? '—'), ` ${formatDate(note.createdDateTime)}: `, note.content?.content ?? ''));
      text.value = '';
    } catch (err) {
      report(err);
    }
  });
  return [list, form];
}

function extendForm(base, request, report, reload) {
  const date = h('input', { id: 'extend-date', name: 'due', type: 'date', required: true });
  const reason = h('textarea', { id: 'extend-reason', name: 'reason', rows: 2, required: true });
  const form = h(
    'form',
    {},
    h('label', { for: 'extend-date' }, 'Extend the due date to'),
    date,
    h('label', { for: 'extend-reason' }, 'Reason for the extension (kept as a note)'),
    reason,
    h('button', { type: 'submit' }, 'Extend due date'),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      // Keep the time of day of the current due date: only the day moves.
      const time = request.internalDueDateTime.slice(10);
      await graph('PATCH', base, { internalDueDateTime: `${date.value}${time}`, '@dsr.note': reason.value });
      await reload();
    } catch (err) {
      report(err);
    }
  });
  return form;
}

function historyList(request) {
  const entries = request.history || [];
  if (entries.length === 0) return h('p', {}, 'No changes yet.');
  return h(
    'ul',
    {},
    entries.map((e) =>
      h(
        'li',
        {},
        `${formatDate(e.eventDateTime)}: ${e.type} (${e.stage}, ${e.stageStatus})`,
        ` by ${(e.changedBy?.user ?? e.changedBy?.application)?.displayName ?? '—'}`,
      ),
    ),
  );
}

/** True while the worker retrieves the package: the only stage that moves without anyone. */
function running(request) {
  return request.status === 'active' && request.stages?.find((s) => s.stage === 'contentRetrieval')?.status === 'current';
}

// What decides which actions and forms the page shows; only a change of it rebuilds them, so a
// live update never throws away a half-typed note or reason.
function layoutOf(request) {
  return JSON.stringify([request.status, (request.stages || []).map((s) => s.status), Boolean(request.insight?.itemCount)]);
}

export async function renderRequest(main, id) {
  const base = `/v1.0/security/subjectRightsRequests/${encodeURIComponent(id)}`;
  const errors = h('div', { 'aria-live': 'assertive' });
  const report = (err) => errors.replaceChildren(errorBox(err));
  let request;
  try {
    request = await graph('GET', base);
  } catch (err) {
    show(main, h('h1', {}, 'Request'), errorBox(err));
    return;
  }
  const title = h('h1', {}, request.displayName);
  const stagesBox = h('div');
  const factsBox = h('div');
  const actionsBox = h('div', { class: 'panel' });
  const reviewBox = h('div');
  const dueBox = h('div');
  const historyBox = h('div');
  const live = h('p', { class: 'live', role: 'status' });
  let layout = null;
  let stopLive = () => {};

  const act = (label, action) => {
    const button = h('button', { type: 'button' }, label);
    button.addEventListener('click', async () => {
      try {
        await action();
      } catch (err) {
        report(err);
      }
    });
    return button;
  };
  const paint = (next) => {
    request = next;
    title.textContent = request.displayName;
    stagesBox.replaceChildren(stageList(request));
    factsBox.replaceChildren(facts(request));
    historyBox.replaceChildren(historyList(request));
    if (layoutOf(request) === layout) return;
    layout = layoutOf(request);
    const hadFocus = main.contains(document.activeElement) && document.activeElement !== title;
    const stage = (name) => request.stages.find((s) => s.stage === name)?.status;
    const reviewing = request.status === 'active' && stage('contentReview') === 'current';
    const reportReady = stage('generateReport') === 'completed';
    actionsBox.replaceChildren(
      ...[
        act('Refresh', reload),
        reviewing
          ? act('Complete review', async () => {
              await graph('POST', `${base}/completeReview`);
              await reload();
            })
          : null,
        reportReady ? act('Download final report', () => download(`${base}/getFinalReport`, `request-${id}-report.csv`)) : null,
        reportReady ? act('Download final attachment', () => download(`${base}/getFinalAttachment`, `request-${id}.zip`)) : null,
        request.status === 'active'
          ? act('Close request', async () => {
              await graph('PATCH', base, { status: 'closed' });
              await reload();
            })
          : null,
      ].filter(Boolean),
    );
    reviewBox.replaceChildren(
      ...(request.insight?.itemCount ? reviewTable(base, reviewing, report) : [h('p', {}, 'No package files yet: the retrieval has not finished.')]),
    );
    dueBox.replaceChildren(...(request.status === 'active' ? [h('h2', {}, 'Due date'), extendForm(base, request, report, reload)] : []));
    // The control that had focus may be gone (e.g. Complete review): the heading takes it, not the page's top.
    if (hadFocus && !main.contains(document.activeElement)) title.focus();
  };
  // While the retrieval runs, ask again (live.js); a browser cannot be sent change notifications.
  const watch = () => {
    stopLive();
    if (!running(request)) {
      live.textContent = '';
      return;
    }
    live.textContent = 'The retrieval is running; this page updates by itself.';
    stopLive = poll(
      live,
      async () => {
        const before = JSON.stringify([request.stages, request.insight]);
        paint(await graph('GET', base));
        if (!running(request)) {
          live.textContent = 'The retrieval has ended.';
          return false;
        }
        return JSON.stringify([request.stages, request.insight]) === before ? 'same' : 'changed';
      },
      (why) => {
        live.replaceChildren(why === 'deadline' ? 'Live updates stopped after 30 minutes; use Refresh.' : errorBox(why));
      },
    );
  };
  async function reload() {
    errors.replaceChildren();
    paint(await graph('GET', base));
    watch();
  }
  paint(request);
  show(
    main,
    h('p', {}, h('a', { href: '#/requests' }, '← Requests')),
    title,
    errors,
    h('h2', {}, 'Stages'),
    stagesBox,
    live,
    factsBox,
    actionsBox,
    h('h2', {}, 'Review'),
    reviewBox,
    dueBox,
    h('h2', {}, 'Notes'),
    notesSection(base, report),
    h('h2', {}, 'History'),
    historyBox,
  );
  watch();
}
