import type pg from 'pg';
import type { Logger } from 'pino';
import type { Db } from '../db/pool.ts';

/**
 * Holds one pooled connection in LISTEN on `channel` and calls `onWake` for each NOTIFY, and once
 * more after a reconnect (notifications sent while disconnected are lost, so the caller looks
 * again). The caller's slow poll covers the time without a connection: a failed first LISTEN is
 * logged, not thrown, and retried every second like a lost one until `close`. The connection is
 * checked out of the pool, so the caller must `close` before it ends the pool.
 */
export async function listenChannel(db: Db, channel: string, onWake: () => void, logger: Logger): Promise<{ close(): void }> {
  let closed = false;
  let current: { client: pg.PoolClient; close(): void } | undefined;
  let retry: NodeJS.Timeout | undefined;

  const connect = async (): Promise<void> => {
    const c = await db.connect();
    let lost = false;
    const onLost = (err?: unknown) => {
      if (lost) return;
      lost = true;
      c.removeListener('notification', onWake);
      c.release(true);
      if (current?.client === c) current = undefined;
      if (closed) return;
      logger.warn({ err: String(err), channel }, 'LISTEN connection lost; reconnecting');
      scheduleReconnect();
    };
    c.on('notification', onWake);
    c.on('error', onLost);
    c.on('end', () => onLost());
    try {
      await c.query(`listen ${channel}`);
    } catch (err) {
      onLost(err);
      return;
    }
    if (closed) {
      onLost();
      return;
    }
    current = {
      client: c,
      close: () => {
        lost = true;
        c.removeListener('notification', onWake);
        c.release(true);
      },
    };
  };
  const scheduleReconnect = () => {
    if (closed) return;
    retry = setTimeout(() => {
      void connect().then(() => {
        if (current) onWake();
      }, scheduleReconnect);
    }, 1000);
    retry.unref();
  };

  await connect().catch((err: unknown) => {
    logger.warn({ err: String(err), channel }, 'LISTEN failed; polling only for now');
    scheduleReconnect();
  });
  return {
    close() {
      closed = true;
      clearTimeout(retry);
      const c = current;
      current = undefined;
      c?.close();
    },
  };
}
