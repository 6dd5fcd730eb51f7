import { expect } from 'vitest';
import type { Db } from '../../src/db/pool.ts';

export const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface InjectLike {
  statusCode: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: string;
}

/** Asserts Graph's error shape (docs/architecture.md#errors) and returns the parsed error. */
export function expectGraphError(res: InjectLike, status: number, code: string): { code: string; message: string; innerError: Record<string, string> } {
  expect(res.statusCode, res.body).toBe(status);
  expect(String(res.headers['content-type'])).toMatch(/^application\/json/);
  const body = JSON.parse(res.body) as { error: { code: string; message: string; innerError: Record<string, string> } };
  expect(Object.keys(body)).toEqual(['error']);
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe('string');
  expect(body.error.message.length).toBeGreaterThan(0);
  expect(Object.keys(body.error.innerError).sort()).toEqual(['client-request-id', 'date', 'request-id']);
  expect(body.error.innerError.date).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/);
  expect(body.error.innerError['request-id']).toMatch(GUID);
  expect(body.error.innerError['request-id']).toBe(res.headers['request-id']);
  expect(body.error.innerError['client-request-id']).toBe(res.headers['client-request-id']);
  return body.error;
}

export async function countRows(db: Db, table: 'data_policy_operations' | 'users' | 'directory_audits'): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`select count(*)::int as n from ${table}`);
  return rows[0]!.n;
}
