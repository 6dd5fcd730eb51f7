import type { NewSignIn } from '../domain/sign-in.ts';
import { APPS, OFFICES, RESOURCES, SIGN_IN_FAILURES, type DeviceProfile, type Office } from './catalog.ts';
import type { Prng } from './prng.ts';

// One synthetic person's sign-ins and the origin of their actions, shared by the tenant seed and
// the heavy subject so both write the same realistic Graph `signIn` records.

/** What a sign-in or a drive action says about the person behind it. */
export interface SeedPerson {
  readonly id: string;
  readonly givenName: string;
  readonly displayName: string;
  readonly userPrincipalName: string;
  readonly office: Office;
  readonly officeIndex: number;
  readonly homeIp: string;
  readonly desktop: DeviceProfile;
  readonly mobile: DeviceProfile;
  readonly deviceId: string;
}

const SIGN_IN_APPS: readonly (readonly [{ appId: string; displayName: string }, number])[] = [
  [APPS.office, 3],
  [APPS.officeHome, 2],
  [APPS.teams, 4],
  [APPS.outlookMobile, 1],
  [APPS.oneDriveSync, 2],
];

export const iso = (ms: number): string => new Date(ms).toISOString();

/** ASCII local part of a UPN: "Tomás O'Brien" → "tomas.obrien". */
export function upnPart(name: string): string {
  return name
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/ß/g, 'ss')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '');
}

/** Where an action came from: office NAT, home, or now and then a trip (IPv6 included). */
export function origin(p: SeedPerson, prng: Prng): { ip: string; device: DeviceProfile } {
  const r = prng.next();
  const ip =
    r < 0.7
      ? `203.0.113.${10 + p.officeIndex}`
      : r < 0.95
        ? p.homeIp
        : prng.chance(0.5)
          ? `192.0.2.${prng.int(1, 254)}`
          : `2001:db8:${prng.int(1, 0xffff).toString(16)}::${prng.int(1, 0xffff).toString(16)}`;
  return { ip, device: prng.chance(0.8) ? p.desktop : p.mobile };
}

export function appFor(device: DeviceProfile): { appId: string; displayName: string } {
  if (device.clientAppUsed === 'Browser') return APPS.sharePoint;
  return /^(Ios|Android)/.test(device.operatingSystem) ? APPS.office : APPS.oneDriveSync;
}

/** One sign-in of `p` at `at` (ms, whole seconds), ~7 % failing; draws from `prng` in a fixed order. */
export function signInRecord(p: SeedPerson, prng: Prng, at: number): NewSignIn {
  const { ip, device } = origin(p, prng);
  const app = prng.weighted(SIGN_IN_APPS);
  const failure = prng.chance(0.07) ? prng.pick(SIGN_IN_FAILURES) : undefined;
  const resource = prng.pick(RESOURCES);
  const id = prng.uuid();
  const travelling = ip.startsWith('192.0.2.') || ip.startsWith('2001:db8:');
  const place = travelling ? OFFICES[(p.officeIndex + 1 + prng.int(0, OFFICES.length - 2)) % OFFICES.length]! : p.office;
  const data: Record<string, unknown> = {
    id,
    createdDateTime: iso(at).replace(/\.000Z$/, 'Z'),
    userDisplayName: p.displayName,
    userPrincipalName: p.userPrincipalName,
    userId: p.id,
    appId: app.appId,
    appDisplayName: app.displayName,
    ipAddress: ip,
    clientAppUsed: device.clientAppUsed,
    correlationId: prng.uuid(),
    conditionalAccessStatus: failure?.errorCode === 53003 ? 'failure' : device.managed ? 'success' : 'notApplied',
    isInteractive: device.clientAppUsed === 'Browser' || prng.chance(0.3),
    riskDetail: 'none',
    riskLevelAggregated: 'none',
    riskLevelDuringSignIn: 'none',
    riskState: 'none',
    riskEventTypes: [],
    riskEventTypes_v2: [],
    resourceDisplayName: resource.resourceDisplayName,
    resourceId: resource.resourceId,
    status: failure
      ? { errorCode: failure.errorCode, failureReason: failure.failureReason, additionalDetails: null }
      : { errorCode: 0, failureReason: 'Other.', additionalDetails: null },
    deviceDetail: {
      deviceId: device.managed ? p.deviceId : '',
      displayName: device.managed ? `${upnPart(p.givenName).toUpperCase()}-${p.deviceId.slice(0, 6).toUpperCase()}` : '',
      operatingSystem: device.operatingSystem,
      browser: device.browser,
      isCompliant: device.managed,
      isManaged: device.managed,
      trustType: device.managed ? 'Azure AD joined' : '',
    },
    location: {
      city: place.city,
      state: place.state,
      countryOrRegion: place.countryOrRegion,
      geoCoordinates: { altitude: null, latitude: place.latitude, longitude: place.longitude },
    },
    appliedConditionalAccessPolicies: [],
  };
  return { id, userId: p.id, createdAt: new Date(at), data };
}
