import { Scenario } from './runner';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
async function main() {
  const dir = process.argv[2];
  const s = new Scenario(dir);
  const test = parse(readFileSync(dir + '/chainsaw-test.yaml', 'utf8'));
  try { await s.run(test); console.log('passed'); } catch (e) { console.log('ERR', (e as Error).message); }
  console.log(s.log.join('\n'));
  await s.close();
}
void main();
