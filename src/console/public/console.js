import { currentSession, signIn } from './api.js';
import { errorBox, h, show } from './dom.js';
import { renderPrivacyStatement } from './privacy-statement.js';
import { renderRequest } from './request-page.js';
import { renderRequests } from './requests-list.js';
import { renderExports, renderNewRequest } from './screens.js';
import { completeSignIn, isSignInResponse, loadSignInConfig, renderSignIn } from './sign-in.js';

const main = document.getElementById('main');
const who = document.getElementById('who');
let signInConfig = null;

function route() {
  if (!currentSession()) {
    renderSignIn(main, signInConfig);
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
  // Out of the address bar and history at once: the link is spent either way.
  if (link) history.replaceState(null, '', `${location.pathname}#/requests`);
  try {
    signInConfig = await loadSignInConfig();
    let session = null;
    if (link) {
      session = await signIn(link);
    } else if (signInConfig.oidc && isSignInResponse(location.hash)) {
      session = await completeSignIn(signInConfig.oidc);
    }
    if (session) who.textContent = `Signed in as ${session.displayName ?? session.userPrincipalName}`;
  } catch (err) {
    show(main, h('h1', {}, 'Sign-in failed'), errorBox(err));
    return;
  }
  window.addEventListener('hashchange', route);
  route();
}

start();
