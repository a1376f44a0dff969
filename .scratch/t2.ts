import { Environment } from '@marcbachmann/cel-js';
class Ok { headers: any[] = [] }
class Denied { constructor(readonly status: any) {} }
class Resp { constructor(readonly ok_response: any, readonly denied_response: any) {} }
class NS {}
const env = new Environment({ unlistedVariablesAreDyn: true, enableOptionalTypes: true, homogeneousAggregateLiterals: false });
env.registerType('Ok', Ok).registerType('Denied', Denied).registerType('Resp', Resp).registerType('NS', NS).registerConstant('envoy', 'NS', new NS())
  .registerFunction('NS.Allowed(): dyn', () => new Ok())
  .registerFunction('NS.Denied(int): dyn', (_n: NS, c: bigint) => new Denied({ code: c }))
  .registerFunction('Ok.Response(): dyn', (o: Ok) => new Resp(o, null))
  .registerFunction('Denied.Response(): dyn', (d: Denied) => new Resp(null, d))
  .registerFunction('Denied.WithBody(string): Denied', (d: Denied, b: string) => Object.assign(new Denied(d.status), { body: b }));
const c = env.clone();
for (const e of ['envoy.Allowed().Response()', 'envoy.Denied(403).Response()', 'envoy.Denied(403).WithBody("x").Response()', 'false ? envoy.Denied(401).Response() : null', 'envoy.Denied(403).Response().denied_response.status.code', 'envoy.Allowed().Response() == null', 'envoy.Allowed().WithBody("x")', 'has(envoy.Allowed().Response().ok_response)', 'envoy.Allowed().Response().ok_response.headers']) {
  try { console.log(e, '=>', c.evaluate(e, {})); } catch (err) { console.log(e, 'ERR', (err as Error).message.split('\n')[0]); }
}
