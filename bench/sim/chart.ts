/** The README's chart: users refreshed over simulated time against the line the quota allows. */
import type { SimulationResult } from './simulation';

const WIDTH = 720;
const HEIGHT = 360;
const PAD = { left: 80, right: 20, top: 40, bottom: 50 };

export function cycleChartSvg(result: SimulationResult, requestsPerUser: number): string {
  const points = result.timeline;
  const tMax = Math.max(result.cycleSeconds, result.floorSeconds, 1) * 1.05;
  const yMax = result.users * 1.05;
  const x = (t: number) => PAD.left + (t / tMax) * (WIDTH - PAD.left - PAD.right);
  const y = (users: number) => HEIGHT - PAD.bottom - (users / yMax) * (HEIGHT - PAD.top - PAD.bottom);
  const hours = tMax / 3600;
  const inHours = hours >= 2;
  const tickStep = niceStep(inHours ? hours : tMax / 60);
  const ticks: string[] = [];
  for (let v = 0; v <= (inHours ? hours : tMax / 60); v += tickStep) {
    const tx = x(v * (inHours ? 3600 : 60));
    ticks.push(
      `<line x1="${tx}" y1="${HEIGHT - PAD.bottom}" x2="${tx}" y2="${HEIGHT - PAD.bottom + 5}" stroke="#555"/>` +
        `<text x="${tx}" y="${HEIGHT - PAD.bottom + 20}" text-anchor="middle">${round(v)}</text>`,
    );
  }
  const userStep = niceStep(result.users);
  for (let v = userStep; v <= result.users * 1.0001; v += userStep) {
    ticks.push(
      `<line x1="${PAD.left - 5}" y1="${y(v)}" x2="${WIDTH - PAD.right}" y2="${y(v)}" stroke="#eee"/>` +
        `<text x="${PAD.left - 8}" y="${y(v) + 4}" text-anchor="end">${v.toLocaleString('en-US')}</text>`,
    );
  }
  const refreshedPath = points
    .map((p, i) => `${i ? 'L' : 'M'}${x(p.t).toFixed(1)},${y(p.usersRefreshed).toFixed(1)}`)
    .join(' ');
  const quotaUsersPerSecond = result.googleQps / requestsPerUser;
  const quotaEnd = Math.min(tMax, result.users / quotaUsersPerSecond);
  const quotaPath = `M${x(0)},${y(0)} L${x(quotaEnd).toFixed(1)},${y(quotaEnd * quotaUsersPerSecond).toFixed(1)}`;
  const title = `${result.users.toLocaleString('en-US')} users at ${result.googleQps} Google requests/s: cycle ${formatDuration(result.cycleSeconds)}, quota floor ${formatDuration(result.floorSeconds)}`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="${WIDTH / 2}" y="22" text-anchor="middle" font-size="14">${title}</text>
${ticks.join('\n')}
<line x1="${PAD.left}" y1="${HEIGHT - PAD.bottom}" x2="${WIDTH - PAD.right}" y2="${HEIGHT - PAD.bottom}" stroke="#555"/>
<line x1="${PAD.left}" y1="${PAD.top}" x2="${PAD.left}" y2="${HEIGHT - PAD.bottom}" stroke="#555"/>
<text x="${(PAD.left + WIDTH - PAD.right) / 2}" y="${HEIGHT - 12}" text-anchor="middle">simulated time (${inHours ? 'hours' : 'minutes'})</text>
<path d="${quotaPath}" fill="none" stroke="#d62728" stroke-width="2" stroke-dasharray="6 4"/>
<path d="${refreshedPath}" fill="none" stroke="#1f77b4" stroke-width="2.5"/>
<rect x="${PAD.left + 15}" y="${PAD.top + 5}" width="270" height="44" fill="white" stroke="#ccc"/>
<line x1="${PAD.left + 25}" y1="${PAD.top + 20}" x2="${PAD.left + 55}" y2="${PAD.top + 20}" stroke="#1f77b4" stroke-width="2.5"/>
<text x="${PAD.left + 62}" y="${PAD.top + 24}">users refreshed (simulation)</text>
<line x1="${PAD.left + 25}" y1="${PAD.top + 38}" x2="${PAD.left + 55}" y2="${PAD.top + 38}" stroke="#d62728" stroke-width="2" stroke-dasharray="6 4"/>
<text x="${PAD.left + 62}" y="${PAD.top + 42}">the most the quota allows</text>
</svg>
`;
}

function niceStep(span: number): number {
  const raw = span / 6;
  const power = 10 ** Math.floor(Math.log10(raw || 1));
  const scaled = raw / power;
  return (scaled < 1.5 ? 1 : scaled < 3.5 ? 2 : scaled < 7.5 ? 5 : 10) * power;
}

const round = (v: number) => Math.round(v * 100) / 100;

export function formatDuration(seconds: number): string {
  if (seconds >= 3600) return `${(seconds / 3600).toFixed(2)} h`;
  if (seconds >= 60) return `${(seconds / 60).toFixed(1)} min`;
  return `${seconds.toFixed(1)} s`;
}
