import { Option, type Command } from 'commander';
import type { ApiClient } from './api-client.ts';
import type { CreateCaseOptions } from './cases-command.ts';

/** What cli.ts lends to the case commands: its failure wrapper, its client factory and flags. */
export interface CliHelpers {
  run<A extends unknown[]>(action: (...args: A) => Promise<void>): (...args: A) => Promise<void>;
  apiFor(opts: { server?: string; token?: string; tenant?: string }, roles: string): Promise<ApiClient>;
  clientOptions(cmd: Command): Command;
}

const CASE_ROLES = 'SubjectRightsRequest.ReadWrite.All';
const impl = () => import('./cases-command.ts');
type ApiOpts = { server?: string; token?: string; tenant?: string; json?: boolean };

/** `dsr-export cases …` and `dsr-export privacy-statement …` (docs/cases.md). */
export function registerCaseCommands(program: Command, h: CliHelpers): void {
  const cases = program
    .command('cases')
    .description('subject rights requests: list, show, create, files, exclude, include, complete-review, report, attachment, close');
  h.clientOptions(cases.command('list'))
    .description('cases by due date, with the days left (overdue in red on a terminal)')
    .option('--overdue', 'only active cases past their due date')
    .addOption(new Option('--status <status>', 'only active or closed cases').choices(['active', 'closed']))
    .action(
      h.run(async (opts: ApiOpts & { overdue?: boolean; status?: string }) => {
        const { listCases } = await impl();
        await listCases(await h.apiFor(opts, CASE_ROLES), opts);
      }),
    );
  h.clientOptions(cases.command('show <id>'))
    .description('one case: due date, stages, package counts, history')
    .action(
      h.run(async (id: string, opts: ApiOpts) => {
        const { showCase } = await impl();
        await showCase(await h.apiFor(opts, CASE_ROLES), id, opts);
      }),
    );
  h.clientOptions(cases.command('create'))
    .description('open a case for the user with this mail or UPN; its retrieval starts at once')
    .requiredOption('--email <address>', "the data subject's mail or userPrincipalName")
    .requiredOption('--name <text>', 'display name of the case')
    .addOption(new Option('--type <type>', 'request type').choices(['access', 'export']).default('access'))
    .option('--subject-type <type>', 'dataSubjectType', 'customer')
    .option('--regulation <name...>', 'regulations (the due date defaults from them)', ['GDPR'])
    .option('--due <date-time>', 'internalDueDateTime, e.g. 2026-12-31T00:00:00Z')
    .option('--description <text>', 'description')
    .option('--no-pause', 'skip the review: the report is ready when the retrieval completes')
    .action(
      h.run(async (opts: ApiOpts & CreateCaseOptions) => {
        const { createCase, showCase } = await impl();
        const api = await h.apiFor(opts, CASE_ROLES);
        const c = await createCase(api, opts);
        await showCase(api, c.id, opts);
      }),
    );
  h.clientOptions(cases.command('close <id>'))
    .description('close a case (its package is purged after DSR_CASES_PURGE_DAYS)')
    .option('--note <text>', 'a note kept with the case')
    .action(
      h.run(async (id: string, opts: ApiOpts & { note?: string }) => {
        const { closeCase, showCase } = await impl();
        const api = await h.apiFor(opts, CASE_ROLES);
        await closeCase(api, id, opts.note);
        await showCase(api, id, opts);
      }),
    );
  h.clientOptions(cases.command('files <id>'))
    .description("the review: the package's files with their ids, included or excluded and why")
    .action(
      h.run(async (id: string, opts: ApiOpts) => {
        const { listCaseFiles } = await impl();
        await listCaseFiles(await h.apiFor(opts, CASE_ROLES), id, opts);
      }),
    );
  h.clientOptions(cases.command('exclude <id> <fileId>'))
    .description('leave a package file out of the final attachment')
    .requiredOption('--reason <text>', 'why, e.g. "another person\'s data"')
    .action(
      h.run(async (id: string, fileId: string, opts: ApiOpts & { reason: string }) => {
        const { setCaseFileExclusion } = await impl();
        const f = await setCaseFileExclusion(await h.apiFor(opts, CASE_ROLES), id, fileId, opts.reason);
        process.stdout.write(opts.json ? `${JSON.stringify(f, null, 2)}\n` : `excluded ${f.path}\n`);
      }),
    );
  h.clientOptions(cases.command('include <id> <fileId>'))
    .description('put an excluded package file back')
    .action(
      h.run(async (id: string, fileId: string, opts: ApiOpts) => {
        const { setCaseFileExclusion } = await impl();
        const f = await setCaseFileExclusion(await h.apiFor(opts, CASE_ROLES), id, fileId, undefined);
        process.stdout.write(opts.json ? `${JSON.stringify(f, null, 2)}\n` : `included ${f.path}\n`);
      }),
    );
  h.clientOptions(cases.command('complete-review <id>'))
    .description('end the review: the final report and attachment become available')
    .action(
      h.run(async (id: string, opts: ApiOpts) => {
        const { completeCaseReview, showCase } = await impl();
        const api = await h.apiFor(opts, CASE_ROLES);
        await completeCaseReview(api, id);
        await showCase(api, id, opts);
      }),
    );
  for (const [name, which, ext] of [
    ['report', 'getFinalReport', 'csv'],
    ['attachment', 'getFinalAttachment', 'zip'],
  ] as const) {
    h.clientOptions(cases.command(`${name} <id>`))
      .description(`download the final ${name} (${ext}) with a progress bar`)
      .option('--out <file>', `where to write it (default ./subject-rights-request-<id>${name === 'report' ? '-report' : ''}.${ext})`)
      .action(
        h.run(async (id: string, opts: ApiOpts & { out?: string }) => {
          const { downloadCaseFile } = await impl();
          const file = opts.out ?? `subject-rights-request-${id}${name === 'report' ? '-report' : ''}.${ext}`;
          const bytes = await downloadCaseFile(await h.apiFor(opts, CASE_ROLES), id, which, file);
          process.stdout.write(opts.json ? `${JSON.stringify({ file, bytes })}\n` : `${file} (${bytes} bytes)\n`);
        }),
      );
  }

  const statement = program.command('privacy-statement').description("the tenant's GDPR Art. 15 statement, carried by every report and package");
  h.clientOptions(statement.command('get'))
    .description('print the statement as JSON')
    .action(
      h.run(async (opts: ApiOpts) => {
        const { getPrivacyStatement } = await impl();
        process.stdout.write(`${JSON.stringify(await getPrivacyStatement(await h.apiFor(opts, CASE_ROLES)), null, 2)}\n`);
      }),
    );
  h.clientOptions(statement.command('set <file>'))
    .description('replace the statement with the JSON in <file>')
    .action(
      h.run(async (file: string, opts: ApiOpts) => {
        const { setPrivacyStatement } = await impl();
        const saved = await setPrivacyStatement(await h.apiFor(opts, CASE_ROLES), file);
        process.stdout.write(opts.json ? `${JSON.stringify(saved, null, 2)}\n` : 'privacy statement saved\n');
      }),
    );
}
