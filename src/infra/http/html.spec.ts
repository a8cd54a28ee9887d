import { html, trusted } from './html.js';

describe('html', () => {
  it('escapes every interpolated value, in text and in attributes', () => {
    const evil = `<img src=x onerror="alert(1)">'&`;
    expect(html`<p title="${evil}">${evil}</p>`.value).toBe('<p title="&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&#39;&amp;">&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&#39;&amp;</p>');
  });

  it('keeps markup built by html (and only that) as it is, and joins arrays', () => {
    const item = (s: string) => html`<li>${s}</li>`;
    expect(html`<ul>${['a<b', 'c'].map(item)}</ul>`.value).toBe('<ul><li>a&lt;b</li><li>c</li></ul>');
    expect(html`${'<b>x</b>'}${trusted('<b>y</b>')}`.value).toBe('&lt;b&gt;x&lt;/b&gt;<b>y</b>');
    expect(html`${null}${undefined}${false}${0}`.value).toBe('0');
  });
});
