import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createContentStore } from '../src/content/create-content-store.ts';
import type { ContentStore } from '../src/content/content-store.ts';
import { AZURITE_ACCOUNT, AZURITE_KEY, createContainerSas, startAzurite, type Azurite } from '../src/embedded/azurite.ts';
import { chunked, contentStoreContract } from './support/content-store-contract.ts';
import { sha256Hex, testBytes } from './support/drive-helpers.ts';

let azurite: Azurite;
let viaSas: ContentStore;
let viaConnectionString: ContentStore;

beforeAll(async () => {
  azurite = await startAzurite();
  const sas = await createContainerSas(azurite, 'content-sas');
  viaSas = createContentStore({ dataDir: '/nonexistent', contentStore: `azure:${sas}` });
  const cs = `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${azurite.accountUrl};ContainerName=content-cs`;
  viaConnectionString = createContentStore({ dataDir: '/nonexistent', contentStore: `azure:${cs}` });
});
afterAll(async () => {
  await azurite.stop();
});

describe('container SAS URL', () => {
  contentStoreContract(() => viaSas);
});

describe('connection string (container created on first use)', () => {
  contentStoreContract(() => viaConnectionString);
});

test('blobs are named by their hash and temporary blobs are removed', async () => {
  const data = testBytes(5 * 1024 * 1024, 77);
  const { sha256 } = await viaSas.put(chunked(data));
  expect(sha256).toBe(sha256Hex(data));
  const names: string[] = [];
  for await (const b of azurite.service.getContainerClient('content-sas').listBlobsFlat()) names.push(b.name);
  expect(names).toContain(sha256);
  expect(names.filter((n) => n.startsWith('tmp/') || n.startsWith('staging/'))).toEqual([]);
  const connectionStringContainer: string[] = [];
  for await (const b of azurite.service.getContainerClient('content-cs').listBlobsFlat()) connectionStringContainer.push(b.name);
  expect(connectionStringContainer.every((n) => /^[0-9a-f]{64}$/.test(n))).toBe(true);
});

test('a temporary blob left by a crash is swept once older than the cutoff, not before', async () => {
  const leftover = azurite.service.getContainerClient('content-sas').getBlockBlobClient(`tmp/crashed-${Date.now()}`);
  await leftover.upload('half a body', 11);
  expect(await viaSas.sweepTemporary(new Date(Date.now() - 3600e3))).toBe(0);
  expect(await leftover.exists()).toBe(true);
  expect(await viaSas.sweepTemporary(new Date(Date.now() + 60e3))).toBe(1);
  expect(await leftover.exists()).toBe(false);
});
