// Object ids look like Stripe's (`cus_` + 14–24 base62 characters). Seeded when reproducibility matters (demo
// data, generated accounts), random otherwise.
import { randomBytes } from 'node:crypto';
import { mulberry32 } from '../shared/random.ts';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

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
