import { useId } from 'react';
import { count, shortTime } from './format.ts';

export interface Series {
  name: string;
  color: string;
  values: number[];
}

const width = 640;
const height = 220;
const pad = { top: 12, right: 12, bottom: 28, left: 44 };

/** A top for the axis that quarters into whole numbers: 4 × (1, 2, 3, 4, 5, 6 or 8 × 10^k). */
function niceMax(n: number): number {
  const quarter = Math.max(1, n / 4);
  const magnitude = 10 ** Math.floor(Math.log10(quarter));
  for (const step of [1, 2, 3, 4, 5, 6, 8, 10]) if (step * magnitude >= quarter) return 4 * step * magnitude;
  return 40 * magnitude;
}

function Axes({ max, labels }: { max: number; labels: string[] }) {
  const plotH = height - pad.top - pad.bottom;
  const plotW = width - pad.left - pad.right;
  const every = Math.max(1, Math.ceil(labels.length / 5));
  return (
    <g className="axes" aria-hidden="true">
      {[0, 0.25, 0.5, 0.75, 1].map((f) => {
        const y = pad.top + plotH * (1 - f);
        return (
          <g key={f}>
            <line x1={pad.left} x2={width - pad.right} y1={y} y2={y} className="grid" />
            <text x={pad.left - 6} y={y + 4} textAnchor="end">
              {count(Math.round(max * f))}
            </text>
          </g>
        );
      })}
      {labels.map((l, i) =>
        i % every === 0 ? (
          <text key={l} x={pad.left + (plotW * (i + 0.5)) / labels.length} y={height - 8} textAnchor="middle">
            {shortTime(l)}
          </text>
        ) : null,
      )}
    </g>
  );
}

function Legend({ series }: { series: Series[] }) {
  return (
    <ul className="legend">
      {series.map((s) => (
        <li key={s.name}>
          <span className="swatch" style={{ background: s.color }} aria-hidden="true" />
          {s.name}: {count(s.values.reduce((a, b) => a + b, 0))}
        </li>
      ))}
    </ul>
  );
}

/** The same numbers as a table, for screen readers and for copying. */
function DataTable({ title, labels, series }: { title: string; labels: string[]; series: Series[] }) {
  return (
    <details className="chart-data">
      <summary>Data of “{title}”</summary>
      <table>
        <thead>
          <tr>
            <th scope="col">Bucket start (UTC)</th>
            {series.map((s) => (
              <th scope="col" key={s.name}>
                {s.name}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {labels.map((l, i) => (
            <tr key={l}>
              <td>{shortTime(l)}</td>
              {series.map((s) => (
                <td key={s.name}>{count(s.values[i])}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}

/** Lines over time; one point per bucket. */
export function LineChart({ title, labels, series }: { title: string; labels: string[]; series: Series[] }) {
  const id = useId();
  const max = niceMax(Math.max(0, ...series.flatMap((s) => s.values)));
  const plotH = height - pad.top - pad.bottom;
  const plotW = width - pad.left - pad.right;
  const x = (i: number) => pad.left + (plotW * (i + 0.5)) / labels.length;
  const y = (v: number) => pad.top + plotH * (1 - v / max);
  return (
    <figure className="chart">
      <figcaption id={id}>{title}</figcaption>
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-labelledby={id}>
        <Axes max={max} labels={labels} />
        {series.map((s) => (
          <polyline key={s.name} fill="none" stroke={s.color} strokeWidth="2" points={s.values.map((v, i) => `${x(i)},${y(v)}`).join(' ')} />
        ))}
      </svg>
      <Legend series={series} />
      <DataTable title={title} labels={labels} series={series} />
    </figure>
  );
}

/** Stacked columns over time; one column per bucket. */
export function StackedBars({ title, labels, series }: { title: string; labels: string[]; series: Series[] }) {
  const id = useId();
  const totals = labels.map((_, i) => series.reduce((a, s) => a + s.values[i], 0));
  const max = niceMax(Math.max(0, ...totals));
  const plotH = height - pad.top - pad.bottom;
  const plotW = width - pad.left - pad.right;
  const colW = plotW / labels.length;
  return (
    <figure className="chart">
      <figcaption id={id}>{title}</figcaption>
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-labelledby={id}>
        <Axes max={max} labels={labels} />
        {labels.map((label, i) => {
          let base = 0;
          return series.map((s) => {
            const h = (plotH * s.values[i]) / max;
            base += h;
            return h > 0 ? (
              <rect key={`${label}-${s.name}`} x={pad.left + i * colW + 1} width={Math.max(1, colW - 2)} y={pad.top + plotH - base} height={h} fill={s.color} />
            ) : null;
          });
        })}
      </svg>
      <Legend series={series} />
      <DataTable title={title} labels={labels} series={series} />
    </figure>
  );
}

/** One horizontal bar per row, scaled to the largest. */
export function Bars({ rows, label }: { rows: { name: string; value: number; color?: string }[]; label: string }) {
  const max = Math.max(1, ...rows.map((r) => r.value));
  return (
    <table className="bars" aria-label={label}>
      <tbody>
        {rows.map((r) => (
          <tr key={r.name}>
            <th scope="row">{r.name}</th>
            <td className="bar-cell">
              <span className="bar" style={{ width: `${(100 * r.value) / max}%`, background: r.color }} />
            </td>
            <td className="num">{count(r.value)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
