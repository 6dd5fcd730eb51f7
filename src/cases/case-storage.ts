import { BlobServiceClient, ContainerSASPermissions, SASProtocol, StorageSharedKeyCredential } from '@azure/storage-blob';
import type { Readable } from 'node:stream';

/** How long the export of a case may wait and run before its SAS expires. */
const CASE_SAS_DAYS = 14;

/**
 * Where case packages live: one container per case (`dsr-case-<id>`) in the storage account that
 * DSR_CASES_STORAGE names by connection string. An account key is required: the service signs the
 * SAS its own export workers write with, and reads the package back with the key (never through a
 * SAS that could leak). Kept apart from the drive content store, whose blobs are named by hash.
 */
export interface CaseStorage {
  /** Creates the case's container and returns a container SAS the export worker can write with. */
  prepare(requestId: string, now: Date): Promise<{ sasUrl: string; container: string; containerName: string }>;
  /** A package file, streamed. */
  read(containerName: string, path: string, signal?: AbortSignal): Promise<Readable>;
  /** Deletes the case's container; true when it existed. */
  purge(containerName: string): Promise<boolean>;
}

export class CaseStorageError extends Error {}

export function caseContainerName(requestId: string): string {
  return `dsr-case-${requestId.toLowerCase()}`;
}

export function createCaseStorage(connectionString: string | undefined): CaseStorage | undefined {
  if (!connectionString) return undefined;
  const service = BlobServiceClient.fromConnectionString(connectionString);
  const credential = service.credential;
  if (!(credential instanceof StorageSharedKeyCredential)) {
    throw new CaseStorageError('DSR_CASES_STORAGE must be a connection string with an AccountKey: the service signs its own SAS for case exports.');
  }
  return {
    async prepare(requestId, now) {
      const containerName = caseContainerName(requestId);
      const container = service.getContainerClient(containerName);
      await container.createIfNotExists();
      const sasUrl = await container.generateSasUrl({
        permissions: ContainerSASPermissions.parse('racwl'),
        startsOn: new Date(now.getTime() - 5 * 60_000),
        expiresOn: new Date(now.getTime() + CASE_SAS_DAYS * 86_400_000),
        protocol: container.url.startsWith('https:') ? SASProtocol.Https : SASProtocol.HttpsAndHttp,
      });
      const url = new URL(sasUrl);
      return { sasUrl, container: `${url.protocol}//${url.host.toLowerCase()}${url.pathname}`, containerName };
    },
    async read(containerName, path, signal) {
      const res = await service.getContainerClient(containerName).getBlockBlobClient(path).download(0, undefined, { abortSignal: signal });
      if (!res.readableStreamBody) throw new CaseStorageError(`package file ${path} has no body`);
      return res.readableStreamBody as Readable;
    },
    async purge(containerName) {
      const res = await service.getContainerClient(containerName).deleteIfExists();
      return res.succeeded;
    },
  };
}
