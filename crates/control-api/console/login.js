// Sign-in: POST /v1/auth/login, then the token is kept for this tab's session only.

import { api, Problem, session } from './api.js';
import { busy, field, h, notice } from './dom.js';

export async function renderLogin(page) {
  const flash = session.takeFlash();
  const status = h('div', { class: 'form-status', 'aria-live': 'polite' });
  const email = h('input', { id: 'login-email', name: 'email', type: 'email', autocomplete: 'username', required: true });
  const password = h('input', { id: 'login-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button', { type: 'submit', class: 'button primary wide' }, 'Sign in');
  const form = h('form', { class: 'stack', novalidate: true },
    field('Email', email), field('Password', password), submit);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    status.replaceChildren();
    await busy(submit, async () => {
      try {
        const res = await api('POST', '/v1/auth/login', { email: email.value, password: password.value });
        session.start(res.access_token);
        location.hash = '#/tenants';
      } catch (e) {
        if (!(e instanceof Problem)) throw e;
        status.append(notice('error', e.status === 401 ? 'Sign-in refused' : e.title, e.detail));
        password.select();
      }
    });
  });
  page.classList.add('login-page');
  page.append(h('div', { class: 'login-card card' },
    h('div', { class: 'login-brand' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }), 'Tenancy console'),
    h('h1', { id: 'page-title', tabindex: '-1' }, 'Sign in'),
    h('p', { class: 'muted' }, 'Super-admins only. Your session ends when you close this tab.'),
    flash ? notice(flash.kind, flash.title, flash.detail) : null,
    status,
    form));
  email.focus();
}
