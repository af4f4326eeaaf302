import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/** One fenced code block: its language tag and its text. */
export interface CodeBlock {
  readonly language: string;
  readonly text: string;
}

/** Lists the fenced code blocks of a Markdown document in order. */
export function codeBlocks(markdown: string): CodeBlock[] {
  return [...markdown.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((match) => ({
    language: match[1] ?? '',
    text: match[2] ?? '',
  }));
}

/** Lists the heading levels in order, for example [1, 2, 2, 3]. */
export function headingLevels(markdown: string): number[] {
  const withoutCode = markdown.replace(/^```[\s\S]*?^```$/gm, '');
  return [...withoutCode.matchAll(/^(#{1,6}) /gm)].map((match) => match[1]?.length ?? 0);
}

/** Splits the shell blocks into commands: one per line, comments and blank lines dropped. */
export function shellCommands(markdown: string): string[] {
  return codeBlocks(markdown)
    .filter((block) => block.language === 'sh')
    .flatMap((block) => block.text.split('\n'))
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/** Lists the link targets of a Markdown document, skipping those inside code. */
export function linkTargets(markdown: string): string[] {
  const withoutCode = markdown.replace(/^```[\s\S]*?^```$/gm, '').replace(/`[^`\n]*`/g, '');
  return [...withoutCode.matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1] ?? '');
}

/** GitHub's anchor for a heading: lowercase, punctuation dropped, spaces to hyphens. */
export function headingAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** Lists the anchors of every heading in a Markdown document. */
export function headingAnchors(markdown: string): string[] {
  const withoutCode = markdown.replace(/^```[\s\S]*?^```$/gm, '');
  return [...withoutCode.matchAll(/^#{1,6} (.+)$/gm)].map((match) => headingAnchor(match[1] ?? ''));
}

/** Lists every Markdown file below root, relative to it, outside node_modules and dot folders. */
export function markdownFiles(root: string, dir = root): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir)) {
    if (entry === 'node_modules' || entry.startsWith('.') || entry === 'dist') continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) files.push(...markdownFiles(root, path));
    else if (entry.endsWith('.md')) files.push(relative(root, path));
  }
  return files;
}

export function readText(path: string): string {
  return readFileSync(path, 'utf8');
}
