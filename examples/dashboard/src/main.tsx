// The example page: the order detail page's backups section and its activity
// panel, mounted against the example server. Open it as /#token=<demo token> (optionally &lang=de);
// the token moves to sessionStorage and out of the address bar at once.
import { StrictMode, useCallback, useEffect, useMemo, useState } from 'react';
import { createRoot } from 'react-dom/client';

import { ActivityPanel } from './activity-panel';
import { BackupsContent } from './backups-content';
import { ApiError, createBackupsApi } from './client';
import { createTranslator, pickLanguage } from './i18n';
import './styles.css';

const TOKEN_KEY = 'savepoint.token';
const LANG_KEY = 'savepoint.lang';

/** What the example server's GET /api/v1/demo returns: the demo user's order and provision. */
interface Demo {
  order_id: string;
  provision_id: string;
  user_id: string;
}

// readFragment takes token and lang from #token=…&lang=…, keeps them for this
// tab only, and clears the fragment so the token is not left in the history.
function readFragment(): { token: string | null; lang: string | null } {
  const params = new URLSearchParams(window.location.hash.replace(/^#/, ''));
  const token = params.get('token');
  const lang = params.get('lang');
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  if (lang) sessionStorage.setItem(LANG_KEY, lang);
  if (token || lang) history.replaceState(null, '', window.location.pathname + window.location.search);
  return { token: sessionStorage.getItem(TOKEN_KEY), lang: sessionStorage.getItem(LANG_KEY) };
}

function App() {
  const [{ token, lang }] = useState(readFragment);
  const language = pickLanguage(lang ?? navigator.language);
  const t = useMemo(() => createTranslator(language), [language]);
  // Numbers and dates follow the user's own variant of the language (en-GB, de-AT).
  const locale = navigator.languages.find((l) => pickLanguage(l) === language) ?? language;
  const api = useMemo(() => createBackupsApi({ token: token ?? undefined }), [token]);
  const [demo, setDemo] = useState<Demo | null>(null);
  const [failed, setFailed] = useState<string | null>(null);
  // Bumped whenever the backups section has a new list: the activity panel then looks for new events.
  const [backupsChanges, setBackupsChanges] = useState(0);
  const onBackupsChange = useCallback(() => setBackupsChanges((n) => n + 1), []);

  useEffect(() => {
    document.documentElement.lang = language;
  }, [language]);

  useEffect(() => {
    if (!token) return;
    const controller = new AbortController();
    fetch('/api/v1/demo', { headers: { Authorization: `Bearer ${token}` }, signal: controller.signal })
      .then(async (res) => {
        if (!res.ok) throw new ApiError(`GET /api/v1/demo: HTTP ${res.status}`, res.status);
        setDemo((await res.json()) as Demo);
      })
      .catch((err: unknown) => {
        if (!controller.signal.aborted) setFailed(String(err));
      });
    return () => controller.abort();
  }, [token]);

  return (
    <main className="page">
      <header className="page__header">
        <h1>savepoint</h1>
        {demo ? <p className="page__meta">Order {demo.order_id}</p> : null}
      </header>
      {!token ? (
        <p role="alert" className="notice notice--error">
          No API token: open this page as <code>/#token=…</code> with the server's demo token.
        </p>
      ) : failed ? (
        <p role="alert" className="notice notice--error">
          {t('backups.error_load')} ({failed})
        </p>
      ) : demo ? (
        <>
          <BackupsContent orderId={demo.order_id} provisionId={demo.provision_id} api={api} t={t} locale={locale} onBackupsChange={onBackupsChange} />
          <ActivityPanel orderId={demo.order_id} userId={demo.user_id} api={api} t={t} locale={locale} refreshKey={backupsChanges} />
        </>
      ) : (
        <p role="status">{t('backups.loading')}</p>
      )}
    </main>
  );
}

const root = document.getElementById('root');
if (root) {
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
}
