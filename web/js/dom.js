// Small DOM helpers. Text goes in with textContent only: never innerHTML.

/**
 * Builds an element. `props`: class, text, data ({key: value} → data-key), attrs ({name: value}),
 * hidden, type, title. Children are nodes or strings (inserted as text nodes).
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    switch (key) {
      case 'class': node.className = value; break;
      case 'text': node.textContent = value; break;
      case 'data':
        for (const [k, v] of Object.entries(value)) if (v !== undefined && v !== null) node.dataset[k] = v;
        break;
      case 'attrs':
        for (const [k, v] of Object.entries(value)) if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? '' : v);
        break;
      case 'hidden': node.hidden = true; break;
      default: node[key] = value;
    }
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return node;
}

export function clear(node) {
  while (node.firstChild) node.firstChild.remove();
}

export function $(selector, root = document) {
  return root.querySelector(selector);
}

export function $$(selector, root = document) {
  return Array.from(root.querySelectorAll(selector));
}

/** Sets a text only when it changed (keeps screen readers and layout quiet). */
export function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

const FOCUS_KEYS = [['member', 'data-member'], ['room', 'data-room'], ['activate', 'data-activate'], ['closeConv', 'data-close-conv']];

/**
 * Runs `render` (which rebuilds the children of `container`) and gives the focus back to the
 * element of the same identity, so live updates never throw a keyboard user out of a list.
 */
export function keepFocus(container, render) {
  const active = document.activeElement;
  let selector = null;
  if (active && active !== document.body && container.contains(active)) {
    for (const [key, attr] of FOCUS_KEYS) {
      if (active.dataset && active.dataset[key] !== undefined) {
        selector = `[${attr}="${CSS.escape(active.dataset[key])}"]`;
        break;
      }
    }
  }
  render();
  if (selector) container.querySelector(selector)?.focus({ preventScroll: true });
}
