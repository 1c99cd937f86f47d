// The composer under a thread: a reply to the contact or an internal note, sent with the button or Ctrl + Enter.
// It keeps a draft per conversation (its text, and whether it is a note) while the teammate looks at another one.
import { describeError } from './api.js';
import { contactName } from './thread-messages.js';
import { h } from '../shared/dom.js';

/**
 * @typedef {import('./thread-messages.js').ConversationDetail} ConversationDetail
 * @typedef {import('./thread-messages.js').Message} Message
 * @typedef {{ body: string, mode: 'comment'|'note' }} Draft
 * @typedef {{ send: (id: string, type: 'comment'|'note', body: string) => Promise<Message> }} ComposerDeps
 */

/**
 * @param {ComposerDeps} deps
 * @param {() => ConversationDetail | null} current the conversation the thread shows
 * @param {(m: Message) => void} sent shows a message just sent in the thread
 */
export function createComposer(deps, current, sent) {
  /** @type {Map<string, Draft>} */
  const drafts = new Map();
  const textarea = h('textarea', {
    class: 'composer-input',
    rows: '3',
    'aria-label': 'Message',
    'data-testid': 'composer',
  });
  const error = h('p', { class: 'form-error composer-error', role: 'alert', hidden: true });
  const send = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'send' }, 'Send');
  const replyTab = h('button', { type: 'button', class: 'composer-tab', 'aria-pressed': 'true' }, 'Reply');
  const noteTab = h('button', { type: 'button', class: 'composer-tab', 'aria-pressed': 'false' }, 'Note');
  const form = h(
    'form',
    { class: 'composer', novalidate: true },
    h('div', { class: 'composer-tabs', role: 'group', 'aria-label': 'Message type' }, replyTab, noteTab),
    textarea,
    h(
      'div',
      { class: 'composer-footer' },
      error,
      h('span', { class: 'muted small composer-hint' }, 'Ctrl + Enter to send'),
      send,
    ),
  );
  /** @type {'comment'|'note'} */
  let mode = 'comment';

  /** Keeps the shown conversation's draft (or forgets it once empty). */
  const saveDraft = () => {
    const conv = current();
    if (!conv) return;
    const body = textarea.value;
    if (body || mode === 'note') drafts.set(conv.id, { body, mode });
    else drafts.delete(conv.id);
  };
  const setMode = (/** @type {'comment'|'note'} */ m) => {
    mode = m;
    form.classList.toggle('is-note', m === 'note');
    replyTab.setAttribute('aria-pressed', String(m === 'comment'));
    noteTab.setAttribute('aria-pressed', String(m === 'note'));
    const conv = current();
    const who = conv ? contactName(conv.contact) : 'the customer';
    textarea.placeholder =
      m === 'note' ? 'Add an internal note — only your team sees it' : `Reply to ${who}…`;
    send.textContent = m === 'note' ? 'Add note' : 'Send';
    saveDraft();
  };
  /** Puts back the shown conversation's draft (an empty reply if it has none). */
  const restoreDraft = () => {
    const conv = current();
    if (!conv) return;
    const d = drafts.get(conv.id);
    textarea.value = d?.body ?? '';
    error.hidden = true;
    setMode(d?.mode ?? 'comment');
  };

  replyTab.addEventListener('click', () => {
    setMode('comment');
    textarea.focus();
  });
  noteTab.addEventListener('click', () => {
    setMode('note');
    textarea.focus();
  });
  textarea.addEventListener('input', () => {
    error.hidden = true;
    saveDraft();
  });
  textarea.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      form.requestSubmit();
    } else if (e.key === 'Escape') textarea.blur();
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const conv = current();
    if (!conv || send.disabled) return;
    const body = textarea.value.trim();
    if (!body) {
      error.textContent = mode === 'note' ? 'Write a note first.' : 'Write a reply first.';
      error.hidden = false;
      return;
    }
    send.disabled = true;
    error.hidden = true;
    form.classList.add('is-sending');
    try {
      const msg = await deps.send(conv.id, mode, body);
      // The draft belongs to the conversation it was written in, even if the view moved on meanwhile.
      drafts.delete(conv.id);
      if (current()?.id === conv.id) {
        textarea.value = '';
        sent(msg);
      }
    } catch (err) {
      if (current()?.id === conv.id) {
        error.textContent = `Not sent: ${describeError(err)} Your message is kept below.`;
        error.hidden = false;
      }
    } finally {
      send.disabled = false;
      form.classList.remove('is-sending');
    }
  });
  return { form, textarea, saveDraft, restoreDraft };
}
