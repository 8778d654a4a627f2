import { Type, type TSchema } from 'typebox';

/** RFC 9457 problem details: the one shape of every error the HTTP API returns. */
export const Problem = Type.Object(
  {
    type: Type.String({ description: 'urn:mailshift:problem:<code>' }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String({ description: 'a stable error code from the README list' }),
  },
  { $id: 'Problem', description: 'problem+json' },
);

/** A timestamp as the API writes it: ISO 8601 in UTC. */
export const Timestamp = Type.String({ format: 'date-time' });

/** Response schemas for a route: the success bodies plus problem+json for every failure. */
export function responses<T extends Record<number, TSchema>>(success: T) {
  return { ...success, '4xx': Type.Ref('Problem'), '5xx': Type.Ref('Problem') };
}

/** The answer of a route that records a request and always refuses it, with the reason (problem+json). */
export const Refusal = Type.Ref('Problem', { description: 'always: the refusal, with its reason' });

/** `204 No Content`. */
export const NoContent = Type.Null({ description: 'no content' });

export const NameParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 200 }) });
