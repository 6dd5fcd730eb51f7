import path from 'node:path';
import type { Config } from '../config.ts';
import { createAzureContentStore } from './azure-content-store.ts';
import type { ContentStore } from './content-store.ts';
import { createLocalContentStore } from './local-content-store.ts';

/** DSR_CONTENT_STORE: unset = `<dataDir>/content`; `azure:<container SAS URL | connection string>`; `local:<folder>`. */
export function createContentStore(config: Pick<Config, 'contentStore' | 'dataDir'>): ContentStore {
  const spec = config.contentStore;
  if (spec === undefined || spec === '') return createLocalContentStore(path.join(config.dataDir, 'content'));
  if (spec.startsWith('azure:')) return createAzureContentStore(spec.slice('azure:'.length));
  if (spec.startsWith('local:')) return createLocalContentStore(path.resolve(spec.slice('local:'.length)));
  // Never echo the value: it may hold a SAS or an account key.
  throw new Error('DSR_CONTENT_STORE must be empty, "azure:<container URL with SAS | connection string>" or "local:<folder>"');
}
