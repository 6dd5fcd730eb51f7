// Runs an Azurite blob service in its own process (its CPU and memory stay apart from ours).
// Prints {"url": "..."} on stdout once listening; exits when stdin closes (parent died) or on
// SIGTERM. Arguments: the port (0 = a free one) and, optionally, a folder: with it, blobs and
// metadata live on disk, so stopping and starting again on the same port and folder is an
// outage, not a data loss (fault tests); without it, everything is in memory.
//
// For tests: AZURITE_GC_INTERVAL_MS sets how often Azurite's extent collector runs (10 minutes
// by default), and a line {"gc":"swept"} then follows each pass; AZURITE_LIST_PAGE sets the
// number of blobs per page of a listing (5,000), the collector's included.
const path = require('node:path');
const constants = require('azurite/dist/src/blob/utils/constants');
const BlobGCManager = require('azurite/dist/src/blob/gc/BlobGCManager').default;
const LokiBlobMetadataStore = require('azurite/dist/src/blob/persistence/LokiBlobMetadataStore').default;
const BlobServer = require('azurite/dist/src/blob/BlobServer').default;
const BlobConfiguration = require('azurite/dist/src/blob/BlobConfiguration').default;

// Azurite 3.35's extent collector lists every blob of every container in pages ordered by blob
// name alone, the next page starting after the last name seen. When several containers hold
// blobs of the same name (every export package has the same layout), each page boundary skips
// the rest of that name's blobs; the collector then takes their content for garbage and deletes
// it, and a later read of such a blob never answers. Each deletion also rebuilds Azurite's extent
// index: with 30,000 blobs the pass held Azurite for about five minutes. Paging in insertion
// order (LokiJS's $loki, unique and increasing) lists every blob once. Only the collector calls
// listAllBlobs.
LokiBlobMetadataStore.prototype.listAllBlobs = async function listAllBlobs(
  maxResults = constants.DEFAULT_LIST_BLOBS_MAX_RESULTS,
  marker = '',
  includeSnapshots,
  includeUncommittedBlobs,
) {
  const after = Number(marker || 0);
  const docs = this.db
    .getCollection(this.BLOBS_COLLECTION)
    .chain()
    .where((b) => b.$loki > after && (includeSnapshots || b.snapshot.length === 0) && (includeUncommittedBlobs || b.isCommitted))
    .simplesort('$loki')
    .limit(maxResults + 1)
    .data();
  for (const doc of docs) doc.properties.contentMD5 = this.restoreUint8Array(doc.properties.contentMD5);
  if (docs.length <= maxResults) return [docs, undefined];
  docs.pop();
  return [docs, String(docs[docs.length - 1].$loki)];
};

// For benchmarks: AZURITE_KEYED_LOOKUPS=1 answers Azurite's look-up of one blob by account,
// container, name and snapshot (every Put Blob makes two: its existence check and the SAS check's
// blob type) from a map kept by the collection's insert and delete events. Azurite's LokiJS query
// narrows by the account name first, which in an emulator matches every blob, and then scans them
// all: two scans of the whole store per upload, the cost that makes a long drain slow down as the
// store fills, on both sides of a comparison. A real storage account has no such scan.
if (process.env.AZURITE_KEYED_LOOKUPS) {
  const init = LokiBlobMetadataStore.prototype.init;
  LokiBlobMetadataStore.prototype.init = async function () {
    await init.call(this);
    const blobs = this.db.getCollection(this.BLOBS_COLLECTION);
    const key = (b) => JSON.stringify([b.accountName, b.containerName, b.name, b.snapshot]);
    const byKey = new Map(blobs.data.map((b) => [key(b), b]));
    blobs.on('insert', (docs) => {
      for (const b of [].concat(docs)) byKey.set(key(b), b);
    });
    blobs.on('delete', (docs) => {
      for (const b of [].concat(docs)) if (byKey.get(key(b)) === b) byKey.delete(key(b));
    });
    const findOne = blobs.findOne.bind(blobs);
    const fields = ['accountName', 'containerName', 'name', 'snapshot'];
    blobs.findOne = (query) => {
      const keyed = query && Object.keys(query).length === 4 && fields.every((f) => typeof query[f] === 'string');
      return keyed ? (byKey.get(key(query)) ?? null) : findOne(query);
    };
  };
}

if (process.env.AZURITE_LIST_PAGE) constants.DEFAULT_LIST_BLOBS_MAX_RESULTS = Number(process.env.AZURITE_LIST_PAGE);
let listening = false;
if (process.env.AZURITE_GC_INTERVAL_MS) {
  // Read by BlobGCManager's constructor as its default interval.
  constants.DEFAULT_GC_INTERVAL_MS = Number(process.env.AZURITE_GC_INTERVAL_MS);
  const markSweep = BlobGCManager.prototype.markSweep;
  BlobGCManager.prototype.markSweep = async function () {
    await markSweep.call(this);
    // The first line is always the URL.
    if (listening) process.stdout.write(JSON.stringify({ gc: 'swept' }) + '\n');
  };
}

async function main() {
  const port = Number(process.argv[2] ?? 0);
  const dir = process.argv[3];
  // Positional: host, port, keepAlive, metadataDB, extentDB, persistence, accessLog, accessLogStream,
  // debugLog, debugLogPath, loose, skipApiVersionCheck (storage-blob 12.32 sends a newer
  // x-ms-version than Azurite 3.35 knows), cert, key, pwd, oauth, disableProductStyleUrl, inMemory.
  const config = new BlobConfiguration(
    '127.0.0.1',
    port,
    undefined,
    dir ? path.join(dir, '__azurite_db_blob__.json') : undefined,
    dir ? path.join(dir, '__azurite_db_blob_extent__.json') : undefined,
    dir ? [{ locationId: 'Default', locationPath: path.join(dir, '__blobstorage__'), maxConcurrency: 10 }] : undefined,
    false,
    undefined,
    false,
    undefined,
    true,
    true,
    '',
    '',
    '',
    undefined,
    false,
    !dir,
  );
  const server = new BlobServer(config);
  await server.start();
  process.stdout.write(JSON.stringify({ url: server.getHttpServerAddress() }) + '\n');
  listening = true;
  const stop = () =>
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  process.once('SIGTERM', stop);
  process.stdin.on('end', stop);
  process.stdin.resume();
}

main().catch((err) => {
  process.stderr.write(String((err && err.stack) || err) + '\n');
  process.exit(1);
});
