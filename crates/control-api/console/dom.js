// Small DOM helpers: every page is built with `h` from data, never from HTML strings, so
// a tenant's name or an error message can never become markup.

/** `h('a', {href: '#/x', class: 'y'}, 'text', child)`: an element. `on*` attributes take functions. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'dataset') {
      Object.assign(el.dataset, value);
    } else if (value === true) {
      el.setAttribute(key, '');
    } else {
      el.setAttribute(key, String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's content. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A date as "2026-12-05 18:30:12" in the browser's zone, with the ISO value in a <time>. */
export function when(iso) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const pad = (n) => String(n).padStart(2, '0');
  const shown = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return h('time', { datetime: iso, title: iso }, shown);
}

/** A status word as a coloured badge (the word itself carries the meaning, not the colour). */
export function badge(word) {
  const w = word ?? 'unknown';
  return h('span', { class: `badge badge-${String(w).replace(/[^a-z_]/g, '')}` }, String(w).replace(/_/g, ' '));
}

/** A page heading with optional actions on the right. */
export function pageHeader(title, subtitle, ...actions) {
  return h('div', { class: 'page-header' },
    h('div', {}, h('h1', { id: 'page-title', tabindex: '-1' }, title), subtitle ? h('p', { class: 'muted' }, subtitle) : null),
    actions.length ? h('div', { class: 'page-actions' }, actions) : null);
}

/** A message box: kind is 'error', 'success', 'info' or 'unavailable'. */
export function notice(kind, title, detail) {
  return h('div', { class: `notice notice-${kind}`, role: kind === 'error' ? 'alert' : 'status' },
    title ? h('strong', { class: 'notice-title' }, title) : null,
    detail ? h('span', { class: 'notice-detail' }, detail) : null);
}

/** A table in a scrolling wrapper; `columns` are [{label, cell(row), class?}]. */
export function table(caption, columns, rows, empty = 'Nothing to show.') {
  if (!rows.length) return h('p', { class: 'empty' }, empty);
  return h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': caption },
    h('table', {},
      h('caption', { class: 'visually-hidden' }, caption),
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.class }, c.label)))),
      h('tbody', {}, rows.map((row) => h('tr', {}, columns.map((c) => h('td', { class: c.class, 'data-label': c.label }, c.cell(row))))))));
}

/** A labelled form field; `input` is the control. Its error slot is `#<id>-error`. */
export function field(label, input, hint) {
  const id = input.id;
  const describedBy = [hint ? `${id}-hint` : null, `${id}-error`].filter(Boolean).join(' ');
  input.setAttribute('aria-describedby', describedBy);
  return h('div', { class: 'field', 'data-field': input.name },
    h('label', { for: id }, label),
    hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null,
    input,
    h('p', { class: 'field-error', id: `${id}-error`, hidden: true }));
}

/** Shows (or clears, with null) the error under a field made by `field`. */
export function setFieldError(form, name, message) {
  const input = form.elements.namedItem(name);
  if (!input) return false;
  const slot = form.querySelector(`#${CSS.escape(input.id)}-error`);
  if (message) {
    input.setAttribute('aria-invalid', 'true');
    fill(slot, message);
    slot.hidden = false;
  } else {
    input.removeAttribute('aria-invalid');
    fill(slot);
    slot.hidden = true;
  }
  return true;
}

/** Disables a button while `work` runs, so a double click cannot send twice. */
export async function busy(button, work) {
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
  }
}
