import { currentSession, signIn } from './api.js';
import { errorBox, h, show } from './dom.js';
import { renderPrivacyStatement } from './privacy-statement.js';
import { renderRequest } from './request-page.js';
import { renderRequests } from './requests-list.js';
import { renderExports, renderNewRequest } from './screens.js';

const main = document.getElementById('main');
const who = document.getElementById('who');

function route() {
  if (!currentSession()) {
    show(main, h('h1', {}, 'Sign in'),
      h('p', {}, 'Open a one-time sign-in link to use the console. Ask for one on the server with:'),
      h('pre', {}, h('code', {}, 'dsr-export console-link --user <your user principal name>')),
      h('p', {}, 'The link works once and for a few minutes; reloading this page signs you out.'));
    return;
  }
  const [path, search] = location.hash.replace(/^#/, '').split('?');
  const query = new URLSearchParams(search || '');
  const parts = (path || '/requests').split('/').filter(Boolean);
  for (const link of document.querySelectorAll('header nav a')) {
    link.toggleAttribute('aria-current', link.getAttribute('href') === `#/${parts[0]}`);
    if (link.hasAttribute('aria-current')) link.setAttribute('aria-current', 'page');
  }
  if (parts[0] === 'exports') renderExports(main);
  else if (parts[0] === 'privacy-statement') renderPrivacyStatement(main);
  else if (parts[0] === 'requests' && parts[1] === 'new') renderNewRequest(main);
  else if (parts[0] === 'requests' && parts[1]) renderRequest(main, decodeURIComponent(parts[1]));
  else renderRequests(main, query);
}

async function start() {
  const link = /^#link=([A-Za-z0-9_-]+)$/.exec(location.hash)?.[1];
  if (link) {
    // Out of the address bar and history at once: the link is spent either way.
    history.replaceState(null, '', `${location.pathname}#/requests`);
    try {
      const session = await signIn(link);
      who.textContent = `Signed in as ${session.displayName ?? session.userPrincipalName}`;
    } catch (err) {
      show(main, h('h1', {}, 'Sign-in failed'), errorBox(err));
      return;
    }
  }
  window.addEventListener('hashchange', route);
  route();
}

start();
