/** Hour of day (0–23) of an epoch-millisecond instant, in some time zone. */
export type HourOfDay = (epochMs: number) => number;

// Every time zone offset in use is a multiple of 15 minutes, so the hour is constant within a
// 15-minute UTC slot: compute it once per slot instead of once per message.
const SLOT_MS = 15 * 60 * 1000;

function cachedPerSlot(compute: (epochMs: number) => number): HourOfDay {
  let slot = Number.NaN;
  let hour = 0;
  return (epochMs) => {
    const current = Math.floor(epochMs / SLOT_MS);
    if (current !== slot) {
      slot = current;
      hour = compute(current * SLOT_MS);
    }
    return hour;
  };
}

/** The host's local time (the original's behaviour). */
export function localHourOfDay(): HourOfDay {
  return cachedPerSlot((epochMs) => new Date(epochMs).getHours());
}

/** An IANA time zone, e.g. "Europe/Berlin" or "UTC". Throws at configuration time on an unknown zone. */
export function hourOfDayIn(timeZone: string): HourOfDay {
  const format = new Intl.DateTimeFormat('en-US', { timeZone, hour: 'numeric', hourCycle: 'h23' });
  return cachedPerSlot((epochMs) => {
    const part = format.formatToParts(epochMs).find((p) => p.type === 'hour');
    return Number(part?.value ?? 0) % 24;
  });
}
