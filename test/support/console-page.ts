import type { Page } from 'playwright-core';
import { expect } from 'vitest';

/**
 * The console's answer to a signed-in user without an administrator role: the Graph route's own
 * refusal, with its request id to quote to an operator.
 */
export async function expectRoleRefusal(page: Page): Promise<void> {
  const alert = page.getByRole('alert');
  await alert.waitFor();
  const text = await alert.innerText();
  expect(text).toContain('Not allowed');
  expect(text).toContain('administrator');
  expect(text).toMatch(/request id: [0-9a-f-]{36}/);
}
