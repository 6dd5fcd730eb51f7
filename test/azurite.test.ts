import { ContainerClient } from '@azure/storage-blob';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createContainerSas, startAzurite, type Azurite } from '../src/embedded/azurite.ts';

let azurite: Azurite;
beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  await azurite.stop();
});

test('a container SAS from the helper uploads and lists through the real SDK', async () => {
  const sas = await createContainerSas(azurite, 'helper-check');
  const container = new ContainerClient(sas);
  await container.getBlockBlobClient('a/b.txt').upload('hello', 5);
  const names: string[] = [];
  for await (const blob of container.listBlobsFlat()) names.push(blob.name);
  expect(names).toEqual(['a/b.txt']);
  expect(new URL(sas).searchParams.get('sr')).toBe('c');
});
