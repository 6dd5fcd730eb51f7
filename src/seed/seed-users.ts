import type { DirectoryAudit } from '../domain/directory-audit.ts';
import type { UserChanges } from '../domain/user.ts';
import { DAY_MS } from './activity-window.ts';
import { DEPARTMENTS, DEVICE_PROFILES, FIRST_NAMES, LAST_NAMES, OFFICES, type DeviceProfile, type Office } from './catalog.ts';
import type { Prng } from './prng.ts';
import { upnPart } from './sign-in-record.ts';

/** One seeded user: who they are, and the PRNG stream every record about them draws from. */
export interface SeedProfile {
  index: number;
  id: string;
  givenName: string;
  surname: string;
  displayName: string;
  userPrincipalName: string;
  department: string;
  jobTitle: string;
  office: Office;
  officeIndex: number;
  createdAt: number;
  homeIp: string;
  desktop: DeviceProfile;
  mobile: DeviceProfile;
  deviceId: string;
  prng: Prng;
}

/** The tenant's people, each from their own stream `user/<index>`; a taken UPN gets a number ("ana.lee2"). */
export function planProfiles(root: Prng, count: number, domain: string, now: number): SeedProfile[] {
  const taken = new Set<string>();
  const profiles: SeedProfile[] = [];
  for (let index = 0; index < count; index++) {
    const prng = root.fork(`user/${index}`);
    const givenName = prng.pick(FIRST_NAMES);
    const surname = prng.pick(LAST_NAMES);
    const base = `${upnPart(givenName)}.${upnPart(surname)}`;
    let local = base;
    for (let n = 2; taken.has(local); n++) local = `${base}${n}`;
    taken.add(local);
    const [department, titles] = prng.pick(DEPARTMENTS);
    const officeIndex = prng.int(0, OFFICES.length - 1);
    profiles.push({
      index,
      prng,
      givenName,
      surname,
      department,
      officeIndex,
      id: prng.uuid(),
      displayName: `${givenName} ${surname}`,
      userPrincipalName: `${local}@${domain}`,
      jobTitle: prng.pick(titles),
      office: OFFICES[officeIndex]!,
      createdAt: now - prng.int(120, 720) * DAY_MS - prng.int(0, 86_399) * 1000,
      homeIp: `198.51.100.${prng.int(1, 254)}`,
      desktop: DEVICE_PROFILES[prng.int(0, 3)]!,
      mobile: DEVICE_PROFILES[prng.int(4, 5)]!,
      deviceId: prng.uuid(),
    });
  }
  return profiles;
}

/**
 * The user's directory properties. Draws from the profile's stream (office room, phones), so it
 * is called once per user, before the drive and sign-ins, for the same seed to give the same rows.
 */
export function userAttributes(profile: SeedProfile): UserChanges {
  return {
    user_principal_name: profile.userPrincipalName,
    display_name: profile.displayName,
    given_name: profile.givenName,
    surname: profile.surname,
    mail: profile.userPrincipalName,
    job_title: profile.jobTitle,
    department: profile.department,
    office_location: `${profile.office.name} ${profile.prng.int(1, 9)}/${profile.prng.int(1000, 4999)}`,
    mobile_phone: `+1 555 01${String(profile.prng.int(0, 99)).padStart(2, '0')}`,
    business_phones: [`${profile.office.phonePrefix} ${String(profile.prng.int(100, 9999)).padStart(4, '0')}`],
    preferred_language: profile.office.language,
    account_enabled: true,
  };
}

/** The identity a seeded user's own records name them by. */
export const userIdentity = (p: SeedProfile) => ({ user: { id: p.id, displayName: p.displayName } });

/** The "Add user" directory audit of a seeded user, initiated by the seed's own app. */
export function addUserAudit(tenantId: string, p: SeedProfile, seeder: { appId: string; servicePrincipalId: string }): DirectoryAudit {
  // directory_audits ids are unique across tenants: the same seed into two tenants must not collide.
  const prng = p.prng.fork(`audit/${tenantId}`);
  return {
    id: prng.uuid(),
    tenantId,
    activityAt: new Date(p.createdAt),
    category: 'UserManagement',
    activityDisplayName: 'Add user',
    operationType: 'Add',
    result: 'success',
    resultReason: '',
    correlationId: prng.uuid(),
    initiatedBy: {
      app: { appId: seeder.appId, displayName: 'dsr-export seed', servicePrincipalId: seeder.servicePrincipalId, servicePrincipalName: null },
      user: null,
    },
    targetResources: [
      {
        id: p.id,
        displayName: p.displayName,
        type: 'User',
        userPrincipalName: p.userPrincipalName,
        groupType: null,
        modifiedProperties: ['userPrincipalName', 'displayName', 'jobTitle', 'department'].map((displayName) => ({
          displayName,
          oldValue: null,
          newValue: null,
        })),
      },
    ],
    initiatorUserId: null,
    targetUserId: p.id,
    additionalDetails: [{ key: 'seed', value: 'synthetic tenant' }],
  };
}
