// What the webhook benches share about the servers they measure: starting one and reading the
// CPU it and its child processes have used.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Starts `cmd argv` and resolves with its port once it logs "serving N policies on https://…:PORT". */
export function startServer(cmd, argv) {
  const child = spawn(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((res, rej) => {
    let err = '';
    child.stderr.on('data', (c) => {
      err += c;
      const m = /serving \d+ policies on https:\/\/[^:]+:(\d+)/.exec(err);
      if (m) res({ child, port: Number(m[1]) });
    });
    child.on('exit', (code) => rej(new Error(`server exited ${code}: ${err}`)));
  });
}

/**
 * CPU seconds (user + system) a server and its child processes have used so far (Linux /proc).
 * On a shared machine throughput follows the other tenants; CPU per request does not, and its
 * ratio is the throughput ratio the servers would reach on an otherwise idle machine.
 */
export function treeCpuSeconds(pid) {
  let ticks = 0;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces): state is 3rd, ppid 4th, utime 14th, stime 15th.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (d === String(pid) || fields[1] === String(pid)) ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // the process ended meanwhile
    }
  }
  return ticks / 100;
}
