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
