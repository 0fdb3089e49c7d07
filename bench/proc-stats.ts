/**
 * Process and machine cost from /proc (Linux): peak RSS (VmHWM), CPU ticks (utime + stime) of one
 * process, of every PostgreSQL / RabbitMQ process on the machine, and of the whole machine.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';

let ticksPerSecond = 100;
try {
  ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  // Linux default
}

/** CPU seconds (user + system) of a process so far, or null if it is gone. */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After "pid (comm) ", field 3 (state) is index 0; utime is field 14, stime field 15.
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
  } catch {
    return null;
  }
}

function statusKb(pid: number, key: 'VmHWM' | 'VmRSS'): number | null {
  try {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Peak resident set size in MB (the kernel's high-water mark), or null if the process is gone. */
export function peakRssMb(pid: number): number | null {
  const kb = statusKb(pid, 'VmHWM');
  return kb === null ? null : kb / 1024;
}

function commOf(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

/** CPU seconds per pid of every process whose command name is one of `names`. */
function cpuByName(names: readonly string[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (!names.includes(commOf(pid))) continue;
    const c = cpuSeconds(pid);
    if (c !== null) out.set(pid, c);
  }
  return out;
}

function machineTicks(): { busy: number; total: number } {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: total - idle, total };
}

interface Snapshot {
  at: number;
  procs: Map<string, number | null>;
  postgres: Map<number, number>;
  rabbitmq: Map<number, number>;
  machine: { busy: number; total: number };
}

/** CPU cores used over a phase, per named process and for PostgreSQL, RabbitMQ and the machine. */
export interface CpuUsage {
  wallSeconds: number;
  /** CPU seconds per named process (api, worker-1, bench, ...). */
  cpuSeconds: Record<string, number>;
  /** Average cores busy per named process and for postgres / rabbitmq / machine. */
  cores: Record<string, number>;
  machineBusyFraction: number;
}

export class CpuMeter {
  private start: Snapshot;

  constructor(private readonly pids: Record<string, number>) {
    this.start = this.snap();
  }

  private snap(): Snapshot {
    const procs = new Map<string, number | null>();
    for (const [name, pid] of Object.entries(this.pids)) procs.set(name, cpuSeconds(pid));
    return {
      at: performance.now(),
      procs,
      postgres: cpuByName(['postgres']),
      rabbitmq: cpuByName(['beam.smp']),
      machine: machineTicks(),
    };
  }

  stop(): CpuUsage {
    const end = this.snap();
    const wall = (end.at - this.start.at) / 1000;
    const cpu: Record<string, number> = {};
    for (const [name, v] of end.procs) {
      const s0 = this.start.procs.get(name);
      if (v !== null && s0 !== null && s0 !== undefined) cpu[name] = v - s0;
    }
    const delta = (a: Map<number, number>, b: Map<number, number>) => {
      let sum = 0;
      for (const [pid, v] of b) sum += v - (a.get(pid) ?? 0); // a process born mid-phase used all its CPU in it
      return sum;
    };
    cpu.postgres = delta(this.start.postgres, end.postgres);
    cpu.rabbitmq = delta(this.start.rabbitmq, end.rabbitmq);
    const cores: Record<string, number> = {};
    for (const [k, v] of Object.entries(cpu)) cores[k] = wall > 0 ? v / wall : 0;
    const dt = end.machine.total - this.start.machine.total;
    const machineBusyFraction = dt > 0 ? (end.machine.busy - this.start.machine.busy) / dt : 0;
    cores.machine = machineBusyFraction * os.availableParallelism();
    // Whatever the machine did besides the processes measured here (other work on the machine).
    const ours = Object.entries(cores).reduce((sum, [k, v]) => (k === 'machine' ? sum : sum + v), 0);
    cores.other = Math.max(0, cores.machine - ours);
    return { wallSeconds: wall, cpuSeconds: cpu, cores, machineBusyFraction };
  }
}

/**
 * Waits (up to `maxMs`) until the machine is quiet: under 0.3 cores busy over two consecutive
 * 250 ms windows. RabbitMQ compacts its quorum-queue log and PostgreSQL writes back and vacuums
 * after a burst; a run started into that work measures it too (RabbitMQ at 0.9 cores through the
 * first ingest run after the publish reference, seen here). Returns the seconds waited.
 */
export async function waitForQuiet(maxMs = 15_000): Promise<number> {
  const t0 = performance.now();
  let quiet = 0;
  let prev = machineTicks();
  while (performance.now() - t0 < maxMs && quiet < 2) {
    await new Promise((r) => setTimeout(r, 250));
    const now = machineTicks();
    const cores = now.total > prev.total ? ((now.busy - prev.busy) / (now.total - prev.total)) * os.availableParallelism() : 0;
    quiet = cores < 0.3 ? quiet + 1 : 0;
    prev = now;
  }
  return (performance.now() - t0) / 1000;
}
