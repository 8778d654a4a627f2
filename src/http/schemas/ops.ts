import { Type, type Static } from 'typebox';

export const Health = Type.Object({
  status: Type.Literal('ok'),
  engine: Type.Enum(['running', 'stopped'], { description: 'whether this node runs the delivery loop' }),
});

/** Prometheus text exposition. */
export const MetricsText = Type.String({ description: 'Prometheus text format' });

export type Health = Static<typeof Health>;
