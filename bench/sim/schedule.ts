/** EventBridge schedule expressions, as far as the simulation needs them: the period between firings. */
const RATE = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/;
const CRON = /^cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)$/;
const UNIT_MS = { minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;

/** Milliseconds between two firings. @throws RangeError for an expression it cannot read. */
export function schedulePeriodMs(expression: string): number {
  const rate = RATE.exec(expression);
  if (rate) return Number(rate[1]) * UNIT_MS[rate[2]!.replace(/s$/, '') as keyof typeof UNIT_MS];
  const cron = CRON.exec(expression);
  if (cron) {
    const [, minutes, hours, dayOfMonth, , dayOfWeek] = cron;
    const fixed = (field: string) => /^\d+$/.test(field);
    const everyDay = ['*', '?'].includes(dayOfMonth!) && ['*', '?'].includes(dayOfWeek!);
    if (fixed(minutes!) && fixed(hours!) && everyDay) return UNIT_MS.day;
    if (fixed(minutes!) && hours === '*' && everyDay) return UNIT_MS.hour;
    const step = /^(?:\*|0)\/(\d+)$/.exec(hours!);
    if (fixed(minutes!) && step && everyDay) return Number(step[1]) * UNIT_MS.hour;
  }
  throw new RangeError(`cannot simulate the schedule "${expression}" (use rate(...) or a daily/hourly cron)`);
}
