// Readings of another process from /proc (Linux only).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Resident set size now (VmRSS) and its peak since start (VmHWM), in KiB. */
export function readMemoryKib(pid: number): { rssKib: number; peakRssKib: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return { rssKib: readStatusField(status, 'VmRSS'), peakRssKib: readStatusField(status, 'VmHWM') };
}

/** Number of open file descriptors, counted in /proc/PID/fd. */
export function countOpenFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

function readStatusField(status: string, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
  if (!match?.[1]) throw new Error(`field ${field} not found in /proc status`);
  return Number(match[1]);
}

let clockTicksPerSecond: number | undefined;

/** User plus system CPU time the process has used so far, in microseconds (/proc/PID/stat). */
export function readCpuTimeUs(pid: number): number {
  clockTicksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name in field 2 may contain spaces, so count fields after its closing bracket.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const userTicks = Number(fields[11]);
  const systemTicks = Number(fields[12]);
  return ((userTicks + systemTicks) / clockTicksPerSecond) * 1e6;
}
