import { CONTENT_TYPES, PACKAGE_PATHS } from '../../domain/package-plan.ts';
import { toGraphUser } from '../../domain/user.ts';
import { odataContext } from './records.ts';
import type { Section } from './section.ts';

/** Directory/User.json: the subject's directory profile (Graph's user). */
export const userSection: Section = {
  name: 'User',
  tables: ['users'],
  async render(ctx) {
    const body = { '@odata.context': odataContext('users/$entity'), ...toGraphUser(ctx.user) };
    const file = await ctx.writeFile(PACKAGE_PATHS.user, CONTENT_TYPES.json, [`${JSON.stringify(body, null, 2)}\n`]);
    return { files: [{ path: file.path, title: 'Directory profile', records: 1, size: file.size }] };
  },
};
