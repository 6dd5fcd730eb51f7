import { toGraphDriveItem, type DriveItemView, type IdentitySet } from '../../../domain/drive-item.ts';
import { graphBase, type AppDeps } from '../../app-deps.ts';
import { DOWNLOAD_URL_LIFETIME_SECONDS, downloadUrlKey, signDownloadUrl } from './download-url.ts';

/** What a response's driveItems share besides their rows: where links point, and for whom download URLs are signed. */
export interface ItemLinks {
  readonly base: string;
  readonly publicUrl: string;
  readonly key: Buffer;
  readonly by: IdentitySet;
  readonly appId: string | null;
  readonly now: Date;
}

export async function itemLinks(deps: AppDeps, version: string, by: IdentitySet, appId: string | null): Promise<ItemLinks> {
  return { base: graphBase(deps, version), publicUrl: deps.publicUrl(), key: await downloadUrlKey(deps), by, appId, now: deps.clock() };
}

// The grant rides in the URL path, which the router caps at 1,024 characters: names are cut to fit.
const MAX_GRANT_NAME = 64;

function shortened(by: IdentitySet): IdentitySet {
  const [kind, who] = 'user' in by ? (['user', by.user] as const) : (['application', by.application] as const);
  const displayName = who.displayName === null ? null : who.displayName.slice(0, MAX_GRANT_NAME);
  return kind === 'user' ? { user: { id: who.id, displayName } } : { application: { id: who.id, displayName } };
}

/** The Graph driveItem with its links: webUrl and, for files, a short-lived @microsoft.graph.downloadUrl. */
export function renderDriveItem(links: ItemLinks, item: DriveItemView): Record<string, unknown> {
  const out = toGraphDriveItem(item);
  out.webUrl = `${links.base}/drives/${item.owner_user_id}/items/${item.id}`;
  if (!item.is_folder && item.content_sha256 !== null) {
    out['@microsoft.graph.downloadUrl'] = signDownloadUrl(links.publicUrl, links.key, {
      tenantId: item.tenant_id,
      ownerId: item.owner_user_id,
      itemId: item.id,
      sha256: item.content_sha256,
      expires: Math.floor(links.now.getTime() / 1000) + DOWNLOAD_URL_LIFETIME_SECONDS,
      by: shortened(links.by),
      appId: links.appId,
    });
  }
  return out;
}
