// The emulator's notion of "now", in unix seconds. Frozen for reproducible tests, or running with an offset so a
// test can jump past period ends without waiting.

export class Clock {
  private frozenAt: number | null = null;
  private offset = 0;
  private listeners: Array<(now: number) => void> = [];

  now(): number {
    return this.frozenAt ?? Math.floor(Date.now() / 1000) + this.offset;
  }

  isFrozen(): boolean {
    return this.frozenAt !== null;
  }

  freeze(at?: number): void {
    this.frozenAt = at ?? this.now();
  }

  unfreeze(): void {
    if (this.frozenAt !== null) this.offset = this.frozenAt - Math.floor(Date.now() / 1000);
    this.frozenAt = null;
  }

  set(at: number): void {
    if (this.frozenAt !== null) this.frozenAt = at;
    else this.offset = at - Math.floor(Date.now() / 1000);
    this.notify();
  }

  advance(seconds: number): void {
    if (this.frozenAt !== null) this.frozenAt += seconds;
    else this.offset += seconds;
    this.notify();
  }

  onChange(fn: (now: number) => void): void {
    this.listeners.push(fn);
  }

  private notify(): void {
    const now = this.now();
    for (const fn of this.listeners) fn(now);
  }
}
