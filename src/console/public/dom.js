import { graph } from './api.js';

// A tiny element builder: text always goes in as text nodes, never as HTML, so names, paths
// and notes from the service cannot inject markup.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** The Graph error as the service gave it, with the request id to quote to an operator. */
export function errorBox(err) {
  const box = h(
    'div',
    { class: 'error', role: 'alert' },
    h('p', {}, h('strong', {}, err.status === 403 ? 'Not allowed: ' : 'Error: '), err.message),
    err.code ? h('p', {}, 'Code: ', h('code', {}, err.code), err.requestId ? [' · request id: ', h('code', {}, err.requestId)] : []) : null,
  );
  return box;
}

/** Replaces the main region and moves focus to its heading, so screen readers announce the new screen. */
export function show(main, ...children) {
  main.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  const heading = main.querySelector('h1');
  if (heading) {
    heading.setAttribute('tabindex', '-1');
    heading.focus();
  }
}

export function formatDate(iso) {
  return iso ? new Date(iso).toLocaleString() : '—';
}

export function formatBytes(n) {
  if (n === null || n === undefined) return '—';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

/** Whole days until the date (negative when past), from `now`. */
export function daysLeft(iso, now = Date.now()) {
  return Math.ceil((new Date(iso).getTime() - now) / 86_400_000);
}

/**
 * Fills `tbody` a page at a time: the first page at once, the next ones when "Show more" (the
 * returned button) is pressed, following @odata.nextLink.
 */
export function pagedRows(tbody, firstPath, row, onError, label = 'Show more') {
  const more = h('button', { type: 'button', hidden: true }, label);
  let next = firstPath;
  const load = async () => {
    more.hidden = true;
    try {
      const page = await graph('GET', next);
      for (const item of page.value) tbody.append(row(item));
      next = page['@odata.nextLink'];
      more.hidden = !next;
      if (tbody.children.length === 0) tbody.append(h('tr', {}, h('td', { colspan: 9 }, 'Nothing here yet.')));
    } catch (err) {
      onError(err);
    }
  };
  more.addEventListener('click', load);
  load();
  return more;
}
