// Object ids look like Stripe's (`cus_` + 14–24 base62 characters). Seeded when reproducibility matters (demo
// data, generated accounts), random otherwise.
import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type IdSource = (prefix: string, length?: number) => string;

export function randomIds(): IdSource {
  return (prefix, length = 24) => {
    const bytes = randomBytes(length);
    let s = '';
    for (let i = 0; i < length; i++) s += ALPHABET[(bytes[i] ?? 0) % 62];
    return `${prefix}_${s}`;
  };
}

export function seededIds(seed: number): IdSource {
  const rnd = mulberry32(seed);
  return (prefix, length = 24) => {
    let s = '';
    for (let i = 0; i < length; i++) s += ALPHABET[Math.floor(rnd() * 62)];
    return `${prefix}_${s}`;
  };
}
