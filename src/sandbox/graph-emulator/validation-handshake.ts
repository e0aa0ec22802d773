/**
 * The validation Graph performs before it creates a subscription: POST {url}?validationToken={token} (the token
 * URL-encoded; it holds spaces and colons) with an empty text/plain body. The receiver must answer 200 with a
 * text/plain body that is exactly the decoded token, within 10 seconds; anything else fails the create with 400.
 */
import { randomUUID } from 'node:crypto';
import { request, type Dispatcher } from 'undici';
import { validationError } from './graph-errors';

export async function validateEndpoint(url: string, opts: { timeoutMs: number; dispatcher: Dispatcher; signal: AbortSignal }): Promise<void> {
  const token = `Validation: Testing client application reachability for subscription Request-Id: ${randomUUID()}`;
  const target = new URL(url);
  target.searchParams.set('validationToken', token);
  let status: number;
  let contentType: string;
  let text: string;
  const timeout = AbortSignal.timeout(opts.timeoutMs);
  try {
    const res = await request(target, {
      method: 'POST',
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      body: '',
      dispatcher: opts.dispatcher,
      signal: AbortSignal.any([opts.signal, timeout]),
    });
    status = res.statusCode;
    const header = res.headers['content-type'];
    contentType = (Array.isArray(header) ? header[0] : (header ?? '')).toLowerCase();
    text = await res.body.text();
  } catch (err) {
    if (timeout.aborted) throw validationError('Subscription validation request timed out.');
    throw validationError('Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.');
  }
  if (status !== 200) throw validationError('Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.');
  if (!contentType.startsWith('text/plain')) throw validationError('Subscription validation request failed. Response must have Content-Type text/plain.');
  if (text !== token) throw validationError('Subscription validation request failed. Response must exactly match validationToken query parameter.');
}
