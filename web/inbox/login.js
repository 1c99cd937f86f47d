// The sign-in screen, with errors a person can act on: wrong password, too many attempts (and how long to
// wait), server unreachable.
import { api, ApiError, describeError, formatWait } from './api.js';

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));

/** @typedef {(session: any) => Promise<void>} OnLoggedIn */

/** @type {OnLoggedIn | null} */
let onLoggedIn = null;
let wired = false;
let countdown = 0;

/**
 * @param {{ onLoggedIn: OnLoggedIn, notice?: string, error?: string }} opts
 */
export async function showLogin(opts) {
  onLoggedIn = opts.onLoggedIn;
  wire();
  $('app').hidden = true;
  $('login').hidden = false;
  const notice = $('login-notice');
  notice.textContent = opts.notice ?? '';
  notice.hidden = !opts.notice;
  setError(opts.error ?? '');
  const pw = /** @type {HTMLInputElement} */ ($('login-password'));
  pw.value = '';
  const email = /** @type {HTMLInputElement} */ ($('login-email'));
  (email.value ? pw : email).focus();
}

/** @param {string} text */
function setError(text) {
  const el = $('login-error');
  el.textContent = text;
  el.hidden = !text;
}

function wire() {
  if (wired) return;
  wired = true;
  const form = /** @type {HTMLFormElement} */ ($('login-form'));
  const submit = /** @type {HTMLButtonElement} */ ($('login-submit'));
  const email = /** @type {HTMLInputElement} */ ($('login-email'));
  const password = /** @type {HTMLInputElement} */ ($('login-password'));
  const workspace = /** @type {HTMLInputElement} */ ($('login-workspace'));

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (submit.disabled) return;
    $('login-notice').hidden = true;
    if (!email.value.trim() || !password.value) {
      setError(!email.value.trim() ? 'Enter your email address.' : 'Enter your password.');
      (!email.value.trim() ? email : password).focus();
      return;
    }
    setError('');
    submit.disabled = true;
    submit.textContent = 'Signing in…';
    try {
      const session = await api(
        'POST',
        '/api/auth/login',
        {
          email: email.value.trim(),
          password: password.value,
          ...(workspace.value.trim() ? { workspace_id: workspace.value.trim() } : {}),
        },
        { quiet401: true },
      );
      password.value = '';
      submit.disabled = false;
      submit.textContent = 'Sign in';
      if (onLoggedIn) await onLoggedIn(session);
    } catch (err) {
      submit.disabled = false;
      submit.textContent = 'Sign in';
      handleError(err, { email, password, workspace, submit });
    }
  });
}

/**
 * @param {unknown} err
 * @param {{ email: HTMLInputElement, password: HTMLInputElement, workspace: HTMLInputElement,
 *   submit: HTMLButtonElement }} f
 */
function handleError(err, f) {
  if (!(err instanceof ApiError)) {
    setError(describeError(err));
    return;
  }
  if (err.code === 'invalid_credentials') {
    setError('That email and password don’t match. Check them and try again.');
    f.password.select();
    f.password.focus();
  } else if (err.status === 429) {
    startCountdown(err.retryAfter ?? 60, f.submit);
  } else if (err.status === 0) {
    setError(
      'Can’t reach the Settle server. Check that it is running and that you are online, then try again.',
    );
  } else if (err.code === 'ambiguous_email') {
    $('login-workspace-row').hidden = false;
    setError('This email belongs to several workspaces. Enter the workspace ID too.');
    f.workspace.focus();
  } else if (err.path === 'email') {
    setError('Enter a valid email address.');
    f.email.focus();
  } else {
    setError(describeError(err));
  }
}

/**
 * Keeps the button disabled and the message current until the server will accept another attempt.
 *
 * @param {number} seconds
 * @param {HTMLButtonElement} submit
 */
function startCountdown(seconds, submit) {
  clearInterval(countdown);
  const until = Date.now() + seconds * 1000;
  const tick = () => {
    const left = Math.ceil((until - Date.now()) / 1000);
    if (left <= 0) {
      clearInterval(countdown);
      submit.disabled = false;
      submit.textContent = 'Sign in';
      setError('You can try again now.');
      return;
    }
    submit.disabled = true;
    submit.textContent = 'Please wait…';
    setError(`Too many failed sign-in attempts. For your security, try again in ${formatWait(left)}.`);
  };
  tick();
  countdown = window.setInterval(tick, 1000);
}
