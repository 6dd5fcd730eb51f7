import { randomBytes } from 'node:crypto';
import { describeAnswer, type WebhookClient } from './webhook-client.ts';
import { invalidSubscription } from './subscription.ts';

export const VALIDATION_TIMEOUT_MS = 10_000;

/** notificationUrl with `validationToken` added to whatever query it already has. */
export function validationUrl(notificationUrl: string, token: string): string {
  const url = new URL(notificationUrl);
  url.searchParams.append('validationToken', token);
  return url.href;
}

/**
 * Graph's handshake: POST notificationUrl?validationToken=<opaque>; the endpoint proves it wants
 * these notifications by answering 200, text/plain, with the token as the body, within 10 s.
 * Anything else is a 400 saying what the endpoint answered (never the URL: it may hold a secret).
 */
export async function validateEndpoint(client: WebhookClient, name: string, url: string, timeoutMs = VALIDATION_TIMEOUT_MS): Promise<void> {
  const token = randomBytes(24).toString('base64url');
  const answer = await client.post(validationUrl(url, token), undefined, undefined, timeoutMs);
  const prefix = `Subscription validation request failed for the ${name}`;
  if (answer.kind === 'timeout') throw invalidSubscription(`${prefix}: the validation request timed out (${describeAnswer(answer, timeoutMs)}).`);
  if (answer.kind !== 'response') throw invalidSubscription(`${prefix}: ${describeAnswer(answer, timeoutMs)}.`);
  if (answer.status !== 200) {
    throw invalidSubscription(`${prefix}. Notification endpoint must respond with 200 OK to this request; it answered ${describeAnswer(answer, timeoutMs)}.`);
  }
  const mediaType = answer.contentType.split(';')[0]!.trim().toLowerCase();
  if (mediaType !== 'text/plain') {
    throw invalidSubscription(`${prefix}. The response must have the content type text/plain; it was '${mediaType.slice(0, 100) || 'none'}'.`);
  }
  if (answer.body !== token) {
    throw invalidSubscription(
      `${prefix}. Response must exactly match validationToken query parameter; it answered ${answer.body.length} characters that do not.`,
    );
  }
}
