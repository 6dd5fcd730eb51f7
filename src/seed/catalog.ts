// The fixed vocabulary of synthetic tenants. Everything network-shaped is reserved for
// documentation, so seeded data can never point at a real host: IPv4 from RFC 5737
// (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24), IPv6 from RFC 3849 (2001:db8::/32), domains
// under RFC 2606's `.example`, phone numbers in the fictional 555-01xx range.

export const FIRST_NAMES = [
  'Adele',
  'Alex',
  'Allan',
  'Amara',
  'Ben',
  'Camille',
  'Carlos',
  'Chen',
  'Diego',
  'Elif',
  'Emily',
  'Fatima',
  'Grace',
  'Hana',
  'Henrik',
  'Isaac',
  'Isabel',
  'Jonas',
  'Joni',
  'Kenji',
  'Lara',
  'Lee',
  'Lidia',
  'Lynne',
  'Mateo',
  'Megan',
  'Miriam',
  'Nestor',
  'Nia',
  'Noah',
  'Olga',
  'Omar',
  'Patti',
  'Priya',
  'Rafael',
  'Ravi',
  'Sakura',
  'Sofia',
  'Tomás',
  'Wei',
  'Yara',
  'Zoe',
];

export const LAST_NAMES = [
  'Abara',
  'Andersen',
  'Bauer',
  'Brown',
  'Castillo',
  'Chen',
  'Dubois',
  'Eriksen',
  'Fernandes',
  'Garcia',
  'Haddad',
  'Holt',
  'Ivanova',
  'Jensen',
  'Kim',
  'Kowalski',
  'Larsen',
  'Lopez',
  'Martin',
  'Müller',
  'Nakamura',
  'Nguyen',
  "O'Brien",
  'Okafor',
  'Patel',
  'Quinn',
  'Rossi',
  'Sato',
  'Schmidt',
  'Silva',
  'Singh',
  'Smith',
  'Sullivan',
  'Tanaka',
  'Vance',
  'Weber',
  'Wilson',
  'Yilmaz',
  'Zhang',
];

export const COMPANIES = ['contoso', 'fabrikam', 'northwind', 'tailspin', 'woodgrove', 'litware', 'adatum', 'proseware'];

export const DEPARTMENTS: readonly (readonly [string, readonly string[]])[] = [
  ['Sales', ['Account Executive', 'Sales Manager', 'Sales Operations Analyst', 'Regional Sales Director']],
  ['Marketing', ['Marketing Manager', 'Content Strategist', 'Product Marketing Manager', 'Brand Designer']],
  ['Engineering', ['Software Engineer', 'Senior Software Engineer', 'Engineering Manager', 'Site Reliability Engineer', 'QA Engineer']],
  ['Finance', ['Financial Analyst', 'Controller', 'Accounts Payable Specialist', 'Finance Director']],
  ['Human Resources', ['HR Generalist', 'Recruiter', 'HR Business Partner', 'People Operations Manager']],
  ['Legal', ['Corporate Counsel', 'Paralegal', 'Privacy Officer']],
  ['Operations', ['Operations Manager', 'Logistics Coordinator', 'Facilities Manager', 'Procurement Specialist']],
  ['Customer Success', ['Customer Success Manager', 'Support Engineer', 'Technical Account Manager']],
];

export interface Office {
  readonly name: string;
  readonly city: string;
  readonly state: string;
  readonly countryOrRegion: string;
  readonly latitude: number;
  readonly longitude: number;
  readonly language: string;
  readonly phonePrefix: string;
}

export const OFFICES: readonly Office[] = [
  {
    name: 'Seattle',
    city: 'Seattle',
    state: 'Washington',
    countryOrRegion: 'US',
    latitude: 47.6062,
    longitude: -122.3321,
    language: 'en-US',
    phonePrefix: '+1 206 555',
  },
  {
    name: 'New York',
    city: 'New York',
    state: 'New York',
    countryOrRegion: 'US',
    latitude: 40.7128,
    longitude: -74.006,
    language: 'en-US',
    phonePrefix: '+1 212 555',
  },
  {
    name: 'London',
    city: 'London',
    state: 'England',
    countryOrRegion: 'GB',
    latitude: 51.5072,
    longitude: -0.1276,
    language: 'en-GB',
    phonePrefix: '+44 20 7946',
  },
  {
    name: 'Dublin',
    city: 'Dublin',
    state: 'Leinster',
    countryOrRegion: 'IE',
    latitude: 53.3498,
    longitude: -6.2603,
    language: 'en-IE',
    phonePrefix: '+353 1 555',
  },
  { name: 'Berlin', city: 'Berlin', state: 'Berlin', countryOrRegion: 'DE', latitude: 52.52, longitude: 13.405, language: 'de-DE', phonePrefix: '+49 30 555' },
  {
    name: 'Paris',
    city: 'Paris',
    state: 'Île-de-France',
    countryOrRegion: 'FR',
    latitude: 48.8566,
    longitude: 2.3522,
    language: 'fr-FR',
    phonePrefix: '+33 1 555',
  },
  { name: 'Oslo', city: 'Oslo', state: 'Oslo', countryOrRegion: 'NO', latitude: 59.9139, longitude: 10.7522, language: 'nb-NO', phonePrefix: '+47 22 555' },
  { name: 'Tokyo', city: 'Tokyo', state: 'Tokyo', countryOrRegion: 'JP', latitude: 35.6762, longitude: 139.6503, language: 'ja-JP', phonePrefix: '+81 3 555' },
  {
    name: 'Sydney',
    city: 'Sydney',
    state: 'New South Wales',
    countryOrRegion: 'AU',
    latitude: -33.8688,
    longitude: 151.2093,
    language: 'en-AU',
    phonePrefix: '+61 2 555',
  },
  {
    name: 'Toronto',
    city: 'Toronto',
    state: 'Ontario',
    countryOrRegion: 'CA',
    latitude: 43.6532,
    longitude: -79.3832,
    language: 'en-CA',
    phonePrefix: '+1 416 555',
  },
];

/** Well-known Microsoft first-party application ids, as they appear in real sign-in and audit logs. */
export const APPS = {
  office: { appId: 'd3590ed6-52b3-4102-aeff-aad2292ab01c', displayName: 'Microsoft Office' },
  officeHome: { appId: '4765445b-32c6-49b0-83e6-1d93765276ca', displayName: 'OfficeHome' },
  teams: { appId: '1fec8e78-bce4-4aaf-ab1b-5451cc387264', displayName: 'Microsoft Teams' },
  oneDriveSync: { appId: 'ab9b8c07-8f02-4f72-87fa-80105867a763', displayName: 'OneDrive SyncEngine' },
  sharePoint: { appId: '00000003-0000-0ff1-ce00-000000000000', displayName: 'Office 365 SharePoint Online' },
  outlookMobile: { appId: '27922004-5251-4030-b22d-91ecd9a37ea4', displayName: 'Outlook Mobile' },
} as const;

export const RESOURCES = [
  { resourceId: '00000003-0000-0000-c000-000000000000', resourceDisplayName: 'Microsoft Graph' },
  { resourceId: '00000003-0000-0ff1-ce00-000000000000', resourceDisplayName: 'Office 365 SharePoint Online' },
  { resourceId: '00000002-0000-0ff1-ce00-000000000000', resourceDisplayName: 'Office 365 Exchange Online' },
] as const;

export interface DeviceProfile {
  readonly operatingSystem: string;
  readonly browser: string;
  readonly userAgent: string;
  readonly clientAppUsed: 'Browser' | 'Mobile Apps and Desktop clients';
  readonly managed: boolean;
}

export const DEVICE_PROFILES: readonly DeviceProfile[] = [
  {
    operatingSystem: 'Windows 11',
    browser: 'Edge 126.0.2592',
    clientAppUsed: 'Browser',
    managed: true,
    userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.87',
  },
  {
    operatingSystem: 'Windows 10',
    browser: 'Chrome 125.0.6422',
    clientAppUsed: 'Browser',
    managed: true,
    userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.6422.142 Safari/537.36',
  },
  {
    operatingSystem: 'MacOs',
    browser: 'Safari 17.5',
    clientAppUsed: 'Browser',
    managed: false,
    userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
  },
  {
    operatingSystem: 'Windows 11',
    browser: 'Rich Client 24.4.0',
    clientAppUsed: 'Mobile Apps and Desktop clients',
    managed: true,
    userAgent: 'Microsoft SkyDriveSync 24.101.0519.0010 ship; Windows NT 10.0 (22631)',
  },
  {
    operatingSystem: 'Ios 17.5',
    browser: 'Mobile Safari',
    clientAppUsed: 'Mobile Apps and Desktop clients',
    managed: false,
    userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
  },
  {
    operatingSystem: 'Android 14',
    browser: 'Chrome Mobile 126.0.6478',
    clientAppUsed: 'Browser',
    managed: false,
    userAgent: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.6478.71 Mobile Safari/537.36',
  },
];

/** Failures seen in real sign-in logs, with Entra's messages; the rest of the sign-ins succeed. */
export const SIGN_IN_FAILURES = [
  { errorCode: 50126, failureReason: 'Error validating credentials due to invalid username or password.' },
  { errorCode: 50074, failureReason: 'Strong Authentication is required.' },
  { errorCode: 50140, failureReason: "This error occurred due to 'Keep me signed in' interrupt when the user was signing in." },
  { errorCode: 53003, failureReason: 'Access has been blocked by Conditional Access policies.' },
] as const;

export const PROJECT_NAMES = [
  'Apollo',
  'Atlas',
  'Beacon',
  'Brand Refresh',
  'Customer Portal',
  'Data Retention',
  'Expansion 2027',
  'Falcon',
  'Harbor',
  'Helios',
  'Intranet Redesign',
  'Lighthouse',
  'Migration',
  'Onboarding Revamp',
  'Orion',
  'Q4 Planning',
  'Supplier Audit',
  'Vendor Review',
  'Website Launch',
  'Zephyr',
];

export const DOCUMENT_TITLES = [
  'Meeting notes',
  'Project plan',
  'Budget',
  'Status report',
  'Proposal',
  'Requirements',
  'Invoice',
  'Contract draft',
  'Onboarding checklist',
  'Retrospective',
  'Travel expenses',
  'Performance review',
  'Roadmap',
  'Risk register',
  'Vendor comparison',
  'Sales forecast',
  'Team offsite',
  'Policy update',
  'Release notes',
  'Interview feedback',
];
