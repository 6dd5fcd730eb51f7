import { DirectorySASPermissions, generateDataLakeSASQueryParameters, SASProtocol, StorageSharedKeyCredential } from '@azure/storage-file-datalake';
import { AZURITE_ACCOUNT, AZURITE_KEY, createContainerSas, type Azurite } from '../../src/embedded/azurite.ts';
import type { StorageRefusal } from './export-fixtures.ts';

// Azure's directory-scoped service SAS (`sr=d`, with `sdd`, the directory's depth) exists on
// accounts with a hierarchical namespace: like a container SAS, but only for the directory and
// what is under it. Azurite 3.35 has no hierarchical namespace; its blob SAS check knows only
// `sr=c`, `b` and `bs`, and answers a directory SAS 403 AuthorizationFailure (the test says so).

const credential = new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY);

/** The query of a directory SAS for `container/directory`, made by Azure's own DataLake SDK. */
export function directorySasQuery(container: string, directory: string, opts: { permissions?: string; expiresInSeconds?: number } = {}): string {
  return generateDataLakeSASQueryParameters(
    {
      fileSystemName: container,
      pathName: directory,
      isDirectory: true,
      permissions: DirectorySASPermissions.parse(opts.permissions ?? 'racwl'),
      startsOn: new Date(Date.now() - 60_000),
      expiresOn: new Date(Date.now() + (opts.expiresInSeconds ?? 4 * 3600) * 1000),
      protocol: SASProtocol.HttpsAndHttp,
    },
    credential,
  ).toString();
}

const SAS_PARAMETERS = ['sv', 'ss', 'srt', 'sr', 'sp', 'st', 'se', 'sip', 'spr', 'sig', 'sdd', 'si', 'ses', 'rscc', 'rscd', 'rsce', 'rscl', 'rsct'];

/**
 * A STAND-IN for Azure's check of a directory SAS, which Azurite lacks, for a storage proxy in
 * front of Azurite (`startStorageProxy(…, { authorize })`). It checks what Azure checks: the
 * signature (recomputed by the DataLake SDK from the account key and the SAS's own fields), the
 * validity window, `sdd` against the directory, that the request stays inside the directory (a
 * blob under it, or a listing whose prefix is under it), and the permission the operation
 * needs. What passes is forwarded with a container SAS in place of the directory SAS; what does
 * not is refused as storage would refuse it.
 */
export async function directorySasStandIn(
  azurite: Azurite,
  container: string,
  directory: string,
): Promise<(method: string, url: URL) => StorageRefusal | string> {
  const containerSas = new URL(await createContainerSas(azurite, container, { create: false })).searchParams;
  const dirSegments = directory.split('/');
  return (method, url) => {
    const q = url.searchParams;
    const [account, inContainer, ...rest] = url.pathname
      .split('/')
      .filter(Boolean)
      .map((s) => decodeURIComponent(s));
    if (account !== AZURITE_ACCOUNT || inContainer !== container || q.get('sr') !== 'd') return { status: 403, code: 'AuthenticationFailed' };
    const se = q.get('se');
    const st = q.get('st');
    if (!se) return { status: 403, code: 'AuthenticationFailed' };
    let expected: string;
    try {
      expected = generateDataLakeSASQueryParameters(
        {
          fileSystemName: container,
          pathName: directory,
          isDirectory: true,
          version: q.get('sv') ?? undefined,
          permissions: DirectorySASPermissions.parse(q.get('sp') ?? ''),
          ...(st ? { startsOn: new Date(st) } : {}),
          expiresOn: new Date(se),
          ...(q.get('spr') ? { protocol: q.get('spr') as SASProtocol } : {}),
        },
        credential,
      ).signature;
    } catch {
      return { status: 403, code: 'AuthenticationFailed' };
    }
    if (q.get('sig') !== expected || q.get('sdd') !== String(dirSegments.length)) return { status: 403, code: 'AuthenticationFailed' };
    const now = Date.now();
    if (now >= Date.parse(se) || (st && now < Date.parse(st))) return { status: 403, code: 'AuthenticationFailed' };

    const listing = q.get('restype') === 'container' && q.get('comp') === 'list';
    const inside = listing
      ? (q.get('prefix') ?? '').startsWith(`${directory}/`)
      : rest.length > dirSegments.length && dirSegments.every((s, i) => rest[i] === s);
    if (!inside) return { status: 403, code: 'AuthorizationFailure' };
    const needed = listing ? ['l'] : method === 'GET' || method === 'HEAD' ? ['r'] : method === 'DELETE' ? ['d'] : ['c', 'w'];
    const sp = q.get('sp') ?? '';
    if (!needed.some((p) => sp.includes(p))) return { status: 403, code: 'AuthorizationPermissionMismatch' };

    const forwarded = new URLSearchParams([...q].filter(([k]) => !SAS_PARAMETERS.includes(k)));
    for (const [k, v] of containerSas) forwarded.set(k, v);
    return `${url.pathname}?${forwarded.toString()}`;
  };
}
