// The send box under a conversation: keeps a draft per conversation while the visitor looks elsewhere, sends on
// Enter (Shift+Enter for a new line), and posts the message: starting a new conversation or replying in one.
import { h, icon } from '../shared/dom.js';
import { friendly } from './api.js';
import { ICONS } from './icons.js';

/**
 * @typedef {import('./api.js').Message} Message
 * @typedef {import('./api.js').Request} Request
 * @typedef {import('./api.js').Conv & { messages: Message[] }} NewConversation
 */

export class Composer {
  /**
   * @param {{ request: Request, onStarted: (conv: NewConversation, body: string) => void,
   *   onSent: (msg: Message) => void }} opts `onStarted`: a new conversation was created with its first message
   */
  constructor(opts) {
    this.request = opts.request;
    this.onStarted = opts.onStarted;
    this.onSent = opts.onSent;
    this.sending = false;
    /** @type {Map<string, string>} drafts by conversation id ('' for a new one) */
    this.drafts = new Map();
    /** @type {HTMLTextAreaElement | null} */
    this.input = null;
  }

  /**
   * The send box for conversation `id` (null: a new one), holding its draft. `autosize` fits the box to its text.
   *
   * @param {string | null} id
   */
  render(id) {
    const input = h('textarea', {
      class: 'input',
      rows: '1',
      placeholder: 'Write a message…',
      'aria-label': 'Message',
      maxlength: '20000',
      'data-testid': 'settle-input',
    });
    input.value = this.drafts.get(id ?? '') ?? '';
    const sendBtn = h(
      'button',
      { type: 'submit', class: 'send-btn', 'aria-label': 'Send', 'data-testid': 'settle-send' },
      icon(ICONS.send),
    );
    const error = h('div', { class: 'send-error', role: 'alert', hidden: true });
    const form = h('form', { class: 'composer' }, h('div', { class: 'composer-row' }, input, sendBtn), error);
    const autosize = () => {
      input.style.height = 'auto';
      input.style.height = `${Math.min(input.scrollHeight, 120)}px`;
    };
    input.addEventListener('input', () => {
      error.hidden = true;
      autosize();
    });
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        form.requestSubmit();
      }
    });
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const body = input.value.trim();
      if (!body || this.sending) return;
      this.sending = true;
      sendBtn.disabled = true;
      error.hidden = true;
      try {
        if (id === null) {
          const conv = await this.request('POST', '/messenger/conversations', { body });
          this.drafts.delete('');
          input.value = '';
          this.onStarted(conv, body);
        } else {
          const msg = await this.request(
            'POST',
            `/messenger/conversations/${encodeURIComponent(id)}/messages`,
            { body },
          );
          this.drafts.delete(id);
          input.value = '';
          autosize();
          this.onSent(msg);
        }
      } catch (err) {
        error.textContent = `Not sent. ${friendly(err)}`;
        error.hidden = false;
      } finally {
        this.sending = false;
        sendBtn.disabled = false;
      }
    });
    this.input = input;
    return { form, autosize };
  }

  focus() {
    requestAnimationFrame(() => this.input?.focus());
  }

  /**
   * Keeps what is typed in the send box on screen, if any, as the draft of `key` (a conversation id, '' for a new
   * one).
   *
   * @param {string} key
   */
  saveDraft(key) {
    if (!this.input || !this.input.isConnected) return;
    if (this.input.value) this.drafts.set(key, this.input.value);
    else this.drafts.delete(key);
  }
}
