// Writes bench/RESULTS.md formatted by Prettier, which `npm test` checks under bench/.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

import { format, resolveConfig } from 'prettier';

/** Writes `markdown` to `path` after formatting it as Prettier would. */
export async function writeMarkdown(path: string, markdown: string): Promise<void> {
  const options = (await resolveConfig(path)) ?? {};
  writeFileSync(path, await format(markdown, { ...options, parser: 'markdown' }));
}

/** Appends a section to the file at `path` (created when missing) and reformats the whole file. */
export async function appendMarkdown(path: string, section: string): Promise<void> {
  const current = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmark results\n';
  await writeMarkdown(path, `${current.trimEnd()}\n\n${section}`);
}
