import { answerAdmissionReview } from '../../webhook/admission';
import { readFileSync, readdirSync } from 'node:fs';
const dir = process.argv[2];
const policies = readdirSync(dir).map((f) => JSON.parse(readFileSync(dir + '/' + f, 'utf8')));
const body = readFileSync(process.argv[3], 'utf8');
const cluster = { resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] };
for (let round = 0; round < 3; round++) {
  const t0 = performance.now(); const n = 200;
  for (let i = 0; i < n; i++) answerAdmissionReview(JSON.parse(body), 'validate', policies, cluster);
  console.log('per review ms', ((performance.now() - t0) / n).toFixed(2));
}
const times: [string, number][] = [];
for (const p of policies) { const t0 = performance.now(); for (let i = 0; i < 100; i++) answerAdmissionReview(JSON.parse(body), 'validate', [p], cluster); times.push([p.metadata.name, (performance.now() - t0) / 100]); }
console.log(times.sort((a,b)=>b[1]-a[1]).slice(0,6));
