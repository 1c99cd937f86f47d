// Static checks of the source tree: the platform never imports an app, apps reach the platform only through the
// app SDK, and SQL stays in repositories. Imports are read with TypeScript's own pre-processor, so `import type`,
// `export … from`, dynamic `import()` and `require()` all count.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

interface SourceFile {
  /** Relative to the repository, with forward slashes: `src/apps/stripe/sync.ts`. */
  path: string;
  text: string;
}

function listSources(dir: string): SourceFile[] {
  const out: SourceFile[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const full = join(d, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'node_modules') walk(full);
      } else if (/\.(ts|tsx|mts|cts|js|mjs)$/.test(e.name) && !e.name.endsWith('.d.ts')) {
        out.push({ path: relative(root, full).split(sep).join('/'), text: readFileSync(full, 'utf8') });
      }
    }
  };
  walk(join(root, dir));
  return out;
}

/** What a file imports: repository-relative paths for relative specifiers, the bare name for packages. */
function importsOf(file: SourceFile): { spec: string; target: string }[] {
  const info = ts.preProcessFile(file.text, true, true);
  return info.importedFiles.map(({ fileName: spec }) => {
    if (!spec.startsWith('.')) return { spec, target: spec };
    const target = join(dirname(file.path), spec).split(sep).join('/');
    return { spec, target };
  });
}

const isPackage = (target: string) =>
  !target.startsWith('src/') && !target.startsWith('test/') && !target.startsWith('.');
const appOf = (path: string) => /^src\/apps\/([^/]+)\//.exec(path)?.[1];

/** Every import that breaks the app boundary, as `file -> import: why`. */
function appBoundaryViolations(files: SourceFile[]): string[] {
  const out: string[] = [];
  for (const f of files) {
    for (const { spec, target } of importsOf(f)) {
      const say = (why: string) => out.push(`${f.path} -> ${spec}: ${why}`);
      const targetApp = appOf(target);
      const ownApp = appOf(f.path);
      if (target.replace(/\.(ts|js)$/, '') === 'src/apps/registry' && !f.path.startsWith('src/cli/')) {
        say('only the composition root (src/cli/) may import the app registry');
      }
      if (targetApp !== undefined && ownApp !== targetApp && !f.path.startsWith('src/apps/')) {
        say('nothing outside src/apps/ may import an app');
      }
      if (ownApp !== undefined) {
        const allowed =
          isPackage(target) || target.startsWith('src/app-sdk/') || target.startsWith(`src/apps/${ownApp}/`);
        if (!allowed) say(`an app may import only src/app-sdk/, its own folder and packages`);
      }
      // The SDK may use the shared kernel (typed errors), which is no part of the platform's domain modules.
      const sdkMayUse = target.startsWith('src/app-sdk/') || target.startsWith('src/shared/');
      if (f.path.startsWith('src/app-sdk/') && !isPackage(target) && !sdkMayUse) {
        say('the app SDK may not import the platform (apps would reach it through the SDK)');
      }
      if (
        target.startsWith('src/emulator/') &&
        !f.path.startsWith('src/emulator/') &&
        !f.path.startsWith('src/cli/')
      ) {
        say('only the CLI starts the Stripe emulator; the app must not know which Stripe it talks to');
      }
    }
  }
  return out;
}

/** SQL belongs in repositories (and the data layer): route files never run a query themselves. */
function sqlOutsideRepositories(files: SourceFile[]): string[] {
  const out: string[] = [];
  for (const f of files) {
    if (!/(^|\/)routes\.ts$/.test(f.path)) continue;
    f.text.split('\n').forEach((line, i) => {
      if (
        /\.(query|exec)\s*(<[^>]*>)?\s*\(/.test(line) ||
        /\b(SELECT|INSERT|UPDATE|DELETE)\s+[\w*]/.test(line)
      ) {
        if (!line.trim().startsWith('//') && !line.trim().startsWith('*'))
          out.push(`${f.path}:${i + 1}: ${line.trim()}`);
      }
    });
  }
  return out;
}

describe('architecture', () => {
  const files = listSources('src');

  it('reads the source tree', () => {
    expect(files.length).toBeGreaterThan(30);
    expect(files.some((f) => f.path === 'src/apps/registry.ts')).toBe(true);
    expect(files.some((f) => f.path === 'src/cli/start.ts')).toBe(true);
  });

  it('the platform never imports an app; apps import only the app SDK', () => {
    expect(appBoundaryViolations(files)).toEqual([]);
  });

  it('no routes.ts file runs SQL', () => {
    expect(sqlOutsideRepositories(files)).toEqual([]);
  });

  it('every app under src/apps/ is in the registry and nowhere else', () => {
    const apps = new Set(files.map((f) => appOf(f.path)).filter((a): a is string => a !== undefined));
    const registry = files.find((f) => f.path === 'src/apps/registry.ts')!;
    const registered = new Set(
      importsOf(registry)
        .map((i) => appOf(i.target))
        .filter(Boolean),
    );
    expect([...apps].filter((a) => !registered.has(a))).toEqual([]);
  });

  // The checks themselves: each rule catches what it is meant to catch, so a green run above means something.
  it('the checks flag every kind of violation they describe', () => {
    const fake: SourceFile[] = [
      { path: 'src/platform/contacts/service.ts', text: "import { x } from '../../apps/stripe/sync.ts';" },
      { path: 'src/server/app.ts', text: "import { appRegistry } from '../apps/registry.ts';" },
      { path: 'src/jobs/queue.ts', text: "const m = await import('../apps/stripe/index.ts');" },
      { path: 'src/platform/x/service.ts', text: "export { y } from '../../apps/stripe/card.ts';" },
      { path: 'src/apps/stripe/sync.ts', text: "import type { Db } from '../../db/client.ts';" },
      {
        path: 'src/apps/stripe/card.ts',
        text: "import { z } from 'zod';\nimport { defineApp } from '../../app-sdk/index.ts';",
      },
      { path: 'src/apps/stripe/other.ts', text: "import { a } from '../paypal/index.ts';" },
      { path: 'src/apps/stripe/emu.ts', text: "import { e } from '../../emulator/server.ts';" },
      { path: 'src/app-sdk/index.ts', text: "import type { Platform } from '../server/platform.ts';" },
      { path: 'src/cli/start.ts', text: "import { appRegistry } from '../apps/registry.ts';" },
      { path: 'src/apps/registry.ts', text: "import { stripeApp } from './stripe/index.ts';" },
    ];
    expect(appBoundaryViolations(fake)).toEqual([
      'src/platform/contacts/service.ts -> ../../apps/stripe/sync.ts: nothing outside src/apps/ may import an app',
      'src/server/app.ts -> ../apps/registry.ts: only the composition root (src/cli/) may import the app registry',
      'src/jobs/queue.ts -> ../apps/stripe/index.ts: nothing outside src/apps/ may import an app',
      'src/platform/x/service.ts -> ../../apps/stripe/card.ts: nothing outside src/apps/ may import an app',
      'src/apps/stripe/sync.ts -> ../../db/client.ts: an app may import only src/app-sdk/, its own folder and packages',
      'src/apps/stripe/other.ts -> ../paypal/index.ts: an app may import only src/app-sdk/, its own folder and packages',
      'src/apps/stripe/emu.ts -> ../../emulator/server.ts: an app may import only src/app-sdk/, its own folder and packages',
      'src/apps/stripe/emu.ts -> ../../emulator/server.ts: only the CLI starts the Stripe emulator; the app must not know which Stripe it talks to',
      'src/app-sdk/index.ts -> ../server/platform.ts: the app SDK may not import the platform (apps would reach it through the SDK)',
    ]);
    expect(
      sqlOutsideRepositories([
        { path: 'src/platform/a/routes.ts', text: "await platform.db.query('SELECT 1');" },
        { path: 'src/platform/b/routes.ts', text: 'const r = await tx.query<Row>(sql);' },
        { path: 'src/platform/c/repository.ts', text: "await db.query('SELECT 1');" },
      ]),
    ).toEqual([
      "src/platform/a/routes.ts:1: await platform.db.query('SELECT 1');",
      'src/platform/b/routes.ts:1: const r = await tx.query<Row>(sql);',
    ]);
  });
});
