import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from './harness';

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'gen' ? [] : sources(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

describe('repository layering', () => {
  it('no lib imports an app', () => {
    const apps = fs.readdirSync(path.join(ROOT, 'apps'));
    const offenders: string[] = [];
    for (const lib of fs.readdirSync(path.join(ROOT, 'libs'))) {
      for (const dir of ['src', 'test']) {
        const base = path.join(ROOT, 'libs', lib, dir);
        if (!fs.existsSync(base)) continue;
        for (const file of sources(base)) {
          const text = fs.readFileSync(file, 'utf8');
          for (const app of apps)
            if (text.includes(`@tstrace/${app}`) || text.includes(`apps/${app}`))
              offenders.push(`${path.relative(ROOT, file)} imports ${app}`);
        }
      }
    }
    expect(apps).to.include('sessiond');
    expect(offenders).to.deep.equal([]);
  });
});

describe('repository packages', () => {
  const packages = ['libs', 'apps'].flatMap((kind) =>
    fs.readdirSync(path.join(ROOT, kind)).map((name) => path.join(kind, name)),
  );
  const read = (file: string) => JSON.parse(fs.readFileSync(path.join(ROOT, file), 'utf8'));

  it('builds every package: each lib and app is a reference of the root tsconfig.json', () => {
    const references = (read('tsconfig.json').references as { path: string }[]).map((r) => r.path);
    expect(packages.filter((p) => !references.includes(p))).to.deep.equal([]);
  });

  it('declares every @tstrace package a package uses in its package.json', () => {
    const undeclared: string[] = [];
    for (const dir of packages) {
      const pkg = read(path.join(dir, 'package.json'));
      const declared = new Set([pkg.name, ...Object.keys(pkg.dependencies ?? {})]);
      const src = path.join(ROOT, dir, 'src');
      if (!fs.existsSync(src)) continue;
      for (const file of sources(src))
        for (const m of fs.readFileSync(file, 'utf8').matchAll(/['"](@tstrace\/[a-z0-9-]+)/g))
          if (!declared.has(m[1])) undeclared.push(`${path.relative(ROOT, file)} uses ${m[1]}`);
    }
    expect([...new Set(undeclared)]).to.deep.equal([]);
  });
});
