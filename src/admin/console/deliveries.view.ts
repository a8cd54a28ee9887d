import { html, type SafeHtml, time, when } from '../../infra/http/html.js';
import { rowActionForm, table } from './layout.js';
import type { Attempt, Delivery } from '../../webhooks/delivery.js';

const stateOf = (d: Delivery) => html`<span class="state state-${d.status}">${d.status}</span>`;

/** One delivery as the incident view and the webhook page show it: state, answer, latency, next attempt. */
export function deliveryRow(d: Delivery, attempts: Attempt[], csrf: string): SafeHtml {
  const last = attempts[attempts.length - 1];
  const latency = d.deliveredAt ? d.deliveredAt.getTime() - d.createdAt.getTime() : null;
  const detail =
    d.status === 'delivered'
      ? html`HTTP ${d.lastStatus ?? ''} at ${time(d.deliveredAt)}${latency !== null ? html`, ${latency} ms after the event` : ''}`
      : d.status === 'retrying'
        ? html`attempt ${d.attempts} failed (${d.lastStatus ? `HTTP ${d.lastStatus}` : (d.lastError ?? 'no answer')}); next attempt at ${time(d.nextAttemptAt)}`
        : d.status === 'failed'
          ? html`gave up after ${d.attempts} attempt${d.attempts === 1 ? '' : 's'} (${d.lastStatus ? `HTTP ${d.lastStatus}` : (d.lastError ?? 'no answer')})`
          : html`waiting for its first attempt`;
  return html`<tr>
  <td class="wrap">${d.url}</td>
  <td><code>${d.eventType}</code></td>
  <td>${stateOf(d)}</td>
  <td>${detail}${when(last, () => html`<br><span class="muted">${attempts.length} attempt${attempts.length === 1 ? '' : 's'}, last ${last!.durationMs} ms</span>`)}</td>
  <td>${when(
    d.status === 'failed',
    () => rowActionForm({ id: `redeliver-${d.id}`, action: `/admin/deliveries/${d.id}/redeliver`, csrf, button: 'Redeliver', what: `deliver again to ${d.url}` }),
  )}</td>
</tr>`;
}

/** The deliveries' table of an incident: the part that the page's script reloads every second until every delivery has settled. */
export function deliveriesBox(auditId: string, deliveries: Delivery[], attempts: Attempt[], csrf: string): SafeHtml {
  const settled = deliveries.every((d) => d.status === 'delivered' || d.status === 'failed');
  const rows = deliveries.map((d) =>
    deliveryRow(
      d,
      attempts.filter((a) => a.deliveryId === d.id),
      csrf,
    ),
  );
  return html`<div id="deliveries" data-poll="/admin/incidents/${auditId}/deliveries" data-settled="${settled ? 'true' : 'false'}" aria-live="polite">
${table('Webhook deliveries', ['Subscription', 'Event', 'State', 'Detail', 'Action'], rows, 'No webhook subscription was notified of this change.')}
<p class="muted">${settled ? 'Every delivery has settled.' : 'Updated every second.'}</p>
</div>`;
}

