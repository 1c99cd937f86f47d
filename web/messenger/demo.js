// Loads the messenger the way a customer's site would: a module <script> with data-app-id. The app id comes from
// ?app_id=… (the inbox's "Messenger demo" link includes it); without one, a signed-in teammate's workspace is used.

const statusEl = /** @type {HTMLElement} */ (document.getElementById('demo-status'));
const snippet = /** @type {HTMLElement} */ (document.getElementById('demo-snippet'));

async function appId() {
  const fromQuery = new URLSearchParams(location.search).get('app_id');
  if (fromQuery) return fromQuery.trim();
  try {
    const res = await fetch('/api/workspace', { credentials: 'same-origin' });
    if (res.ok) return String((await res.json()).app_id);
  } catch {
    // Fall through to the explanation below.
  }
  return null;
}

const id = await appId();
if (!id) {
  statusEl.className = 'demo-warning';
  statusEl.textContent =
    'No app id: open this page from the “Messenger demo” link in the inbox, or add ?app_id=YOUR_APP_ID to the address.';
} else {
  if (!new URLSearchParams(location.search).get('app_id')) {
    history.replaceState(null, '', `?app_id=${encodeURIComponent(id)}`);
  }
  snippet.textContent = `<script type="module" src="${location.origin}/messenger/widget.js" data-app-id="${id}"></script>`;
  const script = document.createElement('script');
  script.type = 'module';
  script.src = '/messenger/widget.js';
  script.dataset.appId = id;
  document.body.appendChild(script);
}

export {};
