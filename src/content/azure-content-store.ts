import { BlobSASPermissions, BlobServiceClient, ContainerClient, RestError, StorageSharedKeyCredential, type BlockBlobClient } from '@azure/storage-blob';
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { assertSha256, assertStagingKey, ContentNotFoundError, SHA256_HEX, type ContentStore, type StoredContent } from './content-store.ts';
import { HashingMeter, hashStoredBody } from './hashing-meter.ts';

/** Container used when DSR_CONTENT_STORE names an account by connection string. */
export const DEFAULT_CONTENT_CONTAINER = 'dsr-content';

// uploadStream holds about bufferSize × (concurrency + 2) bytes: 4 MiB × 6 ≈ 24 MiB per upload.
const UPLOAD_BUFFER_BYTES = 4 * 1024 * 1024;
const UPLOAD_CONCURRENCY = 4;
// A fragment is staged in blocks of at most this size, each buffered once; a blob takes 50,000
// blocks, so 8 MiB blocks allow files of ~390 GiB through upload sessions.
const STAGE_BLOCK_BYTES = 8 * 1024 * 1024;
const COPY_SOURCE_SAS_SECONDS = 3600;

/**
 * `DSR_CONTENT_STORE=azure:<spec>`, where spec is either
 *  - a container URL with a SAS (`https://acct.blob.core.windows.net/content?sv=…&sig=…`): the
 *    container must exist and the SAS needs r, a, c, w, d (read, add, create, write, delete); or
 *  - a connection string, optionally with one extra `ContainerName=<name>` pair (not an Azure key:
 *    it is removed before the SDK sees the string). Default container: `dsr-content`, created on
 *    first use if missing.
 */
export function parseAzureContentSpec(spec: string): { containerClient: ContainerClient; createContainer: boolean } {
  if (/^https?:\/\//i.test(spec)) return { containerClient: new ContainerClient(spec), createContainer: false };
  let container = DEFAULT_CONTENT_CONTAINER;
  const pairs = spec.split(';').filter((pair) => {
    const m = /^\s*ContainerName\s*=\s*(.+?)\s*$/i.exec(pair);
    if (m) container = m[1]!;
    return !m && pair.trim() !== '';
  });
  const service = BlobServiceClient.fromConnectionString(pairs.join(';'));
  return { containerClient: service.getContainerClient(container), createContainer: true };
}

function isNotFound(err: unknown): boolean {
  return err instanceof RestError && err.statusCode === 404;
}

/**
 * Content in an Azure Blob container: `<sha256>` holds the bytes, `tmp/<uuid>` a body being
 * uploaded, `staging/<key>` an upload session's blocks.
 *
 * Why upload to a temporary name and copy: a blob's name is fixed before its first block is
 * staged (blocks belong to a blob), and the name is the hash, known only after the last byte.
 * The copy happens inside the storage account (Copy Blob), so no byte passes through this process
 * twice, and a failed upload leaves at most a tmp blob, never a wrong `<sha256>` blob.
 */
export function createAzureContentStore(spec: string): ContentStore {
  const { containerClient, createContainer } = parseAzureContentSpec(spec);
  let ready: Promise<unknown> | undefined;
  const ensureContainer = () => {
    if (!createContainer) return Promise.resolve();
    ready ??= containerClient.createIfNotExists().catch((err) => {
      ready = undefined;
      throw err;
    });
    return ready;
  };
  const blobOf = (sha256: string) => containerClient.getBlockBlobClient(sha256);
  const stagingOf = (key: string) => {
    assertStagingKey(key);
    return containerClient.getBlockBlobClient(`staging/${key}`);
  };

  /** A URL the service itself can read the source from (Copy Blob authorizes the source separately). */
  async function copySourceUrl(source: BlockBlobClient): Promise<string> {
    if (source.credential instanceof StorageSharedKeyCredential) {
      return source.generateSasUrl({
        permissions: BlobSASPermissions.parse('r'),
        expiresOn: new Date(Date.now() + COPY_SOURCE_SAS_SECONDS * 1000),
      });
    }
    return source.url; // the container SAS is already in the URL
  }

  /** Copies a complete temporary blob to its hash name (unless that exists) and removes it. */
  async function publish(source: BlockBlobClient, sha256: string): Promise<void> {
    try {
      const target = blobOf(sha256);
      if (!(await target.exists())) {
        const poller = await target.beginCopyFromURL(await copySourceUrl(source));
        await poller.pollUntilDone();
      }
    } finally {
      await source.deleteIfExists().catch(() => undefined);
    }
  }

  return {
    async put(body: Readable, opts: { maxBytes?: number } = {}): Promise<StoredContent> {
      await ensureContainer();
      const tmp = containerClient.getBlockBlobClient(`tmp/${randomUUID()}`);
      const meter = new HashingMeter(opts.maxBytes === undefined ? {} : { maxBytes: opts.maxBytes });
      body.once('error', (err) => meter.destroy(err));
      body.pipe(meter);
      try {
        await tmp.uploadStream(meter, UPLOAD_BUFFER_BYTES, UPLOAD_CONCURRENCY);
      } catch (err) {
        body.unpipe(meter);
        body.resume();
        await tmp.deleteIfExists().catch(() => undefined);
        // The SDK wraps the stream's own error; report ours (e.g. ContentTooLargeError) when we have it.
        throw meter.errored ?? err;
      }
      if (meter.errored) {
        await tmp.deleteIfExists().catch(() => undefined);
        throw meter.errored;
      }
      const sha256 = meter.digest();
      await publish(tmp, sha256);
      return { sha256, size: meter.bytes, quickXorHash: meter.quickXorHash() };
    },

    async get(sha256, range) {
      assertSha256(sha256);
      try {
        const response = range ? await blobOf(sha256).download(range.start, range.end - range.start + 1) : await blobOf(sha256).download();
        return response.readableStreamBody as Readable;
      } catch (err) {
        if (isNotFound(err)) throw new ContentNotFoundError(sha256);
        throw err;
      }
    },

    async has(sha256) {
      assertSha256(sha256);
      return blobOf(sha256).exists();
    },

    async delete(sha256) {
      assertSha256(sha256);
      await blobOf(sha256).deleteIfExists();
    },

    async sweepTemporary(olderThan) {
      // Only committed temporary blobs are listed: a put still uploading has uncommitted blocks
      // only, and one being published was committed moments ago.
      let removed = 0;
      for await (const blob of containerClient.listBlobsFlat({ prefix: 'tmp/' })) {
        if ((blob.properties.lastModified ?? new Date()) >= olderThan) continue;
        await containerClient.getBlockBlobClient(blob.name).deleteIfExists();
        removed++;
      }
      return removed;
    },

    async *listContent() {
      await ensureContainer();
      // Bodies are the top-level hex names; tmp/ and staging/ hold the rest.
      for await (const blob of containerClient.listBlobsFlat()) {
        if (SHA256_HEX.test(blob.name)) yield { sha256: blob.name, modified: blob.properties.lastModified ?? new Date() };
      }
    },

    async *listStaging() {
      await ensureContainer();
      // Staging that only has uncommitted blocks is not listed; Azure drops those after 7 days.
      for await (const blob of containerClient.listBlobsFlat({ prefix: 'staging/' })) {
        yield { key: blob.name.slice('staging/'.length), modified: blob.properties.lastModified ?? new Date() };
      }
    },

    async stagePart(key, _offset, body, length) {
      await ensureContainer();
      const blob = stagingOf(key);
      const meter = new HashingMeter({ exactBytes: length });
      // Random block ids (all the same length, as Azure requires): blocks of a fragment that dies
      // half-way are never named in a commit, and Azure drops uncommitted blocks after 7 days.
      const parts: string[] = [];
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      const flush = async () => {
        if (pendingBytes === 0) return;
        const id = Buffer.from(randomUUID()).toString('base64');
        const block = Buffer.concat(pending, pendingBytes);
        pending = [];
        pendingBytes = 0;
        await blob.stageBlock(id, block, block.length);
        parts.push(id);
      };
      await pipeline(body, meter, async (source: AsyncIterable<Buffer>) => {
        for await (const chunk of source) {
          pending.push(chunk);
          pendingBytes += chunk.length;
          if (pendingBytes >= STAGE_BLOCK_BYTES) await flush();
        }
      });
      await flush();
      return parts;
    },

    async commitStaged(key, parts, size) {
      const blob = stagingOf(key);
      await blob.commitBlockList([...parts]);
      // A hash cannot be carried between fragment requests (they may reach different processes),
      // so the committed blob is read back once to hash it.
      const download = await blob.download();
      let hashes: { sha256: string; quickXorHash: string };
      try {
        hashes = await hashStoredBody(download.readableStreamBody as AsyncIterable<Buffer>, size);
      } catch (err) {
        await blob.deleteIfExists().catch(() => undefined);
        throw err;
      }
      await publish(blob, hashes.sha256);
      return { ...hashes, size };
    },

    async discardStaged(key) {
      await stagingOf(key).deleteIfExists();
    },
  };
}
