import type { Readable } from 'node:stream';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import type { Db } from '../db/pool.ts';

/**
 * The `COPY … TO STDOUT`s run on one connection of the export's snapshot. pg-copy-streams parses
 * the connection only while its stream is read, so one that its section stopped reading (an
 * abort, a failed write, or a generator returned before it began to read) leaves the connection
 * unable to run anything else, a rollback included, until it is read to its end; destroying the
 * stream leaves the connection the same way. Such a connection is closed instead (abandon).
 */
export class SnapshotCopies {
  private readonly open = new Set<Readable>();

  constructor(private readonly client: pg.ClientBase) {}

  copyOut(sql: string): Readable {
    const copy = this.client.query(copyTo(sql));
    this.open.add(copy);
    copy.once('close', () => this.open.delete(copy));
    return copy;
  }

  /**
   * Whether a COPY is still open: then the connection must be closed, not reused. Its streams
   * are told to expect the error that closing them brings.
   */
  abandon(): boolean {
    for (const copy of this.open) copy.on('error', () => undefined);
    return this.open.size > 0;
  }
}

const SNAPSHOT_ID = /^[0-9A-F]+(-[0-9A-F]+)+$/i;

/**
 * A second connection inside the export's snapshot (the id the first connection exported with
 * pg_export_snapshot): it sees exactly the rows the first sees, so two COPYs of one section run
 * side by side. Not from the pool: a render holding two pooled connections while its plan's
 * writes wait for a third could exhaust the pool with a few exports at once.
 */
export async function joinSnapshot(db: Db, snapshotId: string): Promise<pg.Client> {
  if (!SNAPSHOT_ID.test(snapshotId)) throw new Error('not a snapshot id');
  const client = new pg.Client(db.options);
  // A server that goes away fails the next query; an unheard 'error' would end the process.
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('begin isolation level repeatable read read only');
    await client.query(`set transaction snapshot '${snapshotId}'`);
    return client;
  } catch (err) {
    await client.end().catch(() => undefined);
    throw err;
  }
}
