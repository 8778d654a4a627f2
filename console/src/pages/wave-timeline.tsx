import { useId } from 'react';
import { duration, shortTime, time } from '../format.ts';

export interface TimelineWave {
  index: number;
  phase: string;
  retry: boolean;
  start: string;
  end: string;
  estimateMs: number;
  instances: number;
  actualStart?: string | null;
  actualEnd?: string | null;
  state?: string;
}

const width = 900;
const rowH = 26;
const left = 210;
const right = 16;
const top = 24;

/**
 * Waves on a time axis, one axis per phase (the phases lie weeks apart, while a window
 * lasts minutes): the announced window (light), the estimate inside it (mid) and, once run,
 * the actual span (dark). Each bar is at least a few pixels wide.
 */
export function WaveTimeline({ waves }: { waves: TimelineWave[] }) {
  const id = useId();
  if (waves.length === 0) return null;
  const phases = [...new Set(waves.map((w) => w.phase))];
  return (
    <figure className="chart timeline" aria-labelledby={id}>
      <figcaption id={id}>Waves on the calendar (UTC): announced window, estimate and actual</figcaption>
      {phases.map((phase) => (
        <PhaseAxis key={phase} phase={phase} waves={waves.filter((w) => w.phase === phase)} />
      ))}
      <ul className="legend">
        <li>
          <span className="swatch window" aria-hidden="true" /> announced window
        </li>
        <li>
          <span className="swatch estimate" aria-hidden="true" /> estimate
        </li>
        <li>
          <span className="swatch actual" aria-hidden="true" /> actual
        </li>
      </ul>
    </figure>
  );
}

function PhaseAxis({ phase, waves }: { phase: string; waves: TimelineWave[] }) {
  const id = useId();
  const t0 = Math.min(...waves.map((w) => Date.parse(w.start)));
  const t1 = Math.max(...waves.map((w) => Math.max(Date.parse(w.end), w.actualEnd ? Date.parse(w.actualEnd) : 0)));
  const span = Math.max(1, t1 - t0);
  const x = (t: number) => left + ((width - left - right) * (t - t0)) / span;
  const bar = (a: number, b: number) => ({ x: x(a), width: Math.max(4, x(b) - x(a)) });
  const height = top + waves.length * rowH + 8;
  const ticks = Array.from({ length: 4 }, (_, i) => t0 + (span * i) / 3);
  return (
    <div className="phase">
      <h3 id={id}>{phase === 'production' ? 'Production phase' : 'Non-production phase'}</h3>
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-labelledby={id}>
        {ticks.map((t, i) => (
          <g key={t} aria-hidden="true" className="axes">
            <line x1={x(t)} x2={x(t)} y1={top - 6} y2={height - 4} className="grid" />
            <text x={x(t)} y={12} textAnchor={i === 0 ? 'start' : i === ticks.length - 1 ? 'end' : 'middle'}>
              {shortTime(new Date(t).toISOString())}
            </text>
          </g>
        ))}
        {waves.map((w, i) => {
          const y = top + i * rowH;
          const s = Date.parse(w.start);
          const e = Date.parse(w.end);
          const as = w.actualStart ? Date.parse(w.actualStart) : null;
          const ae = w.actualEnd ? Date.parse(w.actualEnd) : null;
          return (
            <g key={w.index}>
              <title>{`Wave ${w.index}: ${time(w.start)} – ${time(w.end)}, estimate ${duration(w.estimateMs)}${as !== null && ae !== null ? `, actual ${duration(ae - as)}` : ''}`}</title>
              <text x={4} y={y + 16} className="label">
                {`Wave ${w.index}${w.retry ? ' · retry' : ''} · ${w.instances} instance${w.instances === 1 ? '' : 's'}`}
              </text>
              <rect {...bar(s, e)} y={y + 4} height={rowH - 8} className={`window ${w.phase}`} />
              <rect {...bar(s, s + w.estimateMs)} y={y + 8} height={rowH - 16} className="estimate" />
              {as !== null && <rect {...bar(as, Math.max(ae ?? as, as))} y={y + 9} height={rowH - 18} className={`actual ${w.state ?? ''}`} />}
            </g>
          );
        })}
      </svg>
    </div>
  );
}
