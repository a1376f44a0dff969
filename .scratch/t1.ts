import { Environment } from '@marcbachmann/cel-js';
class A { constructor(readonly Valid: boolean, readonly Claims: any) {} }
class NS {}
const env = new Environment({ unlistedVariablesAreDyn: true, enableOptionalTypes: true, homogeneousAggregateLiterals: false });
env.registerType('jwt.Token', A).registerType('NS', NS).registerVariable('jwt', 'NS')
  .registerFunction('NS.Decode(string): jwt.Token', (_n: NS, s: string) => new A(s === 'x', s === 'n' ? null : { role: 'admin' }));
const c = env.clone();
for (const e of ['jwt.Decode("x").Valid', 'jwt.Decode("x") == null', 'jwt.Decode("x").Claims.?role.orValue("")', 'true ? jwt.Decode("x") : null', 'type(jwt.Decode("x"))', 'variables.t == null || !variables.t.Valid']) {
  try { console.log(e, '=>', c.evaluate(e, { jwt: new NS(), variables: { t: new A(true, {}) } })); } catch (err) { console.log(e, 'ERR', (err as Error).message); }
}
