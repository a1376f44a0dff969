import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { evaluateAuthzPolicy, envoyCheckRequestFromJson, httpCheckRequestFromJson } from '../engine/cel';
const C = '../shared/conformance/kyverno-cli/test-validating-policy/';
const cluster = { resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] } as any;
for (const [d, files, mode] of [['envoy-allow', ['request.json'], 'Envoy'], ['envoy-deny', ['request.json'], 'Envoy'], ['envoy-jwt', ['request-empty.json', 'request-forbidden.json', 'request-pass.json'], 'Envoy'], ['http-allow', ['request.json'], 'HTTP'], ['http-deny', ['request.json'], 'HTTP']] as const) {
  const pol = parse(readFileSync(C + d + '/policy.yaml', 'utf8'));
  for (const f of files) {
    const text = readFileSync(C + d + '/' + f, 'utf8');
    const payload = mode === 'Envoy' ? envoyCheckRequestFromJson(text) : httpCheckRequestFromJson(text);
    console.log(d, f, evaluateAuthzPolicy(pol, mode, payload, { cluster }));
  }
}
