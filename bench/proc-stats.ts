// Readings of another process from /proc (Linux only).
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
