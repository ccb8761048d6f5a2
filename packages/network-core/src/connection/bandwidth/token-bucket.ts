// A token bucket: `rate` tokens (bytes) per second, holding at most `burst` tokens. It starts
// full, so a connection may send `burst` bytes at once before the rate applies. Takes are
// partial (`take` grants what is there, never more): callers split data rather than wait for
// a whole chunk, which keeps the shaping smooth whatever the chunk sizes are.

export class TokenBucket {
  readonly rate: number
  readonly burst: number
  readonly #now: () => number
  #tokens: number
  #last: number

  /**
   * @param rate tokens per second (> 0)
   * @param burst capacity in tokens (default: one second of rate)
   * @param now clock in milliseconds (default `performance.now`), injectable for tests
   */
  constructor(rate: number, burst: number = rate, now: () => number = () => performance.now()) {
    if (!(Number.isFinite(rate) && rate > 0)) throw new RangeError(`token bucket rate must be a positive number, got ${rate}`)
    if (!(Number.isFinite(burst) && burst >= 1)) throw new RangeError(`token bucket burst must be at least 1, got ${burst}`)
    this.rate = rate
    this.burst = burst
    this.#now = now
    this.#tokens = burst
    this.#last = now()
  }

  /** Whole tokens available now. */
  get available(): number {
    this.#refill()
    return Math.floor(this.#tokens)
  }

  /** Takes up to `wanted` whole tokens and returns how many were granted (possibly 0). */
  take(wanted: number): number {
    this.#refill()
    const granted = Math.max(0, Math.min(Math.floor(wanted), Math.floor(this.#tokens)))
    this.#tokens -= granted
    return granted
  }

  /** Milliseconds until `wanted` tokens (capped at the burst) are available; 0 if they are. */
  msUntil(wanted: number): number {
    this.#refill()
    const missing = Math.min(wanted, this.burst) - this.#tokens
    return missing <= 0 ? 0 : Math.ceil((missing * 1000) / this.rate)
  }

  #refill(): void {
    const now = this.#now()
    const elapsed = now - this.#last
    if (elapsed > 0) {
      this.#tokens = Math.min(this.burst, this.#tokens + (elapsed * this.rate) / 1000)
      this.#last = now
    }
  }
}
