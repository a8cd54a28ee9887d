import escapeHtml from 'escape-html';

/** Markup that is already safe: built by `html`, never from a raw string. */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

type Part = SafeHtml | string | number | boolean | null | undefined | Part[];

const render = (part: Part): string => {
  if (part === null || part === undefined || part === false) return '';
  if (Array.isArray(part)) return part.map(render).join('');
  if (part instanceof SafeHtml) return part.value;
  return escapeHtml(String(part));
};

/**
 * The console's only way to make markup: every interpolated value is escaped unless it is itself
 * `html`, so a user's email or a reason holding markup renders as text.
 */
export function html(strings: TemplateStringsArray, ...values: Part[]): SafeHtml {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1];
  return new SafeHtml(out);
}

/** Markup from a trusted library (the QR code's SVG), marked safe by name. */
export const trusted = (markup: string) => new SafeHtml(markup);

export const when = (condition: unknown, part: () => SafeHtml): SafeHtml => (condition ? part() : html``);

const pad = (n: number) => String(n).padStart(2, '0');
/** A timestamp as staff read it: UTC, to the second, with a machine-readable <time>. */
export function time(at: Date | string | null | undefined): SafeHtml {
  if (!at) return html`<span class="muted">never</span>`;
  const d = new Date(at);
  const text = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC`;
  return html`<time datetime="${d.toISOString()}">${text}</time>`;
}
