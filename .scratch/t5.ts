import { evalCel } from '../engine/cel/environment';
for (const e of ['2.0 > 1', '2.0 == 2', 'dyn(2.0) == 2', '{"a": 2.5}.a > 1']) { try { console.log(e, evalCel(e, {})); } catch (err) { console.log(e, 'ERR', (err as Error).message); } }
