// npm run bench [-- NAME]: runs every benchmark, or the one named.
import * as consumer from './consumer';
import * as control from './control';
import * as ust from './ust';

const benchmarks: Record<string, { run(): Promise<void> }> = { control, consumer, ust };

async function main(): Promise<void> {
  const wanted = process.argv[2];
  if (wanted && !benchmarks[wanted]) {
    process.stderr.write(`unknown benchmark "${wanted}": one of ${Object.keys(benchmarks).join(', ')}\n`);
    process.exit(2);
  }
  for (const [name, bench] of Object.entries(benchmarks)) {
    if (!wanted || wanted === name) await bench.run();
  }
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
