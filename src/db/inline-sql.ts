import { escapeLiteral } from 'pg';

function numberLiteral(value: number): string {
  if (!Number.isFinite(value)) throw new RangeError(`cannot write ${value} into SQL`);
  return String(value);
}

function literal(value: unknown, position: number): string {
  if (typeof value === 'number') return numberLiteral(value);
  if (typeof value === 'string') return escapeLiteral(value);
  if (Array.isArray(value)) {
    if (value.length === 0) return `'{}'`;
    if (value.every((item) => typeof item === 'number')) return `'{${value.map(numberLiteral).join(',')}}'`;
    if (value.every((item) => typeof item === 'string'))
      return `ARRAY[${value.map((item: string) => escapeLiteral(item)).join(',')}]`;
  }
  throw new TypeError(`parameter $${position} (${typeof value}) cannot be written into SQL`);
}

/**
 * The statement with its $n parameters written in as escaped literals. Only for statements that
 * must share one simple-protocol message with others (a search and the SET LOCALs it needs):
 * the extended protocol that carries parameters takes one statement per message. Accepts finite
 * numbers, strings and arrays of either; the statement text itself must hold no `$n` inside
 * quoted strings.
 */
export function inlineParameters(sql: string, params: readonly unknown[]): string {
  return sql.replace(/\$(\d+)(?!\d)/g, (_, digits: string) => {
    const position = Number(digits);
    if (position < 1 || position > params.length)
      throw new RangeError(`$${position} has no parameter (${params.length} given)`);
    return literal(params[position - 1], position);
  });
}
