import { graph } from './api.js';
import { errorBox, h } from './dom.js';

/** An OData string literal: a quote inside is written twice. */
export function odataString(value) {
  return `'${String(value).replaceAll("'", "''")}'`;
}

const LOOKUP_PROPERTIES = ['displayName', 'mail', 'userPrincipalName', 'givenName', 'surname'];

/** Graph's own look-up: users whose name, mail or UPN starts with the text, as any client asks. */
export function lookupPath(text) {
  const literal = odataString(text);
  const filter = LOOKUP_PROPERTIES.map((p) => `startswith(${p},${literal})`).join(' or ');
  return `/v1.0/users?$filter=${encodeURIComponent(filter)}&$select=displayName,mail,userPrincipalName&$top=10`;
}

/**
 * A search box over the directory by name or the start of a mail address, with the matches as
 * buttons (keyboard: Tab to one, Enter) that put the user's address into `target` and say who
 * it is in `found`.
 */
export function directoryLookup(target, found) {
  const input = h('input', { id: 'nr-find', type: 'search', autocomplete: 'off', 'aria-describedby': 'nr-find-hint', 'aria-controls': 'nr-matches' });
  const results = h('ul', { id: 'nr-matches', class: 'matches', 'aria-label': 'Directory matches' });
  const status = h('p', { id: 'nr-find-status', 'aria-live': 'polite' });
  let asked = 0;
  let timer = null;
  const search = async () => {
    const text = input.value.trim();
    const mine = ++asked;
    results.replaceChildren();
    status.textContent = '';
    if (text.length < 2) return;
    try {
      const page = await graph('GET', lookupPath(text));
      if (mine !== asked) return;
      status.textContent = page.value.length === 0 ? 'No one in the directory matches.' : `${page.value.length}${page['@odata.nextLink'] ? '+' : ''} found.`;
      for (const user of page.value) {
        const address = user.mail ?? user.userPrincipalName;
        const use = h('button', { type: 'button' }, `Use ${user.displayName ?? address} <${address}>`);
        use.addEventListener('click', () => {
          target.value = address;
          found.textContent = `Directory: ${user.displayName ?? user.userPrincipalName}`;
          target.focus();
        });
        results.append(h('li', {}, use));
      }
    } catch (err) {
      if (mine === asked) status.replaceChildren(errorBox(err));
    }
  };
  // Asks once typing pauses, and at once on Enter (which must not submit the request form).
  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(search, 300);
  });
  input.addEventListener('keydown', (event) => {
    if (event.key !== 'Enter') return;
    event.preventDefault();
    clearTimeout(timer);
    search();
  });
  return [
    h('label', { for: 'nr-find' }, 'Find the data subject in the directory'),
    input,
    h('p', { id: 'nr-find-hint' }, 'A name, or the start of a mail address or user principal name (at least 2 characters).'),
    status,
    results,
  ];
}
