import { graph } from './api.js';
import { errorBox, formatDate, h, show } from './dom.js';

// The tenant's Art. 15 statement: a form over PUT /security/privacyStatement, and a preview
// rendered by the service (POST …/preview) into the very lines a package's index.html shows the
// data subject. The preview is text nodes in a table, never HTML: whatever the statement says,
// nothing in it can run or load.
const STATEMENT = '/v1.0/security/privacyStatement';

// Lists of pairs are edited one entry a line, the two parts split by " | ".
const PAIRS = {
  purposes: ['purpose', 'legalBasis'],
  retention: ['category', 'period'],
  transfers: ['destination', 'safeguards'],
};
const SEPARATOR = ' | ';

function lines(text) {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

function pairs(name, text) {
  const [a, b] = PAIRS[name];
  return lines(text).map((line) => {
    const at = line.indexOf('|');
    return at < 0 ? { [a]: line, [b]: '' } : { [a]: line.slice(0, at).trim(), [b]: line.slice(at + 1).trim() };
  });
}

function fieldsOf(statement) {
  const s = statement || {};
  const pairText = (name) => (s[name] || []).map((p) => PAIRS[name].map((k) => p[k]).join(SEPARATOR)).join('\n');
  return {
    controllerName: s.controller?.name ?? '',
    controllerContact: s.controller?.contact ?? '',
    dpoName: s.dataProtectionOfficer?.name ?? '',
    dpoContact: s.dataProtectionOfficer?.contact ?? '',
    purposes: pairText('purposes'),
    categories: (s.categories || []).join('\n'),
    recipients: (s.recipients || []).join('\n'),
    retention: pairText('retention'),
    source: s.source ?? '',
    automatedDecisionMaking: s.automatedDecisionMaking ?? '',
    transfers: pairText('transfers'),
    rectification: s.rights?.rectification ?? '',
    erasure: s.rights?.erasure ?? '',
    restriction: s.rights?.restriction ?? '',
    objection: s.rights?.objection ?? '',
    complaintAuthority: s.rights?.complaint?.authority ?? '',
    complaintContact: s.rights?.complaint?.contact ?? '',
  };
}

/** The form's values as the PrivacyStatement resource; the service validates it (a 400 names the field). */
function statementOf(form) {
  const v = (name) => String(form.elements[name].value).trim();
  const statement = {
    controller: { name: v('controllerName'), contact: v('controllerContact') },
    purposes: pairs('purposes', v('purposes')),
    categories: lines(v('categories')),
    recipients: lines(v('recipients')),
    retention: pairs('retention', v('retention')),
    source: v('source'),
    automatedDecisionMaking: v('automatedDecisionMaking'),
    transfers: pairs('transfers', v('transfers')),
    rights: {
      rectification: v('rectification'),
      erasure: v('erasure'),
      restriction: v('restriction'),
      objection: v('objection'),
      complaint: { authority: v('complaintAuthority'), contact: v('complaintContact') },
    },
    redactOtherActors: form.elements.redactOtherActors.checked,
  };
  if (v('dpoName') || v('dpoContact')) statement.dataProtectionOfficer = { name: v('dpoName'), contact: v('dpoContact') };
  return statement;
}

const FIELDS = [
  ['controllerName', 'Controller: name'],
  ['controllerContact', 'Controller: contact'],
  ['dpoName', 'Data protection officer: name (optional)'],
  ['dpoContact', 'Data protection officer: contact (optional)'],
  ['purposes', 'Purposes and legal bases', 'One a line: purpose | legal basis, e.g. Payroll | Art. 6(1)(b) GDPR', 3],
  ['categories', 'Categories of personal data', 'One a line.', 3],
  ['recipients', 'Recipients', 'One a line; empty for none.', 2],
  ['retention', 'Retention', 'One a line: category | period.', 2],
  ['source', 'Source of the data'],
  ['automatedDecisionMaking', 'Automated decision-making, including profiling', null, 2],
  ['transfers', 'Transfers to third countries', 'One a line: destination | safeguards; empty for none.', 2],
  ['rectification', 'Right to rectification: how'],
  ['erasure', 'Right to erasure: how'],
  ['restriction', 'Right to restriction: how'],
  ['objection', 'Right to object: how'],
  ['complaintAuthority', 'Supervisory authority'],
  ['complaintContact', 'Supervisory authority: contact'],
];

function control(name, label, hint, rows, value) {
  const id = `ps-${name}`;
  const attrs = { id, name, ...(hint ? { 'aria-describedby': `${id}-hint` } : {}) };
  const input = rows ? h('textarea', { ...attrs, rows }, value) : h('input', { ...attrs, value });
  return [h('label', { for: id }, label), input, hint ? h('p', { id: `${id}-hint`, class: 'hint' }, hint) : null];
}

function previewOf(result) {
  return h(
    'section',
    { class: 'preview', 'aria-labelledby': 'ps-preview-title' },
    h('h3', { id: 'ps-preview-title' }, result.title),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        {},
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Information'))),
        h(
          'tbody',
          {},
          result.lines.map((line) => h('tr', {}, h('td', {}, line))),
        ),
      ),
    ),
  );
}

export async function renderPrivacyStatement(main) {
  const errors = h('div', { 'aria-live': 'assertive' });
  const saved = h('p', { 'aria-live': 'polite' });
  let current = null;
  try {
    current = await graph('GET', STATEMENT);
  } catch (err) {
    if (err.status !== 404) {
      show(main, h('h1', {}, 'Privacy statement'), errorBox(err));
      return;
    }
  }
  const values = fieldsOf(current);
  const redact = h('input', { id: 'ps-redact', name: 'redactOtherActors', type: 'checkbox', checked: current?.redactOtherActors !== false });
  const form = h(
    'form',
    { novalidate: true, 'aria-label': 'Privacy statement' },
    FIELDS.map(([name, label, hint, rows]) => control(name, label, hint, rows, values[name])),
    h(
      'div',
      { class: 'check' },
      redact,
      h('label', { for: 'ps-redact' }, "Leave other people's IP addresses and user agents out of packages (GDPR Art. 15(4))"),
    ),
    h('button', { type: 'button', id: 'ps-preview' }, 'Preview'),
    h('button', { type: 'submit', class: 'primary' }, 'Save statement'),
  );
  const preview = h('div', { id: 'ps-preview-area', 'aria-live': 'polite' });
  const showPreview = async () => {
    errors.replaceChildren();
    try {
      preview.replaceChildren(previewOf(await graph('POST', `${STATEMENT}/preview`, statementOf(form))));
    } catch (err) {
      errors.replaceChildren(errorBox(err));
    }
  };
  form.querySelector('#ps-preview').addEventListener('click', showPreview);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    errors.replaceChildren();
    try {
      const row = await graph('PUT', STATEMENT, statementOf(form));
      saved.textContent = `Saved ${formatDate(row.lastModifiedDateTime)}: every report and package from now on carries it.`;
      await showPreview();
    } catch (err) {
      errors.replaceChildren(errorBox(err));
    }
  });
  show(
    main,
    h('h1', {}, 'Privacy statement'),
    h('p', {}, 'What GDPR Art. 15(1) and (2) require beside the data itself. Every final report and package carries it.'),
    current
      ? h(
          'p',
          {},
          `Last changed ${formatDate(current.lastModifiedDateTime)} by ${(current.lastModifiedBy?.user ?? current.lastModifiedBy?.application)?.displayName ?? '—'}.`,
        )
      : h('p', {}, 'No statement is set yet: packages say only that none was set.'),
    errors,
    saved,
    form,
    h('h2', {}, 'Preview, as the data subject sees it in the package'),
    preview,
  );
  if (current) showPreview();
}
