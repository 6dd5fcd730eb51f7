import { ContainerClient } from '@azure/storage-blob';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createContainerSas, startAzurite, type Azurite } from '../src/embedded/azurite.ts';
import { mapConcurrent } from '../src/seed/map-concurrent.ts';

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

test("Azurite's extent collector keeps the content of every blob when many containers hold the same blob names", async () => {
  // Three pages of the collector's listing, under names that every container repeats, as export
  // packages do: unpatched, the collector skipped the rest of a name at each page boundary and
  // deleted the content of 40 of these blobs (and a read of one then never answers).
  const gc = await startAzurite(0, undefined, { gcIntervalMs: 200, listPage: 100 });
  try {
    const containers = Array.from({ length: 30 }, (_, c) => gc.service.getContainerClient(`same-names-${c}`));
    const names = Array.from({ length: 10 }, (_, n) => `Directory/file-${n}.json`);
    const body = (c: number, n: number) => `container ${c}, file ${n}`;
    const all = containers.flatMap((container, c) => names.map((name, n) => ({ container, c, name, n })));
    await Promise.all(containers.map((c) => c.create()));
    await mapConcurrent(all, 64, ({ container, c, name, n }) => container.getBlockBlobClient(name).upload(body(c, n), body(c, n).length));
    // The pass that ends next may have started before the last upload; the one after cannot have.
    await gc.nextGcPass();
    await gc.nextGcPass();
    const lost: string[] = [];
    await mapConcurrent(all, 64, async ({ container, c, name, n }) => {
      const got = await container
        .getBlockBlobClient(name)
        .downloadToBuffer(0, undefined, { abortSignal: AbortSignal.timeout(5_000) })
        .then(String, () => 'no answer');
      if (got !== body(c, n)) lost.push(`${container.containerName}/${name}`);
    });
    expect(lost).toEqual([]);
  } finally {
    await gc.stop();
  }
}, 60_000);

test('with keyed look-ups (benchmarks), Azurite still finds, overwrites, protects and deletes blobs as stock Azurite does', async () => {
  const keyed = await startAzurite(0, undefined, { keyedLookups: true });
  try {
    const one = keyed.service.getContainerClient('keyed-one');
    const two = keyed.service.getContainerClient('keyed-two');
    await Promise.all([one.create(), two.create()]);
    // The same name in two containers: two blobs.
    await one.getBlockBlobClient('a.json').upload('one', 3);
    await two.getBlockBlobClient('a.json').upload('two', 3);
    expect(String(await one.getBlockBlobClient('a.json').downloadToBuffer())).toBe('one');
    expect(String(await two.getBlockBlobClient('a.json').downloadToBuffer())).toBe('two');
    // The existence check behind If-None-Match: * sees the blob.
    const refused = await one
      .getBlockBlobClient('a.json')
      .upload('again', 5, { conditions: { ifNoneMatch: '*' } })
      .then(
        () => 0,
        (err: { statusCode?: number }) => err.statusCode,
      );
    expect(refused).toBe(409);
    await one.getBlockBlobClient('a.json').upload('over', 4);
    expect(String(await one.getBlockBlobClient('a.json').downloadToBuffer())).toBe('over');
    await one.getBlockBlobClient('a.json').delete();
    expect(await one.getBlockBlobClient('a.json').exists()).toBe(false);
    expect(await two.getBlockBlobClient('a.json').exists()).toBe(true);
    await one.getBlockBlobClient('a.json').upload('back', 4, { conditions: { ifNoneMatch: '*' } });
    expect(String(await one.getBlockBlobClient('a.json').downloadToBuffer())).toBe('back');
  } finally {
    await keyed.stop();
  }
});
