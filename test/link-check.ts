/**
 * An offline link checker for a built static site: every relative `href` and
 * `src` in every HTML file must point to a file of the site, and every
 * `#fragment` to an element id (or `name`) in the target page. External
 * links (http:, https:, mailto:…) are not fetched: tests do not leave the
 * machine.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/** One broken link: the page it is on, and what it points to. */
export interface BrokenLink {
  page: string;
  link: string;
  reason: string;
}

function htmlFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...htmlFiles(path));
    else if (entry.endsWith('.html')) out.push(path);
  }
  return out;
}

const anchorCache = new Map<string, Set<string>>();
function anchorsOf(file: string): Set<string> {
  let set = anchorCache.get(file);
  if (!set) {
    set = new Set();
    for (const m of readFileSync(file, 'utf8').matchAll(/\s(?:id|name)="([^"]*)"/g)) set.add(decodeEntities(m[1]!));
    anchorCache.set(file, set);
  }
  return set;
}

function decodeEntities(s: string): string {
  return s.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>');
}

/** Check every HTML file under `root`; returns the broken links and how many links were checked. */
export function checkLinks(root: string): { broken: BrokenLink[]; checked: number; pages: number } {
  anchorCache.clear();
  const broken: BrokenLink[] = [];
  let checked = 0;
  const pages = htmlFiles(root);
  for (const page of pages) {
    const html = readFileSync(page, 'utf8');
    for (const m of html.matchAll(/\s(?:href|src)="([^"]*)"/g)) {
      const link = decodeEntities(m[1]!);
      if (/^[a-z][a-z0-9+.-]*:/i.test(link) || link.startsWith('//')) continue; // external: not fetched
      checked++;
      const hash = link.indexOf('#');
      const pathPart = (hash >= 0 ? link.slice(0, hash) : link).split('?')[0]!;
      const fragment = hash >= 0 ? decodeURIComponent(link.slice(hash + 1)) : '';
      const target = pathPart === '' ? page : resolve(dirname(page), decodeURIComponent(pathPart));
      const where = relative(root, page);
      if (!existsSync(target)) {
        broken.push({ page: where, link, reason: 'no such file' });
        continue;
      }
      if (fragment !== '' && target.endsWith('.html') && !anchorsOf(target).has(fragment)) {
        broken.push({ page: where, link, reason: `no element with id "${fragment}"` });
      }
    }
  }
  return { broken, checked, pages: pages.length };
}
