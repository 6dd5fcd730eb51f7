import { CONTENT_TYPES, PACKAGE_PATHS } from '../../domain/package-plan.ts';
import { DATA_DICTIONARY_PATH, describeFile, dictionaryKey, README_PATH, readmeText, type FileEntry } from '../data-dictionary.ts';
import type { Section } from './section.ts';

/**
 * DataDictionary.json and README.txt: every file of this package and every field in plain
 * language, codes included. Runs after the data sections (it lists what they wrote) and before
 * index.html and manifest.json, which it names too.
 */
export const dataDictionarySection: Section = {
  name: 'DataDictionary',
  tables: [],
  async render(ctx) {
    const paths = new Set<string>();
    for (const r of ctx.earlier) {
      for (const f of r.files) paths.add(dictionaryKey(f.path));
      if (r.driveFiles && r.driveFiles.count > 0) paths.add(`${PACKAGE_PATHS.filesRoot}/…`);
    }
    for (const p of [DATA_DICTIONARY_PATH, README_PATH, PACKAGE_PATHS.index, PACKAGE_PATHS.manifest, 'manifest.json.jws']) paths.add(p);
    const entries: { path: string; entry: FileEntry }[] = [...paths].map((path) => ({
      path,
      entry: describeFile(path === `${PACKAGE_PATHS.filesRoot}/…` ? `${PACKAGE_PATHS.filesRoot}/x` : path),
    }));
    const json = await ctx.writeFile(DATA_DICTIONARY_PATH, CONTENT_TYPES.json, [
      `${JSON.stringify(
        {
          description: 'What every file of this package holds, and what each field and code means.',
          files: entries.map(({ path, entry }) => ({ path, description: entry.description, fields: entry.fields })),
        },
        null,
        2,
      )}\n`,
    ]);
    const readme = await ctx.writeFile(README_PATH, 'text/plain; charset=utf-8', [
      readmeText(entries, ctx.user.display_name ?? ctx.operation.userPrincipalName),
    ]);
    return {
      files: [
        { path: readme.path, title: 'What every file and field means (plain text)', records: null, size: readme.size },
        { path: json.path, title: 'What every file and field means (JSON)', records: null, size: json.size },
      ],
    };
  },
};
